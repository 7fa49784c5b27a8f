"""The check of the DHCP confinement: nftables' table (ebtables' chains on ubuntu-precise)."""

from __future__ import annotations

import re

from xenwizard.edits import ebconfine
from xenwizard.edits.nftconfine import RULES_PATH, TABLE_FAMILY, TABLE_NAME
from xenwizard.verify.hostcheck.context import CONFINE_STEP, Context
from xenwizard.verify.hostcheck.nftables import (
    DHCP_PORTS,
    RulesetError,
    describe6,
    dhcp_drops,
    has_table,
    list_table_argv,
    missing_ipv6,
    parse_ruleset,
)
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed

CONFINE_FILE = RULES_PATH
UNCONFINED6 = (
    "guests may take addresses on the LAN's IPv6 prefix (its router advertisements or DHCPv6) "
    "and route around this host"
)
IPV6_DONE = "router solicitations/advertisements and DHCPv6 between the guests and the NIC"
UNCONFINED = (
    "guests may get leases from the LAN's DHCP server, and the host's dnsmasq hears LAN machines"
)


def check_dhcp_confinement(ctx: Context) -> CheckResult:
    """The `dhcp-confine` step's table is loaded and drops DHCP on the plan's NIC."""
    name, table = "dhcp-confinement", f"table {TABLE_FAMILY} {TABLE_NAME}"
    step = ctx.run.step(CONFINE_STEP) if ctx.run else None
    if step and step.get("path") == ebconfine.SCRIPT_PATH:
        return check_ebtables_confinement(ctx, step)
    ruleset = str(step.get("path") or CONFINE_FILE) if step else CONFINE_FILE
    nic = ctx.run.nic(ctx.config.bridge) if ctx.run else None
    if nic is None:
        return failed(
            name, f"the applied plan names no NIC for the bridge, so {table} cannot be checked"
        )
    done = ctx.live.run(list_table_argv())
    if done is None:
        return failed(name, f"`nft` is not installed, so {table} cannot be seen: {UNCONFINED}")
    not_loaded = f"{table} is not loaded: {UNCONFINED}; load {ruleset} (`nft -f /{ruleset}`)"
    if done.returncode != 0:
        detail = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
        if "No such file or directory" in detail:
            return failed(name, not_loaded)
        return failed(
            name,
            f"`{' '.join(list_table_argv())}` failed (exit {done.returncode}: {detail}); "
            "run as root",
        )
    try:
        items = parse_ruleset(done.stdout)
    except RulesetError as exc:
        return failed(name, f"cannot read `nft -j`'s output: {exc}")
    if not has_table(items):
        return failed(
            name, f"{table} is not loaded: {UNCONFINED}; load {ruleset} (`nft -f /{ruleset}`)"
        )
    drops = dhcp_drops(items, nic)
    missing = [port for port in DHCP_PORTS if not drops[port]]
    if missing:
        ports = " or ".join(str(p) for p in missing)
        return failed(
            name,
            f"{table} is loaded but drops no udp dport {ports} on {nic}: {UNCONFINED}; "
            f"load {ruleset} again (`nft -f /{ruleset}`)",
        )
    chains = sorted({chain for port in DHCP_PORTS for chain in drops[port]})
    ports = " and ".join(str(p) for p in DHCP_PORTS)
    done_v4 = f"{table} is loaded and drops udp dport {ports} on {nic} (chains {', '.join(chains)})"
    if not _writes_ipv6(step):
        return passed(name, done_v4)  # a run of a version without the IPv6 rules
    lacking = missing_ipv6(items, nic)
    if lacking:
        return failed(
            name,
            f"{table} is loaded but lacks the IPv6 drop{'s' if len(lacking) > 1 else ''} "
            f"{'; '.join(describe6(drop, nic) for drop in lacking)}: {UNCONFINED6}; "
            f"load {ruleset} again (`nft -f /{ruleset}`)",
        )
    return passed(name, f"{done_v4}, and {IPV6_DONE} on {nic}")


