"""Debian 12 layout, proven with the real programs in network namespaces.

The Debian 12 fixture root is applied by the real engine (packages skipped), with eno1's MAC as a
live probe would report it. Then a "host" namespace boots the way Debian does after the reboot
Xen needs: hotplug brings eno1 up (`iface eno1 inet manual`) and `ifup br0` reads the written
/etc/network/interfaces, a veth standing in for eno1 whose other end is the LAN. The bridge gets
eno1's MAC (bridge_hw), the LAN address (from a LAN DHCP server, or static) and the guests'
subnet from the second stanza; the real dnsmasq reads the written drop-in; a guest with a Xen
MAC plugged in through `vif1.0` gets a lease; the written vif-post.d hook, sourced the way
vif-bridge does, turns tx checksumming off on the vif.

Network rules of the harness (tests/kits/netns.py): own namespaces only, documentation and private
addresses only inside them, everything removed afterwards — also the dhclient that ifupdown's
dhcp method starts, which runs with /run, /var/lib/dhcp, /etc/resolv.conf and dhclient's hook
directories replaced by lab directories so it cannot touch the machine.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root
from tests.kits.netns import (
    DHCLIENT,
    DNSMASQ,
    ETHTOOL,
    IFUP,
    DhcpClient,
    Dnsmasq,
    Ifupdown,
    Lab,
    Netns,
    add_bridge,
    add_veth,
    guest,
    offload,
    operator_dnsmasq,
    skip_unless_netns,
    source_vif_hook,
)
from xenwizard.answers.build import build_config
from xenwizard.answers.checks import lease_seconds
from xenwizard.edits.vifhook import HOOK_PATH
from xenwizard.engine.executor import Engine
from xenwizard.engine.runner import CommandRunner
from xenwizard.planning.profiles import make_plan
from xenwizard.target.probe import InterfaceInfo, probe
from xenwizard.target.rootfs import RootFS

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NIC_MAC = "52:54:00:5b:00:01"  # "eno1", the veth standing in for the physical NIC
XEN_MAC = "00:16:3e:5b:00:02"
LAN_MAC = "52:54:00:5b:00:03"  # another machine on the LAN segment
LAN_SERVER = "198.51.100.1/24"
RESERVED = "198.51.100.7"  # the LAN's DHCP reservation for eno1's MAC
STATIC_LAN = "198.51.100.2/24"


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(DNSMASQ, DHCLIENT, IFUP, ETHTOOL)
    with Lab(request.node.name) as the_lab:
        yield the_lab


def applied_root(dest: Path, answers: dict[str, object], *, static: bool) -> Path:
    """The Debian 12 fixture after a real apply (packages skipped), eno1's MAC known."""
    root = copy_root(FIXTURES / "debian-12-root", dest)
    if static:
        interfaces = root / "etc/network/interfaces"
        interfaces.write_text(
            interfaces.read_text().replace(
                "iface eno1 inet dhcp\n",
                f"iface eno1 inet static\n\taddress {STATIC_LAN}\n\tgateway 198.51.100.1\n",
            )
        )
    fs = RootFS(root)
    facts = replace(
        probe(fs, live=False), interfaces=(InterfaceInfo("eno1", mac=NIC_MAC, is_physical=True),)
    )
    plan = make_plan(build_config(answers), facts, fs)
    result = Engine(plan, fs, CommandRunner(root), skip_packages=True).apply()
    assert result.outcome == "applied", result.message
    return root


class DebianHost:
    """The host namespace after the reboot, booted from a written root."""

    def __init__(self, lab: Lab, root: Path, bridge: str):
        self.lab, self.root, self.bridge = lab, root, bridge
        self.host = lab.namespace("host")
        self.lan = lab.namespace("lan")
        add_bridge(self.lan, "lanbr", address=LAN_SERVER)  # the LAN segment
        add_veth(self.host, "eno1", self.lan, "lan0")
        self.lan.ip("link", "set", "lan0", "master", "lanbr")
        self.host.ip("link", "set", "eno1", "address", NIC_MAC)
        # The written file, with its `source` lines pointed into the root instead of at this
        # machine's /etc/network/interfaces.d (the target's own files, as on the target).
        text = (root / "etc/network/interfaces").read_text()
        text = re.sub(r"^(\s*source(?:-directory)?\s+)/", rf"\g<1>{root}/", text, flags=re.M)
        interfaces = lab.path("ifupdown-interfaces")
        interfaces.write_text(text)
        self.ifupdown = Ifupdown(self.host, lab.workdir("ifupdown"), interfaces)
        sandbox = {
            "/run": lab.workdir("sandbox/run"),
            "/var/lib/dhcp": lab.workdir("sandbox/dhcp-leases"),
            "/etc/dhcp/dhclient-enter-hooks.d": lab.workdir("sandbox/enter-hooks"),
            "/etc/dhcp/dhclient-exit-hooks.d": lab.workdir("sandbox/exit-hooks"),
        }
        resolv = lab.path("sandbox", "resolv.conf")
        resolv.write_text("")
        for target, source in sandbox.items():
            if Path(target).is_dir():
                self.ifupdown.binds.append((source, target))
        self.ifupdown.binds.append((resolv, "/etc/resolv.conf"))

    def boot(self):
        """Hotplug raises eno1 (manual), then `ifup br0` as the auto stanza at boot."""
        self.ifupdown.ifup("eno1")
        return self.ifupdown.ifup(self.bridge)

    def addresses(self) -> set[tuple[str, int, str]]:
        return {(a["local"], a["prefixlen"], a["label"]) for a in self.host.addresses(self.bridge)}

    def ports(self) -> list[str]:
        return [link["ifname"] for link in self.host.links() if link.get("master") == self.bridge]


