"""Guests reach other networks (issue 12), proven with the real programs in namespaces.

The Debian 12 fixture is applied by the real engine (packages skipped) with each
`guest-access`; a "host" namespace boots from the written files (ifup br0 on the veth "eno1",
static LAN address 198.51.100.2), then loads what the boot would: the sysctl.d file with
`sysctl -p` (systemd-sysctl) and each enabled xenwizard unit's ruleset with the unit's own
`nft -f` line. The host's dnsmasq reads the written drop-in; a guest with a Xen MAC takes a
lease and, with the router the lease names, connects to a TCP responder in an "upstream"
namespace on the LAN, which answers with the address it sees:
- nat: the host's LAN address (masqueraded);
- routed: the guest's own address (the upstream has the route the plan names);
- host-only: the lease names no router, and even a hand-made route via the host leads
  nowhere (the host does not forward).
After `xenwizard rollback` the files are gone, and a host booted from them forwards nothing
and has no NAT table.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import run_cli
from tests.kits.netns import (
    DHCLIENT,
    DNSMASQ,
    IFUP,
    SBIN_PATH,
    DhcpClient,
    Lab,
    Netns,
    PreciseBoots,
    add_veth,
    guest,
    operator_dnsmasq,
    skip_unless_netns,
)
from tests.system.test_netns_bridge_debian import DebianHost, applied_root
from xenwizard.answers.build import build_config
from xenwizard.edits import guestnet, nftconfine

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"
SYSCTL = shutil.which("sysctl", path=SBIN_PATH) or "/usr/sbin/sysctl"
XEN_MAC = "00:16:3e:5c:00:02"
HOST_LAN = "198.51.100.2"
UPSTREAM = "198.51.100.50"
PORT = 8099
CONNECT_TIMEOUT = 3

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
import socket, sys
try:
    c = socket.create_connection(("{UPSTREAM}", {PORT}), timeout={CONNECT_TIMEOUT})
    print(c.recv(100).decode().strip())
except OSError as exc:
    print("unreachable:", exc)
"""


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(DNSMASQ, DHCLIENT, IFUP, NFT, SYSCTL)
    with Lab(request.node.name) as the_lab:
        yield the_lab


