"""Bonds and VLANs as the bridge's port on a live host (issue 25): the kernel's own marks say
what an interface is, and the NIC check accepts a bond or a VLAN, refusing a bond's member,
another bridge's port, Wi-Fi and virtual interfaces with the reason."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root, plan_for
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.profiles import PROFILES
from xenwizard.target.probe import InterfaceInfo, SystemFacts, interface_kind, probe
from xenwizard.target.rootfs import RootFS

BONDED = """auto lo
iface lo inet loopback

auto eno1
iface eno1 inet manual
    bond-master bond0

auto eno2
iface eno2 inet manual
    bond-master bond0

auto bond0
iface bond0 inet static
    address 192.0.2.10/24
    gateway 192.0.2.1
    bond-slaves none
    bond-mode active-backup
    bond-miimon 100

auto bond0.10
iface bond0.10 inet static
    address 198.51.100.10/24

auto vlan20
iface vlan20 inet static
    address 203.0.113.10/24
    vlan-raw-device bond0

auto eno3
iface eno3 inet manual

auto br9
iface br9 inet manual
    bridge_ports eno3

auto wlan0
iface wlan0 inet dhcp
    wpa-ssid lan
"""


def sysfs(tmp_path: Path, name: str, *dirs: str, devtype: str = "", master: str = "") -> str:
    """A /sys/class/net/NAME as the kernel shows it (directories, uevent, master link)."""
    base = tmp_path / "sys" / name
    base.mkdir(parents=True)
    for d in dirs:
        (base / d).mkdir()
    (base / "uevent").write_text(f"DEVTYPE={devtype}\nINTERFACE={name}\n" if devtype else "")
    if master:
        (tmp_path / "sys" / master).mkdir(exist_ok=True)
        (base / "master").symlink_to(tmp_path / "sys" / master)
    return str(base)


@pytest.mark.parametrize(
    ("name", "dirs", "devtype", "master", "vlan", "expected"),
    [
        ("bond0", ("bonding",), "bond", "", False, ("bond", None)),
        ("eno1.10", (), "vlan", "", True, ("vlan", None)),
        ("vlan7", (), "", "", True, ("vlan", None)),  # /proc/net/vlan alone says it
        ("eno1", ("device", "bonding_slave"), "", "bond0", False, ("physical", ("bond", "bond0"))),
        ("eno3", ("device", "brport"), "", "br9", False, ("physical", ("bridge", "br9"))),
        ("wlp2s0", ("device", "wireless"), "wlan", "", False, ("wlan", None)),
        ("br0", ("bridge",), "bridge", "", False, ("bridge", None)),
        ("veth0", (), "", "", False, ("other", None)),
    ],
)
def test_the_kernels_marks_say_what_an_interface_is(
    tmp_path: Path,
    name: str,
    dirs: tuple[str, ...],
    devtype: str,
    master: str,
    vlan: bool,
    expected,
) -> None:
    base = sysfs(tmp_path, name, *dirs, devtype=devtype, master=master)
    proc = tmp_path / "proc-net-vlan" / name
    if vlan:
        proc.parent.mkdir()
        proc.write_text(f"{name}  VID: 10\n")
    assert interface_kind(base, str(proc)) == expected


def live_facts(root: Path) -> SystemFacts:
    def info(name: str, kind: str, port_of=None, physical=False, address=None) -> InterfaceInfo:
        addresses = (ipaddress.IPv4Interface(address),) if address else ()
        return InterfaceInfo(name, addresses, "52:54:00:aa:bb:01", False, physical, kind, port_of)

    interfaces = (
        info("eno1", "physical", ("bond", "bond0"), physical=True),
        info("eno2", "physical", ("bond", "bond0"), physical=True),
        info("bond0", "bond", address="192.0.2.10/24"),
        info("bond0.10", "vlan", address="198.51.100.10/24"),
        info("eno3", "physical", ("bridge", "br9"), physical=True),
        info("wlan0", "wlan", physical=True),
        info("vlan20", "vlan", address="203.0.113.10/24"),
        info("veth0", "other"),
    )
    return replace(probe(RootFS(root), live=False), live=True, interfaces=interfaces)


@pytest.fixture
def bonded_root(tmp_path: Path) -> Path:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    (root / "etc/network/interfaces").write_text(BONDED)
    return root


@pytest.mark.parametrize(
    ("nic", "problem"),
    [
        ("bond0", None),  # was "is not a physical interface"
        ("bond0.10", None),
        ("eno1", "is a member of the bond bond0; choose bond0, the bond itself"),
        ("eno3", "is a port of the bridge br9 already; choose another NIC"),
        ("wlan0", "is a wireless interface; a Wi-Fi NIC cannot be a bridge port"),
        ("veth0", "is not a physical NIC, a bond or a VLAN"),
    ],
)
def test_a_live_bond_or_vlan_is_accepted_and_the_rest_refused(
    bonded_root: Path, nic: str, problem: str | None
) -> None:
    profile = PROFILES["debian-12"]
    fs = RootFS(bonded_root)
    assert profile.nic_problem(nic, live_facts(bonded_root), fs) == problem


@pytest.mark.parametrize(
    ("nic", "problem"),
    [
        ("eno1", "is a member of the bond bond0 (choose bond0 itself) in etc/network/interfaces"),
        ("eno3", "is a port of the bridge br9 already in etc/network/interfaces"),
    ],
)
def test_from_the_files_alone_a_member_or_a_port_is_refused_with_the_reason(
    bonded_root: Path, nic: str, problem: str
) -> None:
    """ifenslave's two ways to name a member (`bond-master` on it, `bond-slaves` on the bond)
    and a port of another bridge: refused, saying what they are (was: not an interface)."""
    profile = PROFILES["debian-12"]
    fs = RootFS(bonded_root)
    found = profile.nic_problem(nic, probe(fs, live=False), fs)
    assert found is not None and found.startswith(problem), found
    text = BONDED.replace("    bond-slaves none", "    bond-slaves eno1 eno2").replace(
        "    bond-master bond0\n", ""
    )
    (bonded_root / "etc/network/interfaces").write_text(text)
    if nic == "eno1":
        found = profile.nic_problem(nic, probe(fs, live=False), fs)
        assert found is not None and found.startswith(problem), found


def test_the_package_step_gains_what_ifupdown_needs_for_the_port(bonded_root: Path) -> None:
    """ifenslave for a bond, vlan for a VLAN named vlanID with vlan-raw-device, nothing for
    a VLAN named RAW.ID (ifupdown 0.8 makes it itself: `ifup --no-act` prints its
    `ip link add link ... type vlan`)."""
    facts = replace(live_facts(bonded_root), installed_packages=frozenset())
    for nic, package in (("bond0", "ifenslave"), ("vlan20", "vlan"), ("bond0.10", None)):
        plan = plan_for(bonded_root, WizardConfig(nic=nic), facts)
        (step,) = [s for s in plan.steps if s.id == "packages"]
        wanted = {"ifenslave", "vlan"} & set(step.packages)
        assert wanted == ({package} if package else set()), step.packages
        if package:
            assert any(n.startswith(f"{package}: {nic} is a ") for n in step.notes), step.notes


NETPLAN_BOND = """network:
  version: 2
  ethernets:
    eno1: {}
    eno2: {}
  bonds:
    bond0:
      interfaces: [eno1, eno2]
      dhcp4: true
      parameters:
        mode: 802.3ad
