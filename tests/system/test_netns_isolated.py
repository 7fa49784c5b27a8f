"""The isolated bridge (issue 25), proven with the real kernel, ifupdown, dnsmasq and nft in
namespaces: a "LAN switch" namespace captures every frame on the host's uplink while a canary
guest (a 00:16:3e MAC on a veth named like a vif, on the bridge) takes its lease from the
host's dnsmasq and talks to an "internet" namespace behind the LAN's router.

- The Debian 12 fixture, eno1 static, is applied by the real engine (packages skipped) with
  `isolated = true` (guest-access nat, the default).
- The host namespace boots from the written files: `ifup eno1` and `ifup br0` (the bridge from
  interfaces.d, `bridge_ports none`), the sysctl.d file and the NAT unit's `nft -f` line.
- The canary leases from the host, reaches the internet namespace as the host's LAN address
  (masqueraded); the uplink capture holds no frame with a Xen source MAC, and does hold the
  host NIC's (the capture sees the traffic); eno1 is no port of br0.
- /etc/network/interfaces is byte-identical before the apply, after it and after the boot;
  `xenwizard rollback` removes the isolated file.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root, run_cli
from tests.kits.netns import (
    DHCLIENT,
    DNSMASQ,
    IFUP,
    DhcpClient,
    Lab,
    Netns,
    add_veth,
    guest,
    operator_dnsmasq,
    skip_unless_netns,
)
from tests.system.test_netns_bridge_debian import NIC_MAC, STATIC_LAN, DebianHost, applied_root
from tests.system.test_netns_guest_access import NFT, SYSCTL, boot_units, forwarding, nat_table
from xenwizard.answers.build import build_config
from xenwizard.answers.model import XEN_MAC_PREFIX
from xenwizard.edits import ifupdown_isolated
from xenwizard.engine.executor import Engine
from xenwizard.engine.runner import CommandRunner
from xenwizard.planning.profiles import make_plan
from xenwizard.target.probe import InterfaceInfo, probe
from xenwizard.target.rootfs import RootFS

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CAPTURE = Path(__file__).parents[1] / "kits" / "framecapture.py"
XEN_MAC = "00:16:3e:5c:00:0a"
HOST_LAN = STATIC_LAN.split("/")[0]
INTERNET = "203.0.113.10"
PORT = 8098
INTERFACES = "etc/network/interfaces"

_RESPONDER = f"""
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {PORT}))
s.listen()
while True:
    c, peer = s.accept()
    c.sendall((peer[0] + "\\n").encode())
    c.close()
"""

_CLIENT = f"""
import socket
try:
    c = socket.create_connection(("{INTERNET}", {PORT}), timeout=3)
    print(c.recv(100).decode().strip())
except OSError as exc:
    print("unreachable:", exc)
