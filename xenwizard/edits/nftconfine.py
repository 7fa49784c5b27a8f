"""DHCP confined on the Xen bridge: an nftables ruleset of xenwizard's own, loaded at boot.

On current releases the bridge holds the host's physical NIC, so without rules (a) the guests'
DHCP requests leave through the NIC and the LAN's DHCP server may answer them, and (b) the
host's dnsmasq hears the LAN's machines. A table in the `bridge` family sees frames as the
bridge handles them:
- `forward` (frames bridged between ports): DHCP requests (to port 67) going out through the
  NIC and DHCP answers (to port 68) coming in through it are dropped;
- `input` (frames for the host itself): DHCP requests coming in through the NIC are dropped.
The host's own DHCP client on the bridge keeps working: it sends through `output` (not
filtered), and its answers arrive on `input` with port 68, which is not dropped.

IPv6 has the same two leaks by other means: the LAN's router advertisements (and DHCPv6) would
give the guests addresses on the LAN's prefix, routed around the host. So `forward` also drops
ICMPv6 router solicitations and advertisements (types 133/134, RFC 4861 section 4.1-4.2) and
DHCPv6 (udp 546 client, 547 server, RFC 8415 section 7.2) crossing the NIC port either way.
Only forwarding is filtered there: the host's own address is on the bridge, and the LAN's
advertisements reach it through `input`, which drops only what the LAN sends to a router or a
DHCPv6 server (133, 547): the host's own SLAAC and DHCPv6 client keep working. `output` keeps
the host's own advertisements and DHCPv6 answers for its guests (134, 546) off the NIC, so a
guest prefix the host advertises never reaches the LAN.

The ruleset replaces only its own table (`table ...` then `delete table ...`, so loading it
twice is fine and nothing else in the ruleset is touched). A oneshot unit loads it at boot,
after Debian's nftables.service (whose `flush ruleset` would remove it) and before the network
comes up; it is never loaded on the running system by xenwizard.

Names go into the files only after the configuration's own interface-name checks, so an odd
name is refused here, never quoted.
"""

from __future__ import annotations

from xenwizard.answers.checks import MAX_IFNAME_LEN, check_bridge, check_nic
from xenwizard.edits import EditError, EditResult, nftunit
from xenwizard.edits.nftunit import NftBoot, refuse_foreign

TABLE_FAMILY = "bridge"
TABLE_NAME = "xenwizard"
RULES_PATH = "etc/xenwizard/dhcp-confine.nft"
BOOT = NftBoot(
    name="xenwizard-dhcp-confine",
    rules_path=RULES_PATH,
    family=TABLE_FAMILY,
    table=TABLE_NAME,
    why="keeps DHCP on\n# the Xen bridge between this host and its guests",
    description="DHCP on the Xen bridge stays between this host and its guests",
)
UNIT_NAME = BOOT.unit_name
UNIT_PATH = BOOT.unit_path
UNIT_LINK = BOOT.unit_link
UNIT_TARGET = BOOT.unit_target  # what `systemctl enable` writes into the link: absolute
NFT = nftunit.NFT
MODE = nftunit.MODE
RULES_MARKER = "# xenwizard: DHCP on bridge"

_RULES = """#!/usr/sbin/nft -f
{marker} {bridge} stays between this host and its guests (NIC {nic} is the LAN).
# Loaded at boot by {unit}; `xenwizard rollback` removes it.
table {family} {table}
delete table {family} {table}
table {family} {table} {{
    chain forward {{
        type filter hook forward priority 0; policy accept;
        oifname "{nic}" udp dport 67 drop comment "{out_requests}"
        iifname "{nic}" udp dport 68 drop comment "{in_answers}"
        iifname "{nic}" icmpv6 type {{ {ra_types} }} drop comment "{in_ra}"
        oifname "{nic}" icmpv6 type {{ {ra_types} }} drop comment "{out_ra}"
        iifname "{nic}" udp dport {{ {dhcp6_ports} }} drop comment "{in_dhcp6}"
        oifname "{nic}" udp dport {{ {dhcp6_ports} }} drop comment "{out_dhcp6}"
    }}
    chain input {{
        type filter hook input priority 0; policy accept;
        iifname "{nic}" udp dport 67 drop comment "{in_requests}"
        iifname "{nic}" icmpv6 type {solicit} drop comment "{in_solicit}"
        iifname "{nic}" udp dport {dhcp6_server} drop comment "{in_dhcp6_requests}"
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        oifname "{nic}" icmpv6 type {advert} drop comment "{out_advert}"
        oifname "{nic}" udp dport {dhcp6_client} drop comment "{out_dhcp6_answers}"
    }}
}}
"""

# An isolated run after a bridged one: the bridge has no LAN port left to guard, and the unit the
# bridged run enabled still loads this file at boot (rewritten, not deleted, so that the
# isolated run's rollback puts the bridged run's rules back).
_RULES_OFF = """#!/usr/sbin/nft -f
{marker} {bridge}: off, the bridge has no NIC (isolated); loading this removes the table an
# earlier run made. `xenwizard rollback` puts that run's rules back.
table {family} {table}
delete table {family} {table}
"""

