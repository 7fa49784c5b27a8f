"""DHCP confined on the bridge on ubuntu-precise: the written ebtables script, run with the real
`ebtables` in the host namespace as rc.local runs it at boot, keeps DHCP between the host and its
guests while the bridge holds the NIC (xend's network-bridge renames it to peth0).

The Precise fixture root is applied by the real `xenwizard apply --skip-packages`, with
dhcp-xen-only OFF, so the host's dnsmasq would answer any MAC: what keeps the LAN away is the
bridge firewall, not dnsmasq's MAC filter. The world (`tests.kits.netns.boot_precise_host`, plus a
LAN with its own DHCP server and a client):

    lan ns:   lanbr (198.51.100.1/24, the LAN's dnsmasq answering every MAC) -- lan0
                 \\-- lanm0 -- "lanmachine" ns (a LAN client)
    host ns:  br0 (198.51.100.2/24; br0:0 10.0.0.1/24 from rc.local's ifup, the host's dnsmasq)
                 |-- peth0 (the NIC as network-bridge renames it: a veth whose other end is lan0)
                 \\-- vif1.0 -- guest ns (eth0, a 00:16:3e MAC)

With the rules the guest's lease comes from the host and the LAN server never hears it; the LAN
client's lease comes from the LAN server and the host's dnsmasq never hears it. With xenwizard's
chains flushed, the same world leaks both ways, so the test can fail.
"""

from __future__ import annotations

import pytest

from tests.kits.netns import EBTABLES, PreciseBoots, PreciseHost, add_bridge, guest
from tests.kits.netns import Dnsmasq as DnsmasqServer
from tests.system.test_netns_dhcp_confine import heard, wait_heard

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ANSWERS = {"dhcp-xen-only": False}
XEN_MAC = "00:16:3e:5c:01:02"
LAN_MAC = "52:54:00:5c:01:03"
LAN_SERVER_IP = "198.51.100.1"


class World:
    def __init__(self, booted: PreciseHost):
        self.booted = booted
        lan = booted.lan
        add_bridge(lan, "lanbr", address=f"{LAN_SERVER_IP}/24")
        lan.ip("link", "set", "lan0", "master", "lanbr")
        self.lan_server = DnsmasqServer(
            lan,
            booted.lab.workdir("lan-dnsmasq"),
            extra=[
                "--interface=lanbr",
                "--bind-interfaces",
                "--dhcp-range=198.51.100.50,198.51.100.150,1h",  # anyone who asks
            ],
        ).start()
        self.guest = booted.plug_guest(XEN_MAC)
        self.machine = guest(booted.lab, lan, "lanbr", LAN_MAC, vif="lanm0", role="lanmachine")


@pytest.fixture
def world(request: pytest.FixtureRequest):
    with PreciseBoots(request.node.name) as boots:
        yield World(boots.boot(ANSWERS))


def test_the_ebtables_rules_keep_dhcp_between_the_host_and_its_guests(world: World) -> None:
    host = world.booted
    listed = host.host.run([EBTABLES, "-L", "XENWIZARD-FORWARD"]).stdout
    assert listed.count("--ip-dport") == 2 and "peth0" in listed, listed  # and 6 IPv6 rules

    lease = host.dhcp(world.guest)
    assert lease is not None, host.dnsmasq.log()
    assert lease.ip.startswith("10.0.0.")  # the host's dnsmasq answered, in the guests' subnet
    assert host.dnsmasq.lease_for(XEN_MAC) is not None

    other = host.dhcp(world.machine)
    assert other is not None, world.lan_server.log()
    assert other.server == LAN_SERVER_IP  # the LAN's server, and only it, answered
    assert any("DHCPDISCOVER" in line for line in heard(world.lan_server, LAN_MAC))

    # Checked last: every guest and LAN broadcast above has been through both bridges by now.
    assert heard(world.lan_server, XEN_MAC) == []
    assert heard(host.dnsmasq, LAN_MAC) == []
    assert host.dnsmasq.lease_for(LAN_MAC) is None


def test_without_the_rules_dhcp_leaks_both_ways(world: World) -> None:
    host = world.booted
    for chain in ("XENWIZARD-FORWARD", "XENWIZARD-INPUT"):
        host.host.run([EBTABLES, "-F", chain])
    host.dhcp(world.guest)  # whichever server wins the race
    host.dhcp(world.machine)
    leaked_out = wait_heard(world.lan_server, XEN_MAC)
    leaked_in = wait_heard(host.dnsmasq, LAN_MAC)
    assert any("DHCPDISCOVER" in line for line in leaked_out), world.lan_server.log()
    assert any("DHCPDISCOVER" in line for line in leaked_in), host.dnsmasq.log()
