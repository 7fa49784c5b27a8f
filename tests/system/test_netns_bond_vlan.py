"""A bond and a VLAN under the bridge, booted with the real kernel, ifupdown (with ifenslave's
hooks), dnsmasq and nft in network namespaces (issue 25).

For each shape a Debian 12 root whose interfaces(5) configures the LAN on a bond of two NICs
(ifenslave's `bond-slaves`, active-backup) or on a VLAN (`eno1.10`) is applied by the real
`xenwizard apply --skip-packages` (dhcp-xen-only off: the firewall alone keeps DHCP apart),
then booted as Debian does after the reboot: `ifup` of the port's stanzas, then `ifup br0`.

    lan ns:   lanbr (198.51.100.1/24, the LAN's dnsmasq answering every MAC)
                 |-- lan1, lan2        (bond: the other ends of eno1, eno2)
                 |-- lan0.10 on lan0   (VLAN: tagged 10 on the other end of eno1)
                 \\-- lanm0 -- "lanmachine" ns (a LAN client)
    host ns:  br0 (the bond's or VLAN's address moved here, and 10.0.0.1/24 with dnsmasq)
                 |-- bond0 (eno1 + eno2)  or  eno1.10 (on eno1)
                 \\-- vif1.0 -- guest ns (eth0, a 00:16:3e MAC)

With the written ruleset loaded: the guest leases from the host's dnsmasq through the bridge;
the LAN's server serves the host's own DHCP client on br0 (through the bond or the VLAN) and
the LAN client; the LAN's server never hears the guest and the host's dnsmasq never hears the
LAN client. Needs the kernel's bonding and 8021q drivers: without them the test is skipped,
naming the driver (CI's machines have neither).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, copy_root
from tests.kits.netns import (
    DEFAULT_HOOKS,
    DHCLIENT,
    DNSMASQ,
    IFUP,
    SBIN_PATH,
    DhcpClient,
    Dnsmasq,
    Ifupdown,
    Lab,
    Netns,
    add_bridge,
    add_veth,
    applied_root,
    guest,
    operator_dnsmasq,
    skip_unless_netns,
)
from xenwizard.edits import nftconfine

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"
IFENSLAVE_HOOK = "/etc/network/if-pre-up.d/ifenslave"
XEN_MAC = "00:16:3e:5c:00:12"
LAN_MAC = "52:54:00:5c:00:13"
LAN_SERVER_IP = "198.51.100.1"
HOST_LAN = "198.51.100.2/24"

HEAD = "auto lo\niface lo inet loopback\n\n"
BOND = HEAD + (
    "auto bond0\n"
    "iface bond0 inet static\n"
    f"    address {HOST_LAN}\n"
    f"    gateway {LAN_SERVER_IP}\n"
    "    bond-slaves eno1 eno2\n"
    "    bond-mode active-backup\n"
    "    bond-miimon 100\n"
)
VLAN = HEAD + (
    "auto eno1\n"
    "iface eno1 inet manual\n\n"
    "auto eno1.10\n"
    "iface eno1.10 inet static\n"
    f"    address {HOST_LAN}\n"
    f"    gateway {LAN_SERVER_IP}\n"
)
# shape -> (interfaces, the bridge's port, what `ifup` raises before br0, the kernel's kind)
SHAPES = {
    "bond": (BOND, "bond0", ("bond0",), "bond"),
    "vlan": (VLAN, "eno1.10", ("eno1", "eno1.10"), "vlan"),
}


def require_kernel(ns: Netns, kind: str) -> None:
    """The kernel's driver for `kind` (bond: bonding, vlan: 8021q), or a skip saying it is
    missing. A skip under CI too: a kernel driver is not a program dev-setup can install, and
    the kernel of the machines this project's CI runs on (6.18, firecracker) has neither
    driver (CONFIG_BONDING and CONFIG_VLAN_8021Q unset, no modules)."""
    args = ("type", "bond") if kind == "bond" else ("link", "xwkveth0", "type", "vlan", "id", "9")
    if kind == "vlan":
        ns.ip("link", "add", "xwkveth0", "type", "veth", "peer", "name", "xwkveth1")
    done = ns.ip("link", "add", "xwkcheck0", *args, check=False)
    ns.ip("link", "del", "xwkcheck0", check=False)
    ns.ip("link", "del", "xwkveth0", check=False)
    if done.returncode != 0:
        driver = "bonding" if kind == "bond" else "8021q"
        message = (
            f"this kernel cannot make a {kind} (`ip link add ... type {kind}`: "
            f"{done.stderr.strip()}); it needs the {driver} driver (modprobe {driver})"
        )
        pytest.skip(message)


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(DNSMASQ, DHCLIENT, NFT, IFUP)
    with Lab(request.node.name) as the_lab:
        yield the_lab


def heard(server: Dnsmasq, mac: str) -> list[str]:
    return [line for line in server.log().splitlines() if mac in line and "DHCP" in line]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_canary_leases_through_the_bond_or_vlan_and_the_lan_stays_out(
    lab: Lab, shape: str, tmp_path: Path
) -> None:
    text, port, raised, kind = SHAPES[shape]
    hooks = DEFAULT_HOOKS
    if kind == "bond":
        programs.require(IFENSLAVE_HOOK)
        hooks = (*DEFAULT_HOOKS, "ifenslave")
    host, lan = lab.namespace("host"), lab.namespace("lan")

    source = copy_root(FIXTURES / "debian-12-root", tmp_path / "source")
    (source / "etc/network/interfaces").write_text(text)
    root = applied_root(source, lab.path("root"), "--no-dhcp-xen-only")
    interfaces = (root / "etc/network/interfaces").read_text()
    assert f"bridge_ports {port}" in interfaces, interfaces
    assert f"iface {port} inet manual" in interfaces, interfaces
    if kind == "bond":  # the bond's own configuration stays on it
        for line in ("bond-slaves eno1 eno2", "bond-mode active-backup", "bond-miimon 100"):
            assert f"    {line}\n" in interfaces, interfaces
    rules = (root / nftconfine.RULES_PATH).read_text()
    assert f'iifname "{port}"' in rules and f'oifname "{port}"' in rules, rules
    require_kernel(host, kind)

    # the LAN: a switch with its DHCP server and a client; the host's NICs are plugged in
    add_bridge(lan, "lanbr", address=f"{LAN_SERVER_IP}/24")
    if kind == "bond":
        add_veth(host, "eno1", lan, "lan1")
        add_veth(host, "eno2", lan, "lan2")
        for end in ("lan1", "lan2"):
            lan.ip("link", "set", end, "master", "lanbr")
    else:
        add_veth(host, "eno1", lan, "lan0")
        lan.ip("link", "add", "link", "lan0", "name", "lan0.10", "type", "vlan", "id", "10")
        lan.ip("link", "set", "lan0.10", "master", "lanbr")
        lan.ip("link", "set", "lan0.10", "up")
    lan_server = Dnsmasq(
        lan,
        lab.workdir("lan-dnsmasq"),
        extra=[
            "--interface=lanbr",
            "--bind-interfaces",
            "--dhcp-range=198.51.100.50,198.51.100.150,1h",
        ],
    ).start()
    machine = guest(lab, lan, "lanbr", LAN_MAC, vif="lanm0", role="lanmachine")

    # the host boots its written configuration: the port's stanzas, then the bridge
    lab.path("interfaces").write_text(interfaces)
    ifupdown = Ifupdown(host, lab.workdir("ifupdown"), lab.path("interfaces"), hooks=hooks)
    for iface in (*raised, "br0"):
        up = ifupdown.ifup(iface, check=False)
        assert up.returncode == 0, up.stdout + up.stderr
    assert host.link(port).get("master") == "br0"
    if kind == "bond":
        for member in ("eno1", "eno2"):
            assert host.link(member).get("master") == "bond0"
    addresses = {(a["local"], a["prefixlen"]) for a in host.addresses("br0")}
    assert {("198.51.100.2", 24), ("10.0.0.1", 24)} <= addresses
    assert host.addresses(port) == []
    host.run([NFT, "-f", str(root / nftconfine.RULES_PATH)])
    dnsmasq = operator_dnsmasq(host, root, lab.workdir("dnsmasq")).start()
    canary = guest(lab, host, "br0", XEN_MAC)

    def dhcp(ns: Netns, iface: str = "eth0"):
        client = DhcpClient(ns, iface, lab.workdir(f"dhcp-{ns.role}-{iface}"), configure=False)
        return client.request(timeout=6)

    lease = dhcp(canary)
    assert lease is not None, dnsmasq.log()
    assert lease.server == "10.0.0.1" and lease.ip.startswith("10.0.0.")
    other = dhcp(machine)
    assert other is not None, lan_server.log()
    assert other.server == LAN_SERVER_IP
    own = dhcp(host, "br0")  # the host's own DHCP client, through the bond or the VLAN
    assert own is not None, lan_server.log()
    assert own.server == LAN_SERVER_IP and own.ip.startswith("198.51.100.")
    # checked last: every broadcast above has crossed both bridges by now
    assert heard(lan_server, XEN_MAC) == []
    assert heard(dnsmasq, LAN_MAC) == []
    assert dnsmasq.lease_for(LAN_MAC) is None