"""


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(DNSMASQ, DHCLIENT, IFUP, NFT, SYSCTL)
    with Lab(request.node.name) as the_lab:
        yield the_lab


def isolated_root(dest: Path) -> tuple[Path, bytes]:
    """The Debian 12 fixture with eno1 static, applied with isolated = true; and the bytes of
    its interfaces file just before the apply."""
    root = copy_root(FIXTURES / "debian-12-root", dest)
    interfaces = root / INTERFACES
    interfaces.write_text(
        interfaces.read_text().replace(
            "iface eno1 inet dhcp\n",
            f"iface eno1 inet static\n\taddress {STATIC_LAN}\n\tgateway 198.51.100.1\n",
        )
    )
    before = interfaces.read_bytes()
    fs = RootFS(root)
    facts = replace(
        probe(fs, live=False), interfaces=(InterfaceInfo("eno1", mac=NIC_MAC, is_physical=True),)
    )
    plan = make_plan(build_config({"isolated": True}), facts, fs)
    assert "dhcp-confine" not in [s.id for s in plan.steps]
    result = Engine(plan, fs, CommandRunner(root), skip_packages=True).apply()
    assert result.outcome == "applied", result.message
    return root, before


def internet(lab: Lab, lan: Netns) -> Netns:
    """A server behind the LAN's router (the lan namespace routes; the host's gateway is it)."""
    ns = lab.namespace("internet")
    add_veth(lan, "inet0", ns, "eth0")
    lan.ip("addr", "add", "203.0.113.1/24", "dev", "inet0")
    lan.run([SYSCTL, "-w", "net.ipv4.ip_forward=1"])
    ns.ip("addr", "add", f"{INTERNET}/24", "dev", "eth0")
    ns.ip("route", "add", "default", "via", "203.0.113.1")
    ns.popen([sys.executable, "-c", _RESPONDER], "responder")
    return ns


def connect(ns: Netns, tries: int) -> str:
    out = ""
    for _ in range(tries):
        out = ns.run([sys.executable, "-c", _CLIENT], timeout=15).stdout.strip()
        if not out.startswith("unreachable"):
            return out
        time.sleep(0.3)
    return out


def poke(ns: Netns, address: str) -> None:
    """One TCP attempt from the namespace (ARP and a SYN; any answer or none will do)."""
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(({address!r}, {PORT}), timeout=1).close()\n"
        "except OSError:\n"
        "    pass\n"
    )
    ns.run([sys.executable, "-c", code], timeout=10)


def start_capture(lab: Lab, lan: Netns, iface: str) -> tuple[subprocess.Popen, Path]:
    out = lab.path("capture.json")
    proc = lan.popen([sys.executable, str(CAPTURE), iface, str(out)], "frame capture")
    ready = Path(f"{out}.ready")
    for _ in range(100):
        if ready.exists():
            return proc, out
        time.sleep(0.05)
    raise AssertionError("the frame capture did not start")


def stop_capture(proc: subprocess.Popen, out: Path) -> dict:
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)
    return json.loads(out.read_text())


def test_isolated_guest_leases_and_reaches_out_with_no_xen_mac_on_the_uplink(lab: Lab) -> None:
    root, before = isolated_root(lab.path("root"))
    assert (root / INTERFACES).read_bytes() == before
    booted = DebianHost(lab, root, "br0")
    proc, out = start_capture(lab, booted.lan, "lan0")  # the switch's port to the host's eno1
    up = booted.boot()
    assert up.returncode == 0, up.stdout + up.stderr
    assert booted.ports() == [] and booted.host.link("br0") is not None
    assert {a for a, _p, _l in booted.addresses()} == {"10.0.0.1"}
    boot_units(booted.host, root)
    assert forwarding(booted.host) == "1"
    assert "masquerade" in nat_table(booted.host).stdout
    internet(lab, booted.lan)

    dnsmasq = operator_dnsmasq(booted.host, root, lab.workdir("dnsmasq")).start()
    canary = guest(lab, booted.host, "br0", XEN_MAC)
    lease = DhcpClient(canary, "eth0", lab.workdir("dhcp-canary")).request()
    assert lease is not None, dnsmasq.log()
    assert lease.server == "10.0.0.1" and lease.env.get("new_routers") == "10.0.0.1"
    canary.ip("route", "add", "default", "via", "10.0.0.1")  # as dhclient-script does
    assert connect(canary, tries=20) == HOST_LAN  # out through the host's NAT
    poke(canary, "198.51.100.1")  # the LAN's router, through the NAT too
    assert booted.ports() == ["vif1.0"]  # the vif, and no NIC

    seen = stop_capture(proc, out)
    sources = seen["sources"]
    assert NIC_MAC in sources, seen  # the capture saw the host's frames (masqueraded ones too)
    leaked = sorted(mac for mac in sources if mac.startswith(XEN_MAC_PREFIX))
    assert leaked == [], f"Xen MACs on the uplink: {leaked} ({seen['frames']} frames)"
    assert (root / INTERFACES).read_bytes() == before  # the boot changed nothing either

    rolled = run_cli("rollback", "--root", str(root))
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert not (root / ifupdown_isolated.PATH).exists()
    assert (root / INTERFACES).read_bytes() == before


def test_the_bridged_shape_puts_the_xen_mac_on_the_uplink(lab: Lab) -> None:
    """The control: the same canary on the default (bridged) shape is seen on the uplink with
    its Xen MAC (its ARP and broadcasts cross the bridge to eno1), which the capture catches."""
    root = applied_root(lab.path("root"), {}, static=True)
    booted = DebianHost(lab, root, "br0")
    proc, out = start_capture(lab, booted.lan, "lan0")
    up = booted.boot()
    assert up.returncode == 0, up.stdout + up.stderr
    assert booted.ports() == ["eno1"]
    boot_units(booted.host, root)  # the DHCP confinement keeps DHCP, not ARP, off eno1
    dnsmasq = operator_dnsmasq(booted.host, root, lab.workdir("dnsmasq")).start()
    canary = guest(lab, booted.host, "br0", XEN_MAC)
    lease = DhcpClient(canary, "eth0", lab.workdir("dhcp-canary")).request()
    assert lease is not None, dnsmasq.log()
    canary.ip("route", "add", "default", "via", "10.0.0.1")
    poke(canary, "198.51.100.1")  # ARP for the router: a broadcast with the Xen MAC
    seen = stop_capture(proc, out)
    assert XEN_MAC in seen["sources"], seen


def test_netplan_generate_keeps_the_nic_as_it_was(tmp_path: Path) -> None:
    """Ubuntu 24.04: the real `netplan generate` of the applied root renders eno1's networkd
    files byte-identically to the fixture's, plus br0 with no port and the guests' subnet."""
    netplan = shutil.which("netplan") or pytest.skip("netplan is not installed")
    fixture = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "before")
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    done = run_cli("apply", "--yes", "--skip-packages", "--isolated", "--root", str(root))
    assert done.returncode == 0, done.stderr
    rendered = {}
    for name, tree in (("before", fixture), ("after", root)):
        subprocess.run([netplan, "generate", "--root-dir", str(tree)], check=True)
        net = tree / "run/systemd/network"
        rendered[name] = {p.name: p.read_bytes() for p in sorted(net.iterdir())}
    before, after = rendered["before"], rendered["after"]
    assert {k: v for k, v in after.items() if "br0" not in k} == before
    bridge = after["10-netplan-br0.network"].decode()
    assert "Address=10.0.0.1/24" in bridge and "ConfigureWithoutCarrier=yes" in bridge
    assert not any(b"Bridge=br0" in v for v in after.values())  # no port joins it
