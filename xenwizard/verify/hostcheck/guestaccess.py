"""How guests reach other networks, as the running kernel has it (issue 12).

Where the applied plan forwards (`guest-forward`: nat or routed), IPv4 forwarding must be on;
where it masquerades (`guest-nat`), `table ip xenwizard-nat` must be loaded with a masquerade
rule for the guest subnet. A plan without those steps (host-only, or a run before issue 12)
gets neither check.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from xenwizard.edits import guestnet
from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.nftables import (
    RulesetError,
    has_table,
    list_table_argv,
    parse_ruleset,
)
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed

FORWARD_STEP = "guest-forward"
NAT_STEP = "guest-nat"
PROC_FORWARD = "/proc/sys/net/ipv4/ip_forward"
NO_WAY_OUT = "the guests cannot reach other networks"


def planned(ctx: Context, step_id: str) -> bool:
    """The applied plan has the step, and it turns the thing on (a later run with another
    `guest-access` rewrites the same files to turn them off)."""
    if ctx.run is None or ctx.run.step(step_id) is None:
        return False
    if step_id == NAT_STEP:
        return ctx.config.guest_access == "nat"
    return guestnet.forwards(ctx.config)


def check_names(ctx: Context) -> list[str]:
    """The live checks the applied plan calls for, in order."""
    return [
        name
        for name, step in (("guest-forwarding", FORWARD_STEP), ("guest-nat", NAT_STEP))
        if planned(ctx, step)
    ]


def checks(ctx: Context) -> list[CheckResult]:
    results = []
    if planned(ctx, FORWARD_STEP):
        results.append(check_forwarding(ctx))
    if planned(ctx, NAT_STEP):
        results.append(check_nat(ctx))
    return results


def check_forwarding(ctx: Context) -> CheckResult:
    name, key = "guest-forwarding", guestnet.FORWARD_KEY
    value = (ctx.live.read_text(PROC_FORWARD) or "").strip()
    if value == "1":
        return passed(name, f"{key} is 1: this host forwards the guests' traffic")
    shown = value or "unreadable"
    return failed(
        name,
        f"{key} is {shown}: {NO_WAY_OUT}; apply /{guestnet.SYSCTL_PATH} "
        f"(`sysctl -p /{guestnet.SYSCTL_PATH}`)",
    )


def masquerades(items: list[dict[str, Any]], network: ipaddress.IPv4Network) -> bool:
    """A rule of the table masquerades traffic from `network` (ip saddr NET ... masquerade)."""
    for item in items:
        rule = item.get("rule")
        expr = rule.get("expr") if isinstance(rule, dict) else None
        if not isinstance(expr, list) or not any(
            isinstance(e, dict) and "masquerade" in e for e in expr
        ):
            continue
        for e in expr:
            match = e.get("match") if isinstance(e, dict) else None
            if not isinstance(match, dict) or match.get("op") != "==":
                continue
            left, right = match.get("left"), match.get("right")
            payload = left.get("payload") if isinstance(left, dict) else None
            prefix = right.get("prefix") if isinstance(right, dict) else None
            if (
                isinstance(payload, dict)
                and payload.get("field") == "saddr"
                and isinstance(prefix, dict)
                and f"{prefix.get('addr')}/{prefix.get('len')}" == str(network)
            ):
                return True
    return False


def check_nat(ctx: Context) -> CheckResult:
    name = "guest-nat"
    table = f"table {guestnet.NAT_FAMILY} {guestnet.NAT_TABLE}"
    rules = f"/{guestnet.NAT_RULES_PATH}"
    argv = list_table_argv(guestnet.NAT_FAMILY, guestnet.NAT_TABLE)
    not_loaded = f"{table} is not loaded: {NO_WAY_OUT}; load {rules} (`nft -f {rules}`)"
    done = ctx.live.run(argv)
    if done is None:
        return failed(name, f"`nft` is not installed, so {table} cannot be seen")
    if done.returncode != 0:
        detail = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
        if "No such file or directory" in detail:
            return failed(name, not_loaded)
        return failed(
            name, f"`{' '.join(argv)}` failed (exit {done.returncode}: {detail}); run as root"
        )
    try:
        items = parse_ruleset(done.stdout)
    except RulesetError as exc:
        return failed(name, f"cannot read `nft -j`'s output: {exc}")
    if not has_table(items, guestnet.NAT_FAMILY, guestnet.NAT_TABLE):
        return failed(name, not_loaded)
    network = ctx.config.network
    if not masquerades(items, network):
        return failed(
            name,
            f"{table} is loaded but masquerades nothing from {network}: {NO_WAY_OUT}; "
            f"load {rules} again (`nft -f {rules}`)",
        )
    return passed(name, f"{table} is loaded and masquerades {network}")