def lan_dhcp_server(lab: Lab, lan: Netns) -> Dnsmasq:
    """The LAN's own DHCP server (DNS off): a reservation for eno1's MAC, and only known hosts.

    The guests share the LAN segment through the bridge, so a LAN server with a dynamic range
    would answer them too (a race with the host's dnsmasq); a LAN that hands out addresses to
    anyone has to ignore Xen MACs for the guests to get theirs from the host. Here it serves
    reserved hosts only.
    """
    return Dnsmasq(
        lan,
        lab.workdir("lan-dnsmasq"),
        extra=[
            "--interface=lanbr",
            "--bind-interfaces",
            "--dhcp-range=198.51.100.0,static,1h",
            f"--dhcp-host={NIC_MAC},{RESERVED}",
        ],
    ).start()


def prove_guest_network(lab: Lab, booted: DebianHost, answers: dict[str, object]) -> None:
    config = build_config(answers)
    dnsmasq = operator_dnsmasq(booted.host, booted.root, lab.workdir("dnsmasq")).start()
    xen_guest = guest(lab, booted.host, config.bridge, XEN_MAC)
    hook = booted.root / HOOK_PATH
    assert offload(booted.host, "vif1.0")["tx-checksumming"] == "on"
    source_vif_hook(booted.host, hook, dev="vif1.0", bridge=config.bridge, command="offline")
    assert offload(booted.host, "vif1.0")["tx-checksumming"] == "on"
    source_vif_hook(booted.host, hook, dev="vif1.0", bridge=config.bridge, command="online")
    assert offload(booted.host, "vif1.0")["tx-checksumming"] == "off"

    lease = DhcpClient(xen_guest, "eth0", lab.workdir("dhcp-guest")).request()
    assert lease is not None, dnsmasq.log()
    first, last = (ipaddress.IPv4Address(a) for a in (config.dhcp_start, config.dhcp_end))
    assert first <= ipaddress.IPv4Address(lease.ip) <= last
    assert lease.interface.network == config.network
    assert lease.lease_time == lease_seconds(config.lease)
    assert lease.server == config.host_ip
    assert dnsmasq.lease_for(XEN_MAC) is not None

    # Another machine on the LAN behind eno1 asks too: the Xen-only default keeps it away.
    machine = guest(lab, booted.lan, "lanbr", LAN_MAC, vif="lanm0", role="lanmachine")
    other = DhcpClient(machine, "eth0", lab.workdir("dhcp-lan"), configure=False).request(4)
    assert other is None
    assert dnsmasq.lease_for(LAN_MAC) is None
    seen = [line for line in dnsmasq.log().splitlines() if LAN_MAC in line]
    assert seen and all("ignored" in line for line in seen)  # it did reach br0 through eno1


def test_dhcp_bridge_keeps_the_nics_reservation_and_serves_xen_guests(lab: Lab) -> None:
    answers = {"udp-checksum-workaround": True}
    root = applied_root(lab.path("root"), answers, static=False)
    interfaces = (root / "etc/network/interfaces").read_text()
    assert "iface br0 inet dhcp" in interfaces and f"bridge_hw {NIC_MAC}" in interfaces
    booted = DebianHost(lab, root, "br0")
    lan_server = lan_dhcp_server(lab, booted.lan)
    up = booted.boot()
    assert up.returncode == 0, up.stdout + up.stderr
    assert booted.ports() == ["eno1"]
    assert booted.host.link("br0")["address"] == NIC_MAC
    assert booted.addresses() == {(RESERVED, 24, "br0"), ("10.0.0.1", 24, "br0")}
    assert lan_server.lease_for(NIC_MAC).ip == RESERVED  # asked through the port, eno1's MAC
    prove_guest_network(lab, booted, answers)


def test_static_bridge_with_custom_answers(lab: Lab) -> None:
    answers = {
        "bridge": "xenbr7",
        "address": "192.168.77.1/25",
        "dhcp-range": "192.168.77.20-192.168.77.90",
        "lease": "45m",
        "udp-checksum-workaround": True,
    }
    root = applied_root(lab.path("root"), answers, static=True)
    booted = DebianHost(lab, root, "xenbr7")
    up = booted.boot()
    assert up.returncode == 0, up.stdout + up.stderr
    assert booted.ports() == ["eno1"]
    assert booted.addresses() == {("198.51.100.2", 24, "xenbr7"), ("192.168.77.1", 25, "xenbr7")}
    routes = booted.host.ip("route", "show", "default").stdout
    assert "via 198.51.100.1 dev xenbr7" in routes
    prove_guest_network(lab, booted, answers)