"""


NETWORK_STEPS = ("bridge", "dhcp-confine", "dnsmasq")


@pytest.mark.parametrize("shape", ["ifupdown-bond", "ifupdown-vlan", "netplan-bond"])
def test_apply_plan_again_and_rollback_on_a_bond_or_vlan(tmp_path: Path, shape: str) -> None:
    """The real `xenwizard apply` on a bond or a VLAN (the real ifup --no-act or netplan
    generate checks it), a second plan changes nothing, and `rollback` puts every byte back."""
    from tests.kits.enginekit import diff_manifests, manifest
    from tests.kits.helpers import run_cli

    if shape.startswith("netplan"):
        root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
        for old in (root / "etc/netplan").iterdir():
            old.unlink()
        (root / "etc/netplan/50-cloud-init.yaml").write_text(NETPLAN_BOND)
        (root / "etc/netplan/50-cloud-init.yaml").chmod(0o600)
    else:
        root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
        (root / "etc/network/interfaces").write_text(BONDED)
    nic = {"ifupdown-bond": "bond0", "ifupdown-vlan": "vlan20", "netplan-bond": "bond0"}[shape]
    original = manifest(root)
    flags = ("--root", str(root), "--skip-packages", "--nic", nic)
    applied = run_cli("apply", *flags, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = run_cli("plan", "--json", *flags)
    assert again.returncode == 0, again.stderr
    steps = {s["id"]: s["changed"] for s in json.loads(again.stdout)["steps"]}
    network = {id_: changed for id_, changed in steps.items() if id_.startswith(NETWORK_STEPS)}
    assert {"bridge", "dhcp-confine"} <= set(network) and not any(network.values()), network
    rolled = run_cli("rollback", "--root", str(root))
    assert rolled.returncode == 0, rolled.stderr
    assert diff_manifests(original, manifest(root)) == []
