"""Many hosts on one LAN (issue 12): each host's dnsmasq answers only its own guests, and its
guests hear only their own host.

Three copies of the Debian 12 fixture root, each applied by the real
`xenwizard apply --skip-packages --yes` from its own answers file (its own subnet; dhcp-xen-only
left at its default, on). Every host runs what its own apply wrote: the nftables ruleset loaded
with the real `nft -f`, and the real dnsmasq from the drop-in. The world:

    lan ns:   lanbr (198.51.100.1/24, the LAN's dnsmasq answering every MAC)
                 |-- lan0a -- eno1 in host "a" (br0 10.1.0.1/24) -- vif1.0, vif2.0 -- guests
                 |-- lan0b -- eno1 in host "b" (br0 10.2.0.1/24) -- vif1.0, vif2.0 -- guests
                 |-- lan0c -- eno1 in host "c" (br0 10.3.0.1/24) -- vif1.0, vif2.0 -- guests
                 \\-- lanm0 -- "lanmachine" ns (a LAN client, not a Xen MAC)

With the rulesets: every guest's lease comes from its own host, in its own range; no host's
dnsmasq hears another host's guest or the LAN client; the LAN server never hears a guest and
leases to the LAN client. dhcp-xen-only does not separate the hosts (every guest has a Xen
MAC, so every host's dnsmasq would answer it): the control shows that without the rulesets the
other hosts and the LAN server hear a guest, and another host offers it an address, so the test
can fail. Half a roll-out (one host without its ruleset) leaks that host's guests to the LAN,
but the confined hosts stay apart: each host's own ruleset is what protects it. Each host's own
DHCP client on br0 (`inet dhcp`) leases from the LAN server, unheard by the other hosts.

There is no key for a per-host subnet in one shared answers file (answers files are flat, one
host's answers): each host here has its own file. Everything happens inside the lab's
namespaces.
"""

from __future__ import annotations