# The rules' comments (nft keeps them: `nft list table bridge xenwizard` shows them).
COMMENTS = {
    "out_requests": "guests' DHCP requests do not leave through the NIC",
    "in_answers": "the LAN's DHCP answers do not reach the guests",
    "in_requests": "the host's dnsmasq never hears a LAN machine",
}
# The IPv6 rules' comments (nftables only: ebtables has none, its script says it in comments).
COMMENTS6 = {
    "in_ra": "the LAN's router advertisements do not reach the guests",
    "out_ra": "guests' router solicitations and advertisements do not reach the LAN",
    "in_dhcp6": "the LAN's DHCPv6 does not reach the guests",
    "out_dhcp6": "guests' DHCPv6 does not reach the LAN",
    "in_solicit": "the host never answers a LAN machine's router solicitation",
    "in_dhcp6_requests": "the host's DHCPv6 server never hears a LAN machine",
    "out_advert": "the host's router advertisements stay on the guests' side",
    "out_dhcp6_answers": "the host's DHCPv6 answers stay on the guests' side",
}
# ICMPv6 types (RFC 4861 section 4.1, 4.2) by nft's names (nft(8), ICMPV6 TYPE TYPE), and the
# DHCPv6 ports (RFC 8415 section 7.2: clients listen on 546, servers and relays on 547).
ROUTER_SOLICIT, ROUTER_ADVERT = 133, 134
NFT_ICMPV6_NAMES = {"nd-router-solicit": ROUTER_SOLICIT, "nd-router-advert": ROUTER_ADVERT}
DHCP6_CLIENT, DHCP6_SERVER = 546, 547
_NFT6 = {
    "ra_types": "nd-router-solicit, nd-router-advert",
    "solicit": "nd-router-solicit",
    "advert": "nd-router-advert",
    "dhcp6_ports": f"{DHCP6_CLIENT}, {DHCP6_SERVER}",
    "dhcp6_client": str(DHCP6_CLIENT),
    "dhcp6_server": str(DHCP6_SERVER),
}


def check_rule_names(bridge: str, *interfaces: tuple[str, str]) -> None:
    """Names go into firewall rules only once they pass the operator's checks (a name read
    from the root included): EditError naming the first one that does not. `interfaces`:
    (what it is, name) of the NIC-like names besides the bridge."""
    checks = [("bridge name", bridge, check_bridge(bridge, MAX_IFNAME_LEN))]  # no alias here
    checks += [(what, name, check_nic(name)) for what, name in interfaces]
    for what, value, problem in checks:
        if problem:
            raise EditError(f"{what} {value!r} {problem}; refusing to write it into the rules")


def render_rules(bridge: str, nic: str) -> str:
    """The whole ruleset for the bridge `bridge` whose LAN port is the kernel interface `nic`."""
    check_rule_names(bridge, ("NIC name", nic))
    return _RULES.format(
        marker=RULES_MARKER,
        bridge=bridge,
        nic=nic,
        unit=UNIT_NAME,
        family=TABLE_FAMILY,
        table=TABLE_NAME,
        **COMMENTS,
        **COMMENTS6,
        **_NFT6,
    )


def render_off(bridge: str) -> str:
    """The file that removes the table: the isolated shape has no LAN port to keep DHCP off."""
    check_rule_names(bridge)
    return _RULES_OFF.format(
        marker=RULES_MARKER, bridge=bridge, family=TABLE_FAMILY, table=TABLE_NAME
    )


def set_off(text: str | None, bridge: str) -> EditResult:
    """An earlier bridged run's rules turned off; refuses a file xenwizard did not write."""
    refuse_foreign(text, RULES_MARKER, RULES_PATH, "xenwizard's DHCP rules")
    after = render_off(bridge)
    if text == after:
        return EditResult(after, ("already as wanted",))
    return EditResult(
        after,
        (
            f"isolated: an earlier run's DHCP confinement goes (no NIC is a port of {bridge}); "
            f"its unit now loads a file that removes table {TABLE_FAMILY} {TABLE_NAME} at boot",
        ),
    )


def render_unit() -> str:
    """The systemd unit that loads the ruleset at boot (the same for every bridge and NIC)."""
    return BOOT.render_unit()


def set_rules(text: str | None, bridge: str, nic: str) -> EditResult:
    """The ruleset as wanted; refuses to overwrite a file xenwizard did not write."""
    refuse_foreign(text, RULES_MARKER, RULES_PATH, "xenwizard's DHCP rules")
    after = render_rules(bridge, nic)
    return EditResult(after, ("already as wanted",) if text == after else ())


def set_unit(text: str | None) -> EditResult:
    """The unit as wanted; refuses to overwrite a unit xenwizard did not write."""
    return BOOT.set_unit(text)


def rules_notes(bridge: str, nic: str) -> list[str]:
    """What the rules do, in plain words, for the step's notes."""
    return [
        f"guests' DHCP requests are not forwarded out through {nic}: a DHCP server on the "
        "LAN never sees them, so only this host's dnsmasq can answer the guests",
        f"DHCP answers coming in from the LAN through {nic} are not forwarded to the guests",
        f"DHCP requests coming in through {nic} do not reach this host: its dnsmasq never "
        "hears a machine on the LAN",
        *ipv6_notes(bridge, nic),
        f"the host's own DHCP client on {bridge} keeps working (it sends directly, and its "
        "answers reach it); everything else on the bridge passes untouched",
        f"nftables table {TABLE_FAMILY} {TABLE_NAME} of its own: no other firewall rule is "
        "touched, and loading it again replaces only this table",
    ]


def ipv6_notes(bridge: str, port: str) -> list[str]:
    """What the IPv6 rules do, in plain words (the same on nftables and ebtables)."""
    return [
        f"IPv6 router solicitations and advertisements (ICMPv6 133/134) and DHCPv6 (udp 546/547) "
        f"are not forwarded between {port} and the guests, either way: the guests never take an "
        "address on the LAN's prefix, which would route around this host",
        f"the host itself still gets the LAN's router advertisements and DHCPv6 answers on "
        f"{bridge} (only forwarding is filtered); router solicitations and DHCPv6 requests from "
        f"the LAN do not reach it, and its own advertisements and DHCPv6 answers for the guests "
        f"do not leave through {port}",
    ]
