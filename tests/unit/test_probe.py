"""SystemFacts from a root, and the warnings derived from them."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.helpers import PRECISE_ROOT, REFERENCE, copy_root
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.preflight import bridge_clash, subnet_overlaps, warnings
from xenwizard.target.probe import (
    InterfaceInfo,
    parse_ifupdown_addresses,
    parse_shell_vars,
    probe,
)
from xenwizard.target.rootfs import RootError, RootFS


def test_precise_fixture_facts() -> None:
    facts = probe(RootFS(PRECISE_ROOT), live=False)
    assert (facts.os_id, facts.version_id, facts.codename) == ("ubuntu", "12.04", "precise")
    assert facts.toolstack == ""
    assert "xen-hypervisor-4.1-amd64" in facts.installed_packages
    assert "dnsmasq" not in facts.installed_packages
    assert facts.xen_installed
    assert "karmic.d" in facts.hook_dirs["usr/lib/xen-tools"]
    assert facts.interfaces == () and facts.default_route is None


def test_lsb_release_alone_is_enough(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    (root / "etc/os-release").unlink()
    facts = probe(RootFS(root), live=False)
    assert (facts.os_id, facts.version_id, facts.codename) == ("ubuntu", "12.04", "precise")


def test_toolstack_values() -> None:
    assert parse_shell_vars("TOOLSTACK=\n")["TOOLSTACK"] == ""
    assert parse_shell_vars('TOOLSTACK="xl" # comment\n')["TOOLSTACK"] == "xl"
    assert "TOOLSTACK" not in parse_shell_vars("#TOOLSTACK=xl\nXENSTORED_ARGS=\n")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is not present")
def test_reference_default_xen_files() -> None:
    ubuntu = (REFERENCE / "older-packaging/default-xen.ubuntu-4.4").read_text()
    debian12 = (REFERENCE / "debian-12/default-xen").read_text()
    assert parse_shell_vars(ubuntu)["TOOLSTACK"] == "xl"
    assert "TOOLSTACK" not in parse_shell_vars(debian12)


def test_ifupdown_addresses_both_forms() -> None:
    text = (
        "auto eth0\niface eth0 inet static\n  address 192.168.1.5\n  netmask 255.255.255.0\n"
        "iface br0:0 inet static\n  address 10.0.0.1/24\n"
    )
    assert parse_ifupdown_addresses(text) == (
        ("eth0", ipaddress.IPv4Interface("192.168.1.5/24")),
        ("br0:0", ipaddress.IPv4Interface("10.0.0.1/24")),
    )


def test_bridge_clash_and_overlap_warnings() -> None:
    facts = probe(RootFS(PRECISE_ROOT), live=False)
    facts = replace(
        facts,
        interfaces=(
            InterfaceInfo("eth0", (ipaddress.IPv4Interface("10.0.0.7/16"),)),
            InterfaceInfo("br0", is_bridge=True),
            InterfaceInfo("wlan0"),
        ),
    )
    assert bridge_clash("br0", facts) is None
    assert "not a bridge" in (bridge_clash("wlan0", facts) or "")
    assert subnet_overlaps(WizardConfig(), facts) == [
        "subnet 10.0.0.0/24 overlaps 10.0.0.7/16 on eth0"
    ]
    assert (
        warnings(
            WizardConfig(address="172.16.0.1/24", dhcp_start="172.16.0.10", dhcp_end="172.16.0.20"),
            facts,
        )
        == []
    )


def test_own_alias_is_not_an_overlap() -> None:
    facts = replace(
        probe(RootFS(PRECISE_ROOT), live=False),
        configured_addresses=(("br0:0", ipaddress.IPv4Interface("10.0.0.1/24")),),
    )
    assert subnet_overlaps(WizardConfig(), facts) == []


def test_live_probe_reads_this_machine() -> None:
    facts = probe(RootFS("/"))
    assert facts.live
    assert any(i.name == "lo" for i in facts.interfaces)


def test_rootfs_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/link").symlink_to("/etc/passwd")
    fs = RootFS(root)
    with pytest.raises(RootError, match="outside the root"):
        fs.read_text("etc/link")
    with pytest.raises(RootError, match=r"'\.\.'"):
        fs.path("etc/../../x")
