"""ifupdown: the lines that move from the NIC to the bridge name the bridge, the link's own
settings stay on the port (issue 28).

The shape is Hetzner's installimage (network_config.functions.sh, gen_etc_network_interfaces_
entry; see tests/fixtures/netcorpus/SOURCES.md): a static IPv4 stanza whose `up route add ...
dev NIC` reaches the gateway, and an `inet6 static` stanza beside it with the link-local
gateway fe80::1. Before the fix the `up` line moved to br0 still said `dev enp0s31f6`: at boot
the route names a port without an address, the `up` command fails and ifup reports br0 failed.
"""

from __future__ import annotations

import pytest

from tests.kits import programs
from xenwizard.answers.model import WizardConfig
from xenwizard.edits.ifupdown import read
from xenwizard.edits.ifupdown_bridge import renamed, set_bridge, stays_on_port
from xenwizard.edits.text import Doc
from xenwizard.planning.netcheck import check_ifupdown
from xenwizard.target.rootfs import RootFS

NIC = "enp0s31f6"
HETZNER = f"""### Hetzner Online GmbH installimage

auto lo
iface lo inet loopback
iface lo inet6 loopback

auto {NIC}
iface {NIC} inet static
  address 203.0.113.75
  netmask 255.255.255.192
  gateway 203.0.113.65
  # route 203.0.113.64/26 via 203.0.113.65
  up route add -net 203.0.113.64 netmask 255.255.255.192 gw 203.0.113.65 dev {NIC}

iface {NIC} inet6 static
  address 2001:db8:1:2::2
  netmask 64
  gateway fe80::1
"""


def stanzas(text: str) -> list[tuple[str, str, list[str]]]:
    """(name, family, [method, option lines stripped]) of every stanza, in file order."""
    lines = Doc.parse(text).lines
    return [
        (s.name, s.family, [s.method] + [lines[i].body.strip() for i in s.options])
        for s in read(lines).stanzas
    ]


def one(
    found: list[tuple[str, str, list[str]]], name: str, family: str, has: str = ""
) -> list[str]:
    """The one stanza of `name` and `family` (holding the line `has`, when given)."""
    (match,) = [v for n, f, v in found if n == name and f == family and (not has or has in v)]
    return match


def test_a_route_moved_to_the_bridge_names_the_bridge() -> None:
    after = set_bridge(HETZNER, WizardConfig(), NIC).text
    assert f"dev {NIC}" not in after
    found = stanzas(after)
    bridge4 = one(found, "br0", "inet", "address 203.0.113.75")
    assert (
        "up route add -net 203.0.113.64 netmask 255.255.255.192 gw 203.0.113.65 dev br0" in bridge4
    )
    bridge6 = one(found, "br0", "inet6")
    assert bridge6[0] == "static"
    assert {"address 2001:db8:1:2::2", "netmask 64", "gateway fe80::1"} <= set(bridge6)
    assert one(found, NIC, "inet") == ["manual"]  # the port keeps one stanza, no addressing
    assert not [f for n, f, _ in found if n == NIC and f == "inet6"]  # IPv6 went to br0