def _writes_ipv6(step: dict[str, object] | None) -> bool:
    """Whether the run's ruleset has the IPv6 rules (runs of older versions wrote none)."""
    return step is not None and "icmp" in str(step.get("after") or "")


def check_ebtables_confinement(ctx: Context, step: dict[str, object]) -> CheckResult:
    """ubuntu-precise: xenwizard's ebtables chains are loaded, jumped to, and drop DHCP on the
    LAN's port as the script the run wrote names it."""
    name, script = "dhcp-confinement", f"/{ebconfine.SCRIPT_PATH}"
    found = re.search(r"-o (\S+) -p IPv4", str(step.get("after") or ""))
    if found is None:
        return failed(name, f"the applied {script} names no LAN port, so it cannot be checked")
    port = found.group(1)
    escaped = re.escape(port)
    wanted = {  # chain: the rules it must list (`ebtables -L` prints them one a line)
        "FORWARD": [r"-j XENWIZARD-FORWARD\b"],
        "INPUT": [r"-j XENWIZARD-INPUT\b"],
        "XENWIZARD-FORWARD": [
            rf"-o {escaped} .*--ip-dport 67 -j DROP",
            rf"-i {escaped} .*--ip-dport 68 -j DROP",
        ],
        "XENWIZARD-INPUT": [rf"-i {escaped} .*--ip-dport 67 -j DROP"],
    }
    ipv6 = _writes_ipv6(step)
    if ipv6:
        for chain, rules in _ebtables_ipv6(escaped).items():
            wanted.setdefault(chain, []).extend(rules)
    missing: list[str] = []
    for chain, rules in wanted.items():
        done = ctx.live.run([ebconfine.EBTABLES, "-L", chain])
        if done is None:
            return failed(
                name, f"`ebtables` is not installed, so its rules cannot be seen: {UNCONFINED}"
            )
        if done.returncode != 0:
            return failed(name, f"ebtables chain {chain} is not loaded: {UNCONFINED}; run {script}")
        missing += [
            f"{chain} `{rule.replace(chr(92), '')}`"
            for rule in rules
            if not re.search(rule, done.stdout)
        ]
    if missing:
        leaks = [UNCONFINED] if any("--ip-dport" in rule for rule in missing) else []
        leaks += [UNCONFINED6] if any("ip6" in rule for rule in missing) else []
        return failed(
            name,
            f"ebtables lacks {'; '.join(missing)}: {'; '.join(leaks or [UNCONFINED])}; "
            f"run {script} again",
        )
    if ipv6:
        return passed(
            name,
            "ebtables chains XENWIZARD-FORWARD, XENWIZARD-INPUT and XENWIZARD-OUTPUT drop udp "
            f"dport 67 and 68 on {port}, and {IPV6_DONE} on {port}",
        )
    return passed(
        name,
        f"ebtables chains XENWIZARD-FORWARD and XENWIZARD-INPUT drop udp dport 67 and 68 on {port}",
    )


def _ebtables_ipv6(port: str) -> dict[str, list[str]]:
    """The IPv6 rules of ebconfine's script as `ebtables -L` lists them, by chain (`port`
    already escaped for a regular expression)."""
    ra = r".*--ip6-icmp-type router-"
    dhcp6 = r".*--ip6-dport"
    return {
        "OUTPUT": [r"-j XENWIZARD-OUTPUT\b"],
        "XENWIZARD-FORWARD": [
            *(
                rf"-{way} {port} {ra}{kind} -j DROP"
                for way in "io"
                for kind in ("solicitation", "advertisement")
            ),
            *(rf"-{way} {port} {dhcp6} 546:547 -j DROP" for way in "io"),
        ],
        "XENWIZARD-INPUT": [
            rf"-i {port} {ra}solicitation -j DROP",
            rf"-i {port} {dhcp6} 547 -j DROP",
        ],
        "XENWIZARD-OUTPUT": [
            rf"-o {port} {ra}advertisement -j DROP",
            rf"-o {port} {dhcp6} 546 -j DROP",
        ],
    }
