"""DHCP confined on the bridge: the written nftables ruleset, loaded with the real `nft -f` in a
host namespace, keeps DHCP between the host and its guests while the bridge holds the NIC.

The Debian 12 fixture root is applied by the real `xenwizard apply --skip-packages`, with
dhcp-xen-only OFF, so the host's dnsmasq would answer any MAC: what keeps the LAN away is the
firewall, not dnsmasq's MAC filter. The world:

    lan ns:   lanbr (198.51.100.1/24, the LAN's dnsmasq answering every MAC) -- lan0
                 \\-- lanm0 -- "lanmachine" ns (a LAN client)
    host ns:  br0 (10.0.0.1/24, the host's dnsmasq from the written drop-in)
                 |-- eno1 (the NIC: a veth whose other end is lan0)
                 \\-- vif1.0 -- guest ns (eth0, a 00:16:3e MAC)

With the ruleset: the guest's lease comes from the host and the LAN server never hears the
guest; the LAN client's lease comes from the LAN server and the host's dnsmasq never hears it;
the host's own DHCP client on br0 still gets its lease from the LAN. Without it, the same world
leaks both ways, so the test can fail. Everything happens inside the lab's namespaces.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES
from tests.kits.netns import (
    DHCLIENT,
    DNSMASQ,
    SBIN_PATH,
    DhcpClient,
    Dnsmasq,
    Lab,
    Netns,
    add_bridge,
    add_veth,
    applied_root,
    guest,
    operator_dnsmasq,
    skip_unless_netns,
)
from xenwizard.answers.build import build_config
from xenwizard.edits import nftconfine

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"
ANSWERS = {"dhcp-xen-only": False}
NIC = "eno1"  # the Debian 12 fixture's NIC, and the name of the veth standing in for it
XEN_MAC = "00:16:3e:5c:00:02"
LAN_MAC = "52:54:00:5c:00:03"  # a machine on the LAN
LAN_SERVER_IP = "198.51.100.1"
LEAK_WAIT = 5  # seconds the unconfined world has to show a leak in a log


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(DNSMASQ, DHCLIENT, NFT)
    with Lab(request.node.name) as the_lab:
        yield the_lab


class World:
    """The host, its guest, the LAN with its own DHCP server and a LAN client."""

    def __init__(self, lab: Lab, root: Path):
        self.lab, self.root = lab, root
        config = build_config(ANSWERS)
        self.config = config
        self.host = lab.namespace("host")
        self.lan = lab.namespace("lan")
        add_bridge(self.lan, "lanbr", address=f"{LAN_SERVER_IP}/24")
        add_bridge(self.host, config.bridge, address=config.address)
        add_veth(self.host, NIC, self.lan, "lan0", master=config.bridge)
        self.lan.ip("link", "set", "lan0", "master", "lanbr")
        self.lan_server = Dnsmasq(
            self.lan,
            lab.workdir("lan-dnsmasq"),
            extra=[
                "--interface=lanbr",
                "--bind-interfaces",
                "--dhcp-range=198.51.100.50,198.51.100.150,1h",  # anyone who asks
            ],
        ).start()
        self.dnsmasq = operator_dnsmasq(self.host, root, lab.workdir("dnsmasq")).start()
        self.guest = guest(lab, self.host, config.bridge, XEN_MAC)
        self.machine = guest(lab, self.lan, "lanbr", LAN_MAC, vif="lanm0", role="lanmachine")

    def confine(self) -> None:
        """The written ruleset, loaded as the unit's ExecStart does, in the host namespace."""
        self.host.run([NFT, "-f", str(self.root / nftconfine.RULES_PATH)])
        listed = self.host.run(
            [NFT, "list", "table", nftconfine.TABLE_FAMILY, nftconfine.TABLE_NAME]
        ).stdout
        assert listed.count(" drop ") == 11, listed  # DHCPv4 3, IPv6 8

    def dhcp(self, ns: Netns, iface: str = "eth0", timeout: int = 6):
        client = DhcpClient(ns, iface, self.lab.workdir(f"dhcp-{ns.role}-{iface}"), configure=False)
        return client.request(timeout=timeout)


def heard(server: Dnsmasq, mac: str) -> list[str]:
    """The server's log lines about DHCP requests from `mac`."""
    return [line for line in server.log().splitlines() if mac in line and "DHCP" in line]


def wait_heard(server: Dnsmasq, mac: str, timeout: float = LEAK_WAIT) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = heard(server, mac)
        if lines:
            return lines
        time.sleep(0.05)
    return heard(server, mac)


@pytest.fixture
def world(lab: Lab) -> World:
    flags = ["--no-dhcp-xen-only"]
    root = applied_root(FIXTURES / "debian-12-root", lab.path("root"), *flags)
    rules = (root / nftconfine.RULES_PATH).read_text()
    assert f'iifname "{NIC}"' in rules and f'oifname "{NIC}"' in rules
    assert "dhcp-ignore" not in (root / "etc/dnsmasq.d/xenwizard.conf").read_text()
    return World(lab, root)


def test_the_ruleset_keeps_dhcp_between_the_host_and_its_guests(world: World) -> None:
    world.confine()

    lease = world.dhcp(world.guest)
    assert lease is not None, world.dnsmasq.log()
    assert lease.server == world.config.host_ip  # the host's dnsmasq answered
    assert lease.interface.network == world.config.network
    assert world.dnsmasq.lease_for(XEN_MAC) is not None

    other = world.dhcp(world.machine)
    assert other is not None, world.lan_server.log()
    assert other.server == LAN_SERVER_IP  # the LAN's server, and only it, answered
    assert world.lan_server.lease_for(LAN_MAC) is not None
    assert any("DHCPDISCOVER" in line for line in heard(world.lan_server, LAN_MAC))

    # The host's own DHCP client on the bridge still gets its lease from the LAN.
    own = world.dhcp(world.host, world.config.bridge)
    assert own is not None, world.lan_server.log()
    assert own.server == LAN_SERVER_IP and own.ip.startswith("198.51.100.")

    # Checked last: every guest and LAN broadcast above has been through both bridges by now.
    assert heard(world.lan_server, XEN_MAC) == []  # no DHCPDISCOVER (nor anything else)
    assert heard(world.dnsmasq, LAN_MAC) == []
    assert world.dnsmasq.lease_for(LAN_MAC) is None


def test_without_the_ruleset_dhcp_leaks_both_ways(world: World) -> None:
    world.dhcp(world.guest)  # whichever server wins the race
    world.dhcp(world.machine)
    leaked_out = wait_heard(world.lan_server, XEN_MAC)
    leaked_in = wait_heard(world.dnsmasq, LAN_MAC)
    assert any("DHCPDISCOVER" in line for line in leaked_out), world.lan_server.log()
    assert any("DHCPDISCOVER" in line for line in leaked_in), world.dnsmasq.log()