def test_the_real_ifup_reads_the_route_on_the_bridge(tmp_path) -> None:
    """`ifup --no-act` prints the commands it would run: the route's goes with br0's."""
    ifup = programs.require("ifup")
    after = set_bridge(HETZNER, WizardConfig(), NIC).text
    assert check_ifupdown(after, RootFS(tmp_path), ("br0", NIC)).ok is True
    path = tmp_path / "interfaces"
    path.write_text(after)
    import subprocess

    done = subprocess.run(
        [ifup, "--no-act", "--state-dir", str(tmp_path), "-i", str(path), "br0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "gw 203.0.113.65 dev br0" in done.stdout + done.stderr
    assert f"dev {NIC}" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("option", "stays"),
    [
        ("mtu 9000", True),
        ("hwaddress ether 52:54:00:12:34:56", True),
        ("bond-master bond0", True),
        ("bond-mode active-backup", True),
        ("wpa-driver wired", True),
        ("vlan-raw-device eno1", True),
        (f"post-up ethtool -K {NIC} tso off", True),
        (f"pre-up /sbin/ip link set dev {NIC} mtu 9000", True),
        (f"up ip route add default via 203.0.113.65 dev {NIC}", False),
        ("address 203.0.113.75/26", False),
        ("dns-nameservers 192.0.2.53", False),
    ],
)
def test_what_stays_on_the_port(option: str, stays: bool) -> None:
    name, _, value = option.partition(" ")
    assert stays_on_port(name, value) is stays


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            "up ip route add 10.1.0.0/16 via 10.0.0.1 dev eno1",
            "up ip route add 10.1.0.0/16 via 10.0.0.1 dev br0",
        ),
        (
            "up ip addr add 192.0.2.9/24 dev eno1 label eno1:1",
            "up ip addr add 192.0.2.9/24 dev br0 label br0:1",
        ),
        ("up ip route add 10.2.0.0/16 dev eno1.10", "up ip route add 10.2.0.0/16 dev eno1.10"),
        ("up ip route add 10.3.0.0/16 dev eno10", "up ip route add 10.3.0.0/16 dev eno10"),
        (
            "up sysctl -w net.ipv6.conf.eno1.accept_ra=2",
            "up sysctl -w net.ipv6.conf.br0.accept_ra=2",
        ),
        ("up ip route add 10.4.0.0/16 dev $IFACE", "up ip route add 10.4.0.0/16 dev $IFACE"),
    ],
    ids=["dev", "label", "vlan-kept", "longer-name-kept", "sysctl", "IFACE"],
)
def test_the_nic_renamed_in_a_moved_line(option: str, expected: str) -> None:
    assert renamed(option, "eno1", "br0") == expected


BOND = """auto bond0s0
iface bond0s0 inet manual
    bond-master bond0

auto bond0
iface bond0 inet static
    address 192.168.0.2/24
    gateway 192.168.0.1
    bond-mode active-backup
    bond-slaves none
    mtu 9000
    post-up ip route add 10.1.3.0/24 via 192.168.0.3 || true
"""


def test_a_bond_stays_a_bond_when_bridged() -> None:
    """cloud-init's ENI renderer (tests/unittests/net/network_configs.py, bond_v1): before,
    every bond-* option went to br0 and bond0 stopped being a bond."""
    after = set_bridge(BOND, WizardConfig(), "bond0").text
    found = stanzas(after)
    assert one(found, "bond0", "inet") == [
        "manual",
        "bond-mode active-backup",
        "bond-slaves none",
        "mtu 9000",
    ]
    moved = one(found, "br0", "inet", "gateway 192.168.0.1")
    assert not [o for o in moved if o.startswith("bond")]
    assert "post-up ip route add 10.1.3.0/24 via 192.168.0.3 || true" in moved


ETHTOOL_HOOKS = ("/etc/network/if-pre-up.d/ethtool", "/etc/network/if-up.d/ethtool")


def test_every_option_of_the_ethtool_package_stays_on_the_port() -> None:
    """The options the real ethtool package's ifupdown hooks read (IF_ETHERNET_WOL ->
    `ethernet-wol`, the prefixes HARDWARE_DMA_RING_ -> `hardware-dma-ring-*`) are the link's:
    cloud-init writes `ethernet-wol g` on the NIC (network_configs.py, wakeonlan_enabled)."""
    import re
    from pathlib import Path

    programs.require("ethtool")
    texts = [Path(p).read_text() for p in ETHTOOL_HOOKS if Path(p).exists()]
    assert texts, f"the ethtool package's hooks are not here: {ETHTOOL_HOOKS}"
    names = set(re.findall(r"\bIF_([A-Z][A-Z0-9_]*[A-Z0-9])\b", "\n".join(texts)))
    prefixes = set(re.findall(r"\b([A-Z][A-Z_]*_)\b", "\n".join(texts))) - {"IF_"}
    options = {n.lower().replace("_", "-") for n in names}
    options |= {p.lower().replace("_", "-") + "rx" for p in prefixes if "_" in p[:-1]}
    assert "ethernet-wol" in options and len(options) > 5
    assert [o for o in options if not stays_on_port(o, "x")] == []
