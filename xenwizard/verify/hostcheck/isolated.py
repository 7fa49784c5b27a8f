"""The isolated bridge as the running kernel has it (issue 25): where the applied run made the
bridge isolated (`isolated = true`), no port of it may be anything but a guest's vif, and the
host's own traffic must not leave through it (the default route stays on the NIC). A NIC on
the bridge would put the guests' frames on the LAN with Xen MACs, which the shape promises not
to; the NAT and forwarding it relies on are guestaccess.py's checks.
"""

from __future__ import annotations

import json
import re

from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed

NAME = "isolated-bridge"
# The backend names xl gives a guest's vif: vifDOMID.DEVID, and vifDOMID.DEVID-emu for an HVM
# guest's emulated NIC (xen docs/misc/xl-network-configuration: "vifname").
VIF = re.compile(r"^vif\d+\.\d+(-emu)?$")


def check_names(ctx: Context) -> list[str]:
    return [NAME] if ctx.run is not None and ctx.config.isolated else []


def checks(ctx: Context) -> list[CheckResult]:
    return [check_isolated(ctx)] if check_names(ctx) else []


def _json(ctx: Context, argv: list[str]) -> list[dict[str, object]] | str:
    done = ctx.live.run(argv)
    if done is None:
        return "`ip` is not installed"
    if done.returncode != 0:
        detail = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
        return f"`{' '.join(argv)}` failed (exit {done.returncode}: {detail})"
    try:
        items = json.loads(done.stdout or "[]")
    except ValueError:
        return f"`{' '.join(argv)}` printed no JSON"
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def check_isolated(ctx: Context) -> CheckResult:
    """No NIC on the bridge; the default route not through it."""
    bridge = ctx.config.bridge
    ports = _json(ctx, ["ip", "-j", "link", "show", "master", bridge])
    if isinstance(ports, str):
        return failed(NAME, f"the ports of {bridge} cannot be seen: {ports}")
    names = [str(p.get("ifname", "")) for p in ports]
    foreign = [n for n in names if not VIF.match(n)]
    if foreign:
        return failed(
            NAME,
            f"{', '.join(foreign)} {'is a port' if len(foreign) == 1 else 'are ports'} of "
            f"{bridge}, which the applied run made isolated (no NIC): the guests' frames reach "
            f"that network with their Xen MACs; take it off (`ip link set {foreign[0]} nomaster`) "
            "and find what put it there",
        )
    routes = _json(ctx, ["ip", "-j", "-4", "route", "show", "default"])
    if isinstance(routes, str):
        return failed(NAME, f"the default route cannot be seen: {routes}")
    devices = sorted({str(r.get("dev", "")) for r in routes if r.get("dev")})
    if bridge in devices:
        return failed(
            NAME,
            f"the default route leaves through {bridge}, the isolated guests' bridge: the host's "
            "own network configuration was changed after the run; it should stay on the NIC",
        )
    shown = ", ".join(names) or "none"
    via = f"; the default route leaves through {', '.join(devices)}" if devices else ""
    return passed(NAME, f"{bridge} has no NIC among its ports (ports: {shown}){via}")
