"""IPv6 kept off the guests: the written nftables ruleset, loaded with the real `nft -f` in a
host namespace, keeps the LAN's router advertisements and DHCPv6 from the guests while the
host itself still takes its address from them.

The Debian 12 fixture root is applied by the real `xenwizard apply --skip-packages`; the world
is the DHCP confinement test's, with IPv6 on the LAN:

    lan ns:   lanbr (198.51.100.1/24, 2001:db8:1::1/64; the LAN's dnsmasq: router
                     advertisements every few seconds with the A bit, and DHCPv6 addresses)
                 \\-- lan0
    host ns:  br0 (10.0.0.1/24; SLAAC and DHCPv6 from the LAN, as a host on a LAN does)
                 |-- eno1 (the NIC: a veth whose other end is lan0)
                 \\-- vif1.0 -- guest ns (eth0, a 00:16:3e MAC)

With the ruleset the host takes a LAN-prefix address by SLAAC and a DHCPv6 lease, and the guest,
left several advertisement intervals, has no LAN-prefix address, no IPv6 default route and no
DHCPv6 lease, and the LAN's server never hears it. Without the ruleset the same guest takes a
LAN-prefix address within the same time, so the test can fail.

With `--guest-ipv6 2001:db8:5::/64` the host is set up from the written files (the sysctl.d
file read first, as systemd-sysctl does before the network; the bridge's inet6 stanza's address;
dnsmasq from the written drop-in): the guest makes an address in that prefix from the host's
advertisements, with the host as its IPv6 router, and still none in the LAN's; the host keeps its
own LAN address although it forwards IPv6 now; and the LAN never hears the host's advertisements
(its bridge, which accepts advertisements, takes no address in the guests' prefix).

On ubuntu-precise the same holds with the written ebtables script, run as rc.local runs it on a
host booted as `tests.kits.netns.boot_precise_host` boots it (the NIC is the bridge's port
peth0), and `xenwizard verify` in that namespace reads the real `ebtables -L` and passes the
confinement.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES
from tests.kits.netns import (
    DHCLIENT,
    DNSMASQ,
    EBTABLES,
    SBIN_PATH,
    Dhcp6Client,
    Dnsmasq,
    Lab,
    Netns,
    PreciseBoots,
    add_bridge,
    add_veth,
    addresses6,
    applied_root,
    guest,
    operator_dnsmasq,
    skip_unless_netns,
    wait_link_local,
)
from tests.system.test_verify_confine_netns import confinement_line
from xenwizard.answers.build import build_config
from xenwizard.edits import ebconfine, guestipv6, nftconfine

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"
NIC = "eno1"  # the Debian 12 fixture's NIC, and the name of the veth standing in for it
XEN_MAC = "00:16:3e:5c:06:02"
LAN_PREFIX = ipaddress.IPv6Network("2001:db8:1::/64")  # RFC 3849's documentation prefix
LAN_SERVER_IP = "198.51.100.1"
RA_INTERVAL = 4  # seconds between the LAN's advertisements (dnsmasq's --ra-param)
WATCH = 4 * RA_INTERVAL + 2  # how long the guest is left on the bridge
GUEST_PREFIX = ipaddress.IPv6Network("2001:db8:5::/64")


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(DNSMASQ, DHCLIENT, NFT)
    with Lab(request.node.name) as the_lab:
        yield the_lab


class World:
    """The host, its guest, and the LAN with its own IPv6 router and DHCPv6 server on `lan_dev`
    (a bridge, or the LAN end of the NIC's veth) in the `lan` namespace."""

    def __init__(self, lab: Lab, host: Netns, lan: Netns, lan_dev: str, bridge: str):
        self.lab, self.host, self.lan, self.lan_dev, self.bridge = lab, host, lan, lan_dev, bridge
        self.lan.ip("addr", "add", f"{LAN_PREFIX[1]}/64", "dev", lan_dev, "nodad")
        wait_link_local(self.lan, lan_dev)
        self.guest = guest(lab, self.host, bridge, XEN_MAC)

    def start_lan_server(self) -> None:
        """The LAN's router and DHCPv6 server: dnsmasq with SLAAC (A bit) and DHCPv6 addresses."""
        self.lan_server = Dnsmasq(
            self.lan,
            self.lab.workdir("lan-dnsmasq"),
            extra=[
                f"--interface={self.lan_dev}",
                "--bind-interfaces",
                "--dhcp-range=198.51.100.50,198.51.100.150,1h",
                "--enable-ra",
                f"--ra-param={self.lan_dev},{RA_INTERVAL}",
                f"--dhcp-range={LAN_PREFIX[0x100]},{LAN_PREFIX[0x1FF]},slaac,64,1h",
            ],
        ).start()

    def lan_addresses(
        self, ns: Netns, dev: str, prefix: ipaddress.IPv6Network = LAN_PREFIX
    ) -> list[str]:
        return [
            f"{a['local']}/{a['prefixlen']}"
            for a in addresses6(ns, dev)
            if ipaddress.IPv6Address(a["local"]) in prefix
        ]

    def wait_lan_address(
        self, ns: Netns, dev: str, timeout: float, prefix: ipaddress.IPv6Network = LAN_PREFIX
    ) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.lan_addresses(ns, dev, prefix)
            if found:
                return found
            time.sleep(0.2)
        return self.lan_addresses(ns, dev, prefix)

    def default6(self, ns: Netns) -> str:
        return ns.ip("-6", "route", "show", "default").stdout.strip()

    def dhcp6(self, ns: Netns, dev: str) -> str | None:
        wait_link_local(ns, dev)
        client = Dhcp6Client(ns, dev, self.lab.workdir(f"dhcp6-{ns.role}-{dev}"))
        return client.request(timeout=6)

    def heard_guest(self) -> list[str]:
        """The LAN server's log lines about the guest (its MAC in solicitations and DUIDs)."""
        tail = XEN_MAC.lower()
        return [line for line in self.lan_server.log().splitlines() if tail in line.lower()]


@pytest.fixture
def debian(lab: Lab) -> tuple[World, Path]:
    """Debian 12 applied; the host namespace has the bridge over the NIC's veth, nothing loaded."""
    root = applied_root(FIXTURES / "debian-12-root", lab.path("root"))
    rules = (root / nftconfine.RULES_PATH).read_text()
    assert f'iifname "{NIC}" icmpv6 type' in rules and f'oifname "{NIC}" udp dport' in rules
    config = build_config({})
    host, lan = lab.namespace("host"), lab.namespace("lan")
    add_bridge(lan, "lanbr", address=f"{LAN_SERVER_IP}/24")
    add_bridge(host, config.bridge, address=config.address)
    add_veth(host, NIC, lan, "lan0", master=config.bridge)
    lan.ip("link", "set", "lan0", "master", "lanbr")
    return World(lab, host, lan, "lanbr", config.bridge), root


def watch_guest(world: World) -> None:
    """The host takes the LAN's prefix (SLAAC and DHCPv6); the guest, left several
    advertisement intervals, takes nothing of it, and the LAN never hears it."""
    world.start_lan_server()
    started = time.monotonic()

    # The host's own SLAAC on the bridge: the advertisements reach it through `input`.
    own = world.wait_lan_address(world.host, world.bridge, timeout=WATCH)
    assert own, world.lan_server.log()
    assert "via fe80::" in world.default6(world.host)
    lease = world.dhcp6(world.host, world.bridge)
    assert lease is not None and ipaddress.IPv6Interface(lease).ip in LAN_PREFIX, (
        world.lan_server.log()
    )

    # The guest, left on the bridge for several advertisement intervals.
    assert world.dhcp6(world.guest, "eth0") is None
    time.sleep(max(0.0, started + WATCH - time.monotonic()))
    assert world.lan_addresses(world.guest, "eth0") == []
    assert world.default6(world.guest) == ""
    assert world.heard_guest() == []  # neither its solicitations nor its DHCPv6 left the NIC
    log = world.lan_server.log()
    assert log.count(f"RTR-ADVERT({world.lan_dev})") >= 3, log  # the LAN kept advertising


def test_the_guest_gets_no_lan_prefix_and_the_host_still_does(debian) -> None:
    world, root = debian
    world.host.run([NFT, "-f", str(root / nftconfine.RULES_PATH)])  # as the unit's ExecStart
    watch_guest(world)


def test_without_the_ruleset_the_guest_takes_the_lan_prefix(debian) -> None:
    world, _ = debian
    world.start_lan_server()
    leaked = world.wait_lan_address(world.guest, "eth0", timeout=WATCH)
    assert leaked, world.lan_server.log()
    assert "via fe80::" in world.default6(world.guest)
    assert world.dhcp6(world.guest, "eth0") is not None
    assert world.heard_guest(), world.lan_server.log()


def test_with_a_guest_prefix_the_guest_gets_it_from_the_host(lab: Lab) -> None:
    root = applied_root(
        FIXTURES / "debian-12-root", lab.path("root"), f"--guest-ipv6={GUEST_PREFIX}"
    )
    interfaces = (root / "etc/network/interfaces").read_text()
    (stanza,) = re.findall(r"^iface br0 inet6 static\n((?:[ \t]+.*\n)+)", interfaces, re.M)
    host_address = re.search(r"address (\S+)", stanza).group(1)
    assert host_address == f"{GUEST_PREFIX[1]}/64" and "accept_ra 2" in stanza
    config = build_config({"guest-ipv6": str(GUEST_PREFIX)})
    host, lan = lab.namespace("host"), lab.namespace("lan")
    host.run(["sysctl", "-q", "-p", str(root / guestipv6.SYSCTL_PATH)])  # before the network
    add_bridge(lan, "lanbr", address=f"{LAN_SERVER_IP}/24")
    add_bridge(host, config.bridge, address=config.address)
    host.ip("addr", "add", host_address, "dev", config.bridge)
    add_veth(host, NIC, lan, "lan0", master=config.bridge)
    lan.ip("link", "set", "lan0", "master", "lanbr")
    world = World(lab, host, lan, "lanbr", config.bridge)
    host.run([NFT, "-f", str(root / nftconfine.RULES_PATH)])
    wait_link_local(host, config.bridge)
    dnsmasq = operator_dnsmasq(host, root, lab.workdir("dnsmasq")).start()
    world.start_lan_server()

    mine = world.wait_lan_address(world.guest, "eth0", timeout=WATCH, prefix=GUEST_PREFIX)
    assert mine, dnsmasq.log()
    assert "via fe80::" in world.default6(world.guest)  # the host is the guests' IPv6 router
    # The host forwards IPv6 and still takes its own LAN address and route (accept_ra 2).
    assert host.run(["sysctl", "-n", "net.ipv6.conf.br0.forwarding"]).stdout.strip() == "1"
    assert world.wait_lan_address(host, config.bridge, timeout=WATCH), world.lan_server.log()
    assert "via fe80::" in world.default6(host)
    time.sleep(RA_INTERVAL)  # a few more advertisements from both routers
    assert world.lan_addresses(world.guest, "eth0") == []
    assert world.lan_addresses(lan, "lanbr", prefix=GUEST_PREFIX) == []  # the LAN never heard it
    assert "RTR-ADVERT(br0)" in dnsmasq.log()


def test_precise_the_ebtables_script_keeps_the_lan_prefix_from_the_guest() -> None:
    with PreciseBoots("precise-ipv6") as boots:
        booted = boots.boot()  # rc.local's lines ran: the alias and the confinement script
        script = (booted.root / ebconfine.SCRIPT_PATH).read_text()
        assert "--ip6-icmp-type router-advertisement" in script
        listed = booted.host.run([EBTABLES, "-L", "XENWIZARD-OUTPUT"]).stdout
        assert "-o peth0 --ip6-proto ipv6-icmp --ip6-icmp-type router-advertisement" in listed
        assert confinement_line(booted.host, booted.root) == (
            "PASS dhcp-confinement: ebtables chains XENWIZARD-FORWARD, XENWIZARD-INPUT and "
            "XENWIZARD-OUTPUT drop udp dport 67 and 68 on peth0, and router "
            "solicitations/advertisements and DHCPv6 between the guests and the NIC on peth0"
        )
        world = World(booted.lab, booted.host, booted.lan, "lan0", booted.bridge)
        watch_guest(world)
