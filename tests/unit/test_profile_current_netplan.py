"""Ubuntu fixture roots: the netplan files a plan writes, rendered by the real `netplan generate`.

The plan's own file plus every other netplan file as the plan leaves it go into a scratch root;
`netplan generate --root-dir` must turn them into systemd-networkd files that hold the bridge,
its port, the NIC's MAC and both addresses (the NIC's and the guests' subnet).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, copy_root
from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.netcheck import netplan_generate
from xenwizard.planning.profiles import PlanError, make_plan
from xenwizard.target.probe import DefaultRoute, InterfaceInfo, probe
from xenwizard.target.rootfs import RootFS


@pytest.fixture(autouse=True)
def _netplan() -> None:
    """Every test here runs the real `netplan generate`."""
    programs.require("netplan")


def rendered(root: Path, tmp_path: Path, config: WizardConfig, **facts) -> dict[str, str]:
    fs = RootFS(root)
    plan = make_plan(config, replace(probe(fs, live=False), **facts), fs)
    texts = {
        f"etc/netplan/{p.name}": p.read_text() for p in sorted((root / "etc/netplan").iterdir())
    }
    for step in plan.file_steps():
        if step.path.startswith("etc/netplan/"):
            assert step.after is not None
            texts[step.path] = step.after
    done = netplan_generate(texts, tmp_path / "scratch")
    assert done.returncode == 0, done.stderr
    assert "too open" not in done.stderr  # every file 0600, as netplan wants
    assert "parameters:" not in texts["etc/netplan/90-xenwizard.yaml"]  # `netplan try` works
    out = tmp_path / "scratch/run/systemd/network"
    return {p.name: p.read_text() for p in out.iterdir()}


def test_ubuntu_22_04_static_installer_config(tmp_path: Path) -> None:
    mac = "52:54:00:4e:11:07"
    nic = InterfaceInfo(
        "eno1", (ipaddress.IPv4Interface("192.0.2.10/24"),), mac, is_physical=True
    )  # as a live probe reports it: the MAC the installer's file does not name
    files = rendered(FIXTURES / "ubuntu-22.04-root", tmp_path, WizardConfig(), interfaces=(nic,))
    netdev = files["10-netplan-br0.netdev"]
    assert "Name=br0" in netdev and "Kind=bridge" in netdev and f"MACAddress={mac}" in netdev
    bridge = files["10-netplan-br0.network"]
    assert "Address=192.0.2.10/24" in bridge and "Address=10.0.0.1/24" in bridge
    assert "Gateway=192.0.2.1" in bridge and "DNS=192.0.2.53" in bridge
    port = files["10-netplan-eno1.network"]
    assert "Name=eno1" in port and "Bridge=br0" in port
    assert "Address=" not in port and "DHCP" not in port


def test_ubuntu_24_04_cloud_init_dhcp(tmp_path: Path) -> None:
    config = build_config(
        {"bridge": "xenbr0", "address": "172.16.9.1/24", "dhcp-range": "172.16.9.50-172.16.9.99"}
    )
    files = rendered(FIXTURES / "ubuntu-24.04-root", tmp_path, config)
    netdev = files["10-netplan-xenbr0.netdev"]
    assert "Kind=bridge" in netdev and "MACAddress=52:54:00:8a:1c:02" in netdev
    bridge = files["10-netplan-xenbr0.network"]
    assert "DHCP=ipv4" in bridge and "Address=172.16.9.1/24" in bridge
    port = files["10-netplan-eno1.network"]
    assert "Bridge=xenbr0" in port and "PermanentMACAddress=52:54:00:8a:1c:02" in port
    assert "DHCP" not in port
    link = files["10-netplan-eno1.link"]
    assert "Name=eno1" in link  # cloud-init's set-name still applies to the port


WILDCARD_NETPLAN = """\
network:
  version: 2
  ethernets:
    all-en:
      match:
        name: "en*"
      dhcp4: true
"""


def wildcard_root(tmp_path: Path) -> Path:
    """Debian 13 whose netplan file picks the NIC by a `match: name:` glob, as cloud images
    write it (before: every plan was refused "no ethernet `eno1` in any netplan file")."""
    root = copy_root(FIXTURES / "debian-13-root", tmp_path / "root")
    (root / "etc/network/interfaces").unlink()
    (root / "etc/netplan").mkdir()
    (root / "etc/netplan/90-default.yaml").write_text(WILDCARD_NETPLAN)
    (root / "etc/netplan/90-default.yaml").chmod(0o600)
    return root


def nic(name: str, mac: str = "52:54:00:12:34:56") -> InterfaceInfo:
    return InterfaceInfo(name, (ipaddress.IPv4Interface("192.0.2.10/24"),), mac, is_physical=True)


def test_a_glob_matched_nic_is_bridged_on_the_live_system(tmp_path: Path) -> None:
    root = wildcard_root(tmp_path)
    live = {
        "live": True,
        "interfaces": (nic("eno1"),),
        "default_route": DefaultRoute(gateway="192.0.2.1", interface="eno1"),
    }
    files = rendered(root, tmp_path, WizardConfig(), **live)
    port = files["10-netplan-all-en.network"]
    assert "Name=en*" in port and "Bridge=br0" in port and "DHCP" not in port
    netdev = files["10-netplan-br0.netdev"]
    assert "Kind=bridge" in netdev and "MACAddress=52:54:00:12:34:56" in netdev
    assert "DHCP=ipv4" in files["10-netplan-br0.network"]
    fs = RootFS(root)
    plan = make_plan(WizardConfig(), replace(probe(fs, live=False), **live), fs)
    confine = next(s for s in plan.steps if s.id == "dhcp-confine")
    assert confine.after is not None and 'oifname "eno1"' in confine.after


def test_a_glob_matched_nic_named_with_nic_off_the_live_system(tmp_path: Path) -> None:
    root = wildcard_root(tmp_path)
    config = build_config({"nic": "eno1"})
    files = rendered(root, tmp_path, config)
    assert "Bridge=br0" in files["10-netplan-all-en.network"]
    fs = RootFS(root)
    confine = next(
        s for s in make_plan(config, probe(fs, live=False), fs).steps if s.id == "dhcp-confine"
    )
    assert confine.after is not None and 'iifname "eno1"' in confine.after


def test_a_glob_matched_nic_is_refused_when_nothing_names_its_interface(tmp_path: Path) -> None:
    root = wildcard_root(tmp_path)
    fs = RootFS(root)
    with pytest.raises(PlanError, match=r"pattern en\*.*--nic"):
        make_plan(WizardConfig(), probe(fs, live=False), fs)
    several = (nic("eno1"), nic("enp3s0", "52:54:00:12:34:57"))
    with pytest.raises(PlanError, match="eno1, enp3s0 here: every one of them would join"):
        make_plan(WizardConfig(), replace(probe(fs, live=False), live=True, interfaces=several), fs)