def exec_start(root: Path, unit_path: str) -> list[str]:
    """The unit's ExecStart command with its absolute paths mapped into the root."""
    line = next(
        line
        for line in (root / unit_path).read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    program, *args = line.removeprefix("ExecStart=").split()
    return [program, *(str(root / a.lstrip("/")) if a.startswith("/") else a for a in args)]


def boot_units(host: Netns, root: Path) -> None:
    """What the boot does with the written files: systemd-sysctl reads /etc/sysctl.d, and
    every enabled xenwizard unit (a link in sysinit.target.wants) runs its ExecStart."""
    sysctl_file = root / guestnet.SYSCTL_PATH
    if sysctl_file.exists():
        host.run([SYSCTL, "-p", str(sysctl_file)])
    for boot in (nftconfine.BOOT, guestnet.NAT_BOOT):
        if (root / boot.unit_link).is_symlink():
            host.run(exec_start(root, boot.unit_path))


def forwarding(host: Netns) -> str:
    return host.run([SYSCTL, "-n", "net.ipv4.ip_forward"]).stdout.strip()


def nat_table(host: Netns) -> subprocess.CompletedProcess:
    return host.run([NFT, "list", "table", "ip", guestnet.NAT_TABLE], check=False)


def upstream(lab: Lab, booted: DebianHost) -> Netns:
    """A server on the LAN side (on the LAN's bridge), answering with the peer it sees."""
    ns = lab.namespace("upstream")
    add_veth(ns, "eth0", booted.lan, "up0")
    booted.lan.ip("link", "set", "up0", "master", "lanbr")
    ns.ip("addr", "add", f"{UPSTREAM}/24", "dev", "eth0")
    ns.popen([sys.executable, "-c", _RESPONDER], "responder")
    assert connect(booted.lan, tries=20) == "198.51.100.1"  # up: the LAN's own machine gets in
    return ns


def connect(ns: Netns, tries: int = 1) -> str:
    """What the responder saw as our address, or "unreachable: ..."."""
    for attempt in range(tries):
        out = ns.run([sys.executable, "-c", _CLIENT], timeout=CONNECT_TIMEOUT + 10).stdout.strip()
        if not out.startswith("unreachable") or attempt == tries - 1:
            return out
        time.sleep(0.3)
    return out


def booted_host(lab: Lab, mode: str) -> tuple[DebianHost, Path]:
    root = applied_root(lab.path("root"), {"guest-access": mode}, static=True)
    booted = DebianHost(lab, root, "br0")
    up = booted.boot()
    assert up.returncode == 0, up.stdout + up.stderr
    return booted, root


def guest_with_lease(lab: Lab, booted: DebianHost, root: Path):
    dnsmasq = operator_dnsmasq(booted.host, root, lab.workdir("dnsmasq")).start()
    ns = guest(lab, booted.host, "br0", XEN_MAC)
    lease = DhcpClient(ns, "eth0", lab.workdir("dhcp-guest")).request()
    assert lease is not None, dnsmasq.log()
    assert lease.interface.network == build_config({}).network
    router = lease.env.get("new_routers", "")
    if router:
        ns.ip("route", "add", "default", "via", router)  # as dhclient-script does
    return ns, lease, router


def test_nat_guest_reaches_upstream_as_the_host_and_rollback_stops_it(lab: Lab) -> None:
    booted, root = booted_host(lab, "nat")
    upstream(lab, booted)
    boot_units(booted.host, root)
    assert forwarding(booted.host) == "1"
    assert "masquerade" in nat_table(booted.host).stdout
    ns, _lease, router = guest_with_lease(lab, booted, root)
    assert router == "10.0.0.1"
    assert connect(ns, tries=10) == HOST_LAN  # masqueraded behind the host's LAN address

    rolled = run_cli("rollback", "--root", str(root))
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    for path in (guestnet.SYSCTL_PATH, guestnet.NAT_RULES_PATH, guestnet.NAT_BOOT.unit_path):
        assert not (root / path).exists(), path
    assert not (root / guestnet.NAT_BOOT.unit_link).is_symlink()
    # the next boot, from the rolled-back files: a fresh host namespace
    after = lab.namespace("host2")
    boot_units(after, root)
    assert forwarding(after) == "0"
    assert nat_table(after).returncode != 0


def test_routed_guest_reaches_upstream_with_its_own_address(lab: Lab) -> None:
    booted, root = booted_host(lab, "routed")
    server = upstream(lab, booted)
    boot_units(booted.host, root)
    assert forwarding(booted.host) == "1"
    assert nat_table(booted.host).returncode != 0  # no NAT for routed
    ns, lease, router = guest_with_lease(lab, booted, root)
    assert router == "10.0.0.1"
    # without the route on the LAN side, the replies never come back
    assert connect(ns).startswith("unreachable")
    # the route the plan names: `route 10.0.0.0/24 via <host's LAN address>`
    server.ip("route", "add", "10.0.0.0/24", "via", HOST_LAN)
    assert connect(ns, tries=5) == lease.ip


def test_host_only_guest_gets_no_router_and_the_host_does_not_forward(lab: Lab) -> None:
    booted, root = booted_host(lab, "host-only")
    upstream(lab, booted)
    boot_units(booted.host, root)
    assert forwarding(booted.host) == "0"
    assert nat_table(booted.host).returncode != 0
    ns, lease, router = guest_with_lease(lab, booted, root)
    assert router == "" and "new_routers" not in lease.env
    assert connect(ns).startswith("unreachable")  # no route at all
    ns.ip("route", "add", "default", "via", "10.0.0.1")
    assert connect(ns).startswith("unreachable")  # the host drops what it may not forward


def test_precise_nat_is_the_rc_local_iptables_line(request: pytest.FixtureRequest) -> None:
    """ubuntu-precise (no nftables): the boot runs rc.local's iptables masquerade line and
    procps applies the sysctl.d file; the guest reaches a LAN server as the host."""
    iptables = programs.require("iptables")
    with PreciseBoots(request.node.name) as boots:
        xen = boots.boot({})  # nat: the default
        assert "iptables -t nat -C POSTROUTING" in (xen.root / "etc/rc.local").read_text()
        assert forwarding(xen.host) == "1"
        rules = xen.host.run([iptables, "-t", "nat", "-S", "POSTROUTING"]).stdout
        assert "-A POSTROUTING -s 10.0.0.0/24 ! -d 10.0.0.0/24 -j MASQUERADE" in rules
        xen.lan.ip("addr", "add", f"{UPSTREAM}/24", "dev", "lan0")
        xen.lan.popen([sys.executable, "-c", _RESPONDER], "responder")
        ns = xen.plug_guest(XEN_MAC)
        lease = DhcpClient(ns, "eth0", xen.lab.workdir("dhcp-guest")).request()
        assert lease is not None, xen.dnsmasq.log()
        assert lease.env.get("new_routers") == "10.0.0.1"
        ns.ip("route", "add", "default", "via", "10.0.0.1")
        assert connect(ns, tries=20) == HOST_LAN
