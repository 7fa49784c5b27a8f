"""The checks of dnsmasq: it runs here, reads xenwizard's settings and serves DHCP on the bridge."""

from __future__ import annotations

from collections.abc import Iterable

from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.dnsmasqconf import DnsmasqSources, dnsmasq_sources, same_file
from xenwizard.verify.hostcheck.live import ProcessInfo
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed

DHCP_PORT = 67


def check_dnsmasq(ctx: Context) -> list[CheckResult]:
    """dnsmasq running here; reading our settings, newer than them, with interface=BR; port 67."""
    settings_rel = ctx.dnsmasq_settings
    settings = str(ctx.fs.path(settings_rel))
    procs = [p for p in ctx.live.processes("dnsmasq") if p.same_netns is not False]
    if not procs:
        why = (
            "no dnsmasq process runs in this network namespace; start it "
            f"(`service dnsmasq start`) and check its log (it should read {settings_rel})"
        )
        return [
            failed("dnsmasq", why),
            failed("dnsmasq-config", "dnsmasq is not running"),
            failed("dnsmasq-dhcp", "dnsmasq is not running"),
        ]
    pids = ", ".join(str(p.pid) for p in procs)
    results = [passed("dnsmasq", f"running (pid {pids})")]
    readers = []
    for proc in procs:
        sources = dnsmasq_sources(proc.cmdline, ctx.live.read_text)
        if any(same_file(f, settings) for f in sources.files):
            readers.append((proc, sources))
    if not readers:
        shown = " ".join(procs[0].cmdline) or procs[0].name
        results.append(
            failed(
                "dnsmasq-config",
                f"no dnsmasq here reads {settings_rel} "
                f"(pid {procs[0].pid}: {shown}); dnsmasq must read etc/dnsmasq.d "
                "(CONFIG_DIR in etc/default/dnsmasq)",
            )
        )
        results.append(failed("dnsmasq-dhcp", f"no dnsmasq with {settings_rel} to check"))
        return results
    proc, sources = readers[0]
    results.append(_config_result(ctx, proc, sources, settings_rel, settings))
    if proc.udp_ports is None:
        results.append(failed("dnsmasq-dhcp", f"cannot see pid {proc.pid}'s sockets; run as root"))
    elif DHCP_PORT in proc.udp_ports:
        results.append(
            passed(
                "dnsmasq-dhcp",
                f"pid {proc.pid} has UDP port {DHCP_PORT} open "
                f"(DHCP, answering on {ctx.config.bridge})",
            )
        )
    else:
        results.append(
            failed(
                "dnsmasq-dhcp",
                f"pid {proc.pid} has no UDP port {DHCP_PORT} open: "
                "DHCP is off (no dhcp-range loaded?)",
            )
        )
    return results


def _config_result(
    ctx: Context, proc: ProcessInfo, sources: DnsmasqSources, settings_rel: str, settings: str
) -> CheckResult:
    bridge = ctx.config.bridge
    values = {name: [v for n, v in sources.options if n == name] for name, _ in sources.options}
    if bridge in _split_names(values.get("except-interface", [])):
        return failed("dnsmasq-config", f"pid {proc.pid} has except-interface={bridge}")
    if bridge in _split_names(values.get("no-dhcp-interface", [])):
        return failed("dnsmasq-config", f"pid {proc.pid} has no-dhcp-interface={bridge}")
    interfaces = _split_names(values.get("interface", []))
    if interfaces and bridge not in interfaces:
        return failed(
            "dnsmasq-config", f"pid {proc.pid} serves {', '.join(interfaces)}, not {bridge}"
        )
    changed = ctx.live.mtime(settings)
    if changed is not None and proc.started and proc.started + 1 < changed:
        return failed(
            "dnsmasq-config",
            f"pid {proc.pid} started before {settings_rel} last "
            "changed, so it runs the old settings; restart dnsmasq",
        )
    return passed(
        "dnsmasq-config",
        f"pid {proc.pid} reads {settings_rel} (interface={bridge}), started after it last changed",
    )


def _split_names(values: Iterable[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]