import ipaddress
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES
from tests.kits.netns import (
    DHCLIENT,
    DNSMASQ,
    SBIN_PATH,
    DhcpClient,
    DhcpResult,
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
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import nftconfine

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"
NIC = "eno1"  # the Debian 12 fixture's NIC, and the name of each host's veth standing in for it
HOSTS = {  # host -> its answers file (one per host: there is no per-host key in a shared one)
    "a": {"address": "10.1.0.1/24", "dhcp-range": "10.1.0.10-10.1.0.100"},
    "b": {"address": "10.2.0.1/24", "dhcp-range": "10.2.0.10-10.2.0.100"},
    "c": {"address": "10.3.0.1/24", "dhcp-range": "10.3.0.10-10.3.0.100"},
}
GUESTS_PER_HOST = 2
LAN_MAC = "52:54:00:12:00:99"  # a machine on the LAN
LAN_SERVER_IP = "198.51.100.1"
LAN_RANGE = ("198.51.100.50", "198.51.100.150")
LEAK_WAIT = 5  # seconds the unconfined world has to show a leak in a log
DHCP_TIMEOUT = 15  # a host's dnsmasq pings each new address (~3 s) before it offers it


def xen_mac(host_index: int, guest_index: int) -> str:
    return f"00:16:3e:12:{host_index:02x}:{guest_index:02x}"


def answers_toml(answers: dict[str, str]) -> str:
    return "".join(f'{key} = "{value}"\n' for key, value in answers.items())


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each host's root after its own real apply (files only: done once for the module)."""
    skip_unless_netns(DNSMASQ, DHCLIENT, NFT)
    base = tmp_path_factory.mktemp("many-hosts")
    out = {}
    for name, answers in HOSTS.items():
        answers_file = base / f"answers-{name}.toml"
        answers_file.write_text(answers_toml(answers))
        root = applied_root(
            FIXTURES / "debian-12-root", base / f"root-{name}", "--answers", str(answers_file)
        )
        dropin = (root / "etc/dnsmasq.d/xenwizard.conf").read_text()
        start, end = answers["dhcp-range"].split("-")
        assert f"dhcp-range={start},{end}," in dropin, dropin
        assert "dhcp-ignore=tag:!xen" in dropin  # dhcp-xen-only: the default, on
        rules = (root / nftconfine.RULES_PATH).read_text()
        assert f'iifname "{NIC}"' in rules and f'oifname "{NIC}"' in rules
        out[name] = root
    return out


@dataclass
class Host:
    name: str
    root: Path
    config: WizardConfig
    ns: Netns
    dnsmasq: Dnsmasq
    guests: dict[str, Netns] = field(default_factory=dict)  # MAC -> guest namespace

    def confine(self) -> None:
        """The written ruleset, loaded as the unit's ExecStart does, in this host's namespace."""
        self.ns.run([NFT, "-f", str(self.root / nftconfine.RULES_PATH)])
        listed = self.ns.run(
            [NFT, "list", "table", nftconfine.TABLE_FAMILY, nftconfine.TABLE_NAME]
        ).stdout
        assert listed.count(" drop ") == 11, listed  # DHCPv4 3, IPv6 8

    def in_range(self, ip: str) -> bool:
        addr = ipaddress.IPv4Address(ip)
        start, end = (
            ipaddress.IPv4Address(a) for a in (self.config.dhcp_start, self.config.dhcp_end)
        )
        return addr in self.config.network and start <= addr <= end


class World:
    """Three hosts on one LAN bridge, their guests, the LAN's DHCP server and a LAN client."""

    def __init__(self, lab: Lab, roots: dict[str, Path]):
        self.lab = lab
        self.lan = lab.namespace("lan")
        add_bridge(self.lan, "lanbr", address=f"{LAN_SERVER_IP}/24")
        self.lan_server = Dnsmasq(
            self.lan,
            lab.workdir("lan-dnsmasq"),
            extra=[
                "--interface=lanbr",
                "--bind-interfaces",
                f"--dhcp-range={LAN_RANGE[0]},{LAN_RANGE[1]},1h",  # anyone who asks
                # dnsmasq pings an address before offering it, one address at a time (about
                # 3 s each): the LAN client and the three hosts asking at once would outlast
                # a client's timeout. The hosts' dnsmasq runs as written (it pings).
                "--no-ping",
            ],
        ).start()
        self.hosts: dict[str, Host] = {}
        for index, (name, root) in enumerate(roots.items(), start=1):
            config = build_config(HOSTS[name])
            ns = lab.namespace(f"host{name}")
            add_bridge(ns, config.bridge, address=config.address)
            add_veth(ns, NIC, self.lan, f"lan0{name}", master=config.bridge)
            self.lan.ip("link", "set", f"lan0{name}", "master", "lanbr")
            dnsmasq = operator_dnsmasq(ns, root, lab.workdir(f"dnsmasq-{name}")).start()
            host = Host(name, root, config, ns, dnsmasq)
            for g in range(1, GUESTS_PER_HOST + 1):
                mac = xen_mac(index, g)
                host.guests[mac] = guest(
                    lab, ns, config.bridge, mac, vif=f"vif{g}.0", role=f"{name}guest{g}"
                )
            self.hosts[name] = host
        self.machine = guest(lab, self.lan, "lanbr", LAN_MAC, vif="lanm0", role="lanmachine")

    def servers(self) -> dict[str, Dnsmasq]:
        return {"lan": self.lan_server, **{n: h.dnsmasq for n, h in self.hosts.items()}}

    def dhcp(
        self, ns: Netns, iface: str = "eth0", timeout: int = DHCP_TIMEOUT
    ) -> DhcpResult | None:
        workdir = self.lab.workdir(f"dhcp-{ns.role}-{iface}")
        return DhcpClient(ns, iface, workdir, configure=False).request(timeout=timeout)

    def dhcp_all(self, clients: list[tuple[Netns, str]]) -> dict[str, DhcpResult | None]:
        """Every client asks at once (the broadcasts overlap, as on a busy LAN); role -> lease."""
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            results = list(pool.map(lambda client: self.dhcp(*client), clients))
        return {ns.role: lease for (ns, _), lease in zip(clients, results, strict=True)}


def heard(server: Dnsmasq, mac: str) -> list[str]:
    """The server's log lines about DHCP from `mac` (a DHCPDISCOVER, an offer, 'ignored', ...)."""
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
def world(request: pytest.FixtureRequest, roots: dict[str, Path]):
    with Lab(request.node.name) as lab:
        yield World(lab, roots)


def ask_everyone(world: World, hosts: list[Host]) -> dict[str, DhcpResult | None]:
    """Every guest, the LAN client and each of `hosts` on its own bridge (br0: inet dhcp)."""
    guests = [(ns, "eth0") for host in world.hosts.values() for ns in host.guests.values()]
    own = [(host.ns, host.config.bridge) for host in hosts]
    return world.dhcp_all([*guests, (world.machine, "eth0"), *own])


def assert_own_guests_lease_from_it(world: World, host: Host, leases: dict) -> None:
    logs = "\n\n".join(f"--- {n}\n{s.log()}" for n, s in world.servers().items())
    for mac, ns in host.guests.items():
        lease = leases[ns.role]
        assert lease is not None, f"{ns.role} got no lease\n{logs}"
        assert lease.server == host.config.host_ip, (ns.role, lease)  # its own host answered
        assert host.in_range(lease.ip), (ns.role, lease)
        assert lease.interface.network == host.config.network, (ns.role, lease)
        own = host.dnsmasq.lease_for(mac)
        assert own is not None and own.ip == lease.ip, (ns.role, own, lease)


def assert_hears_only_its_own(host: Host, strangers: set[str]) -> None:
    """`host`'s dnsmasq logged nothing at all about `strangers`, and leased only to its guests."""
    overheard = {mac: lines for mac in strangers if (lines := heard(host.dnsmasq, mac))}
    assert overheard == {}, f"host {host.name} heard a stranger\n{host.dnsmasq.log()}"
    for mac in host.guests:  # and it did hear each of its own guests ask
        assert any("DHCPDISCOVER" in line for line in heard(host.dnsmasq, mac))
    assert {le.mac for le in host.dnsmasq.leases()} == set(host.guests)


def test_each_host_answers_only_its_own_guests(world: World) -> None:
    for host in world.hosts.values():
        host.confine()

    leases = ask_everyone(world, list(world.hosts.values()))

    for host in world.hosts.values():
        assert_own_guests_lease_from_it(world, host, leases)
    other = leases[world.machine.role]
    assert other is not None, f"the LAN client got no lease\n{world.lan_server.log()}"
    assert other.server == LAN_SERVER_IP, other  # the LAN's server, and only it, answered
    assert world.lan_server.lease_for(LAN_MAC) is not None
    assert any("DHCPDISCOVER" in line for line in heard(world.lan_server, LAN_MAC))
    # Each host's own DHCP client on its bridge (`iface br0 inet dhcp`) gets its LAN address
    # from the LAN: for the other hosts it is one more LAN machine.
    host_macs = {}
    for host in world.hosts.values():
        own = leases[host.ns.role]
        assert own is not None, f"host {host.name} got no LAN lease\n{world.lan_server.log()}"
        assert own.server == LAN_SERVER_IP and own.ip.startswith("198.51.100."), own
        host_macs[host.name] = host.ns.link(host.config.bridge)["address"]

    # Checked last: every broadcast above has been through every bridge by now.
    all_guest_macs = {mac for host in world.hosts.values() for mac in host.guests}
    for host in world.hosts.values():
        others = {mac for name, mac in host_macs.items() if name != host.name}
        assert_hears_only_its_own(host, (all_guest_macs - set(host.guests)) | {LAN_MAC} | others)
    overheard = {mac: lines for mac in all_guest_macs if (lines := heard(world.lan_server, mac))}
    assert overheard == {}, world.lan_server.log()
    assert {le.mac for le in world.lan_server.leases()} == {LAN_MAC, *host_macs.values()}


def test_a_host_without_its_ruleset_leaks_but_the_confined_hosts_stay_apart(
    world: World,
) -> None:
    """Half a roll-out: b has no ruleset. Its guests reach the LAN, yet a and c, each by its
    own ruleset, neither hear b's guests nor let an answer from b or the LAN reach theirs."""
    a, b, c = (world.hosts[n] for n in "abc")
    a.confine()
    c.confine()

    leases = ask_everyone(world, [])

    for host in (a, c):
        assert_own_guests_lease_from_it(world, host, leases)
        assert_hears_only_its_own(host, (set(b.guests) | {LAN_MAC}))
    b_guests = [ns.role for ns in b.guests.values()]
    assert any(leases[role] is not None for role in b_guests), b.dnsmasq.log()
    for mac in b.guests:  # b's guests do leak out: the LAN server hears them ...
        assert any("DHCPDISCOVER" in line for line in wait_heard(world.lan_server, mac))
    for mac in (*a.guests, *c.guests):  # ... but never a confined host's guests
        assert heard(world.lan_server, mac) == [], world.lan_server.log()
        assert heard(b.dnsmasq, mac) == [], b.dnsmasq.log()


def test_without_the_rulesets_other_hosts_and_the_lan_hear_a_guest(world: World) -> None:
    a, b, c = (world.hosts[n] for n in "abc")
    mac, ns = next(iter(a.guests.items()))
    world.dhcp(ns)  # whichever server wins the race
    world.dhcp(world.machine)
    assert any("DHCPDISCOVER" in line for line in wait_heard(world.lan_server, mac)), (
        world.lan_server.log()
    )
    for other in (b, c):
        lines = wait_heard(other.dnsmasq, mac)
        assert any("DHCPDISCOVER" in line for line in lines), other.dnsmasq.log()
        # dhcp-xen-only does not keep the hosts apart: a Xen MAC is a Xen MAC on every host.
        assert any("DHCPOFFER" in line for line in lines), other.dnsmasq.log()
    for host in (a, b, c):  # the LAN client reaches every host (they ignore it: not a Xen MAC)
        assert any("DHCPDISCOVER" in line for line in wait_heard(host.dnsmasq, LAN_MAC)), (
            host.dnsmasq.log()
        )
