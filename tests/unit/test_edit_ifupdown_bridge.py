"""ifupdown: the NIC's addressing moves onto the bridge; the guests' subnet is a second stanza."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError
from xenwizard.edits.ifupdown_bridge import (
    block_bridge_hw,
    configured_interfaces,
    nic_hwaddress,
    set_bridge,
)
from xenwizard.planning.netcheck import check_ifupdown
from xenwizard.target.rootfs import RootFS

# Shaped like what Debian 12's installer writes (DHCP, with an IPv6 autoconf stanza).
INSTALLER = """# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eno1
iface eno1 inet dhcp
# This is an autoconfigured IPv6 interface
iface eno1 inet6 auto
"""

STATIC = """auto lo
iface lo inet loopback

auto enp1s0
iface enp1s0 inet static
\taddress 192.0.2.10/24
\tgateway 192.0.2.1
\t# dns-* options are implemented by the resolvconf package, if installed
\tdns-nameservers 192.0.2.53
\tmtu 9000

allow-hotplug enp2s0
iface enp2s0 inet manual
"""

MAC = "52:54:00:12:34:56"


@pytest.fixture
def empty_root(tmp_path: Path) -> RootFS:
    (tmp_path / "etc/network/interfaces.d").mkdir(parents=True)
    return RootFS(tmp_path)


def accepted(text: str, fs: RootFS, *names: str) -> None:
    checked = check_ifupdown(text, fs, names)
    assert checked.ok is not False, f"{checked.message}\n{text}"
    if checked.ok is None:
        pytest.skip(checked.message)


def test_installer_file_gets_bridge_and_guest_stanzas(empty_root: RootFS, ifquery) -> None:
    result = set_bridge(INSTALLER, WizardConfig(), "eno1", MAC)
    text = result.text
    assert "iface eno1 inet manual\n" in text
    assert "iface eno1 inet dhcp" not in text and "iface eno1 inet6" not in text
    assert "allow-hotplug eno1\n" in text  # kept: the port still comes up
    block = text[text.index("# BEGIN xenwizard") :]
    assert (
        "auto br0\niface br0 inet dhcp\n    bridge_ports eno1\n    bridge_hw 52:54:00:12:34:56\n"
        in block
    )
    assert "iface br0 inet6 auto\n    bridge_ports eno1\n" in block
    assert (
        "iface br0 inet static\n    bridge_ports eno1\n    address 10.0.0.1/24\n# END xenwizard"
        in block
    )
    assert "br0:0" not in text.replace("no br0:0 alias", "")
    assert text.startswith(INSTALLER[: INSTALLER.index("iface eno1 inet dhcp")])
    accepted(text, empty_root, "br0", "eno1")
    query = ifquery(text, "br0")
    assert "bridge_hw: 52:54:00:12:34:56" in query.stdout
    assert "address: 10.0.0.1\nbroadcast: 10.0.0.255\nnetmask: 255.255.255.0" in query.stdout


def test_static_options_move_with_their_comment_and_mtu_stays(empty_root: RootFS) -> None:
    result = set_bridge(STATIC, WizardConfig(), "enp1s0")
    text = result.text
    assert "iface enp1s0 inet manual\n\tmtu 9000\n" in text
    bridge = text[text.index("iface br0 inet static") : text.index("# Subnet of the Xen guests")]
    for option in (
        "address 192.0.2.10/24",
        "gateway 192.0.2.1",
        "dns-nameservers 192.0.2.53",
        "# dns-* options",
    ):
        assert f"\t{option}" in bridge
    assert "mtu" not in bridge and "bridge_hw" not in bridge  # MAC unknown: said in a note
    assert any("MAC is not known" in n for n in result.notes)
    assert "iface enp2s0 inet manual" in text  # the other NIC is untouched
    accepted(text, empty_root, "br0", "enp1s0")


def test_idempotent_and_converges_on_new_answers(empty_root: RootFS) -> None:
    once = set_bridge(INSTALLER, WizardConfig(), "eno1", MAC).text
    again = set_bridge(once, WizardConfig(), "eno1")  # MAC now comes from the block
    assert again.text == once
    assert again.notes[0].startswith("already set")
    config = build_config(
        {
            "bridge": "xenbr7",
            "address": "192.168.77.1/25",
            "dhcp-range": "192.168.77.20-192.168.77.90",
        }
    )
    moved = set_bridge(once, config, "eno1").text
    assert moved.count("# BEGIN xenwizard") == 1
    assert "br0" not in moved
    assert "iface xenbr7 inet dhcp" in moved and "address 192.168.77.1/25" in moved
    assert "bridge_hw 52:54:00:12:34:56" in moved
    back = set_bridge(moved, WizardConfig(), "eno1").text
    assert back == once
    accepted(moved, empty_root, "xenbr7", "eno1")


def test_choosing_another_nic_gives_the_first_its_addressing_back() -> None:
    once = set_bridge(STATIC, WizardConfig(), "enp1s0").text
    other = set_bridge(once, WizardConfig(), "enp2s0")
    assert "iface enp1s0 inet static\n\taddress 192.0.2.10/24" in other.text
    assert "bridge_ports enp2s0" in other.text and "bridge_ports enp1s0" not in other.text
    assert any("gets its addressing back" in n for n in other.notes)
    assert set_bridge(other.text, WizardConfig(), "enp1s0").text == once


def test_seed_alias_stanza_is_commented_out() -> None:
    text = INSTALLER + "\niface br0:0 inet static\n  address 10.0.0.1\n  netmask 255.255.255.0\n"
    result = set_bridge(text, WizardConfig(), "eno1")
    assert (
        "# iface br0:0 inet static\n#   address 10.0.0.1\n#   netmask 255.255.255.0\n"
        in result.text
    )
    assert any("br0:0" in n and "commented out" in n for n in result.notes)


def test_a_bridge_made_by_hand_is_kept_and_gets_the_guest_subnet(empty_root: RootFS) -> None:
    text = (
        "auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\n"
        "auto br0\niface br0 inet dhcp\n    bridge_ports eno1\n"
    )
    result = set_bridge(text, WizardConfig(), "eno1")
    assert result.text.startswith(text)
    assert "iface br0 inet static\n    bridge_ports eno1\n    address 10.0.0.1/24\n" in result.text
    assert "auto br0" not in result.text[len(text) :]
    assert any("already bridges" in n for n in result.notes)
    accepted(result.text, empty_root, "br0")


@pytest.mark.parametrize(
    ("text", "nic", "message"),
    [
        (
            "auto br0\niface br0 inet static\n  address 192.0.2.2/24\n",
            "eno1",
            "does not bridge eno1",
        ),
        (
            "iface eno1 inet manual\nauto xenbr0\niface xenbr0 inet dhcp\n  bridge_ports eno1\n",
            "eno1",
            "already a port of bridge xenbr0",
        ),
        ("auto lo\niface lo inet loopback\n", "eno1", "no `iface eno1` stanza"),
        ("iface eno1 inet ppp\n  provider isp\n", "eno1", "method ppp"),
        ("iface eno1 inet dhcp\n  pre-up foo \\\n   bar\n", "eno1", "continues on the next line"),
        ("iface eno1 inet\n", "eno1", "expected 'iface NAME FAMILY METHOD'"),
    ],
    ids=["br-not-bridge", "other-bridge", "no-stanza", "ppp", "continuation", "short-iface"],
)
def test_shapes_it_cannot_handle_are_named(text: str, nic: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        set_bridge(text, WizardConfig(), nic)


def test_crlf_and_missing_final_newline_survive() -> None:
    crlf = INSTALLER.replace("\n", "\r\n")
    result = set_bridge(crlf, WizardConfig(), "eno1").text
    assert result.count("\r\n") == result.count("\n")
    bare = INSTALLER.rstrip("\n")
    out = set_bridge(bare, WizardConfig(), "eno1").text
    assert not out.endswith("\n")
    assert set_bridge(out, WizardConfig(), "eno1").text == out


def test_reading_helpers() -> None:
    once = set_bridge(INSTALLER, WizardConfig(), "eno1", MAC).text
    assert configured_interfaces(INSTALLER) == [("eno1", "dhcp", False), ("eno1", "auto", False)]
    assert configured_interfaces(once) == [("eno1", "manual", True)]
    assert block_bridge_hw(once) == MAC
    assert block_bridge_hw(INSTALLER) is None
    assert nic_hwaddress("iface eno1 inet dhcp\n  hwaddress ether 02:AB:00:00:00:01\n", "eno1") == (
        "02:ab:00:00:00:01"
    )


names = st.from_regex(r"[a-z][a-z0-9]{0,9}", fullmatch=True).filter(
    lambda n: n not in ("eno1", "lo") and not n.startswith("eno1")
)
octet = st.integers(1, 254)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bridge=names, third=octet, host=st.integers(1, 200))
def test_any_valid_answers_give_an_accepted_converged_file(
    empty_root: RootFS, bridge: str, third: int, host: int
) -> None:
    config = build_config(
        {
            "bridge": bridge,
            "address": f"10.9.{third}.{host}/24",
            "dhcp-range": f"10.9.{third}.{host + 10}-10.9.{third}.{host + 50}",
        }
    )
    text = set_bridge(INSTALLER, config, "eno1", MAC).text
    assert set_bridge(text, config, "eno1").text == text
    accepted(text, empty_root, bridge, "eno1")
