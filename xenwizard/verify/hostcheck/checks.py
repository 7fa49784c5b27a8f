"""The checks themselves, and `run_checks`, which runs them in order (see the package doc)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from typing import Any

from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits import ebconfine
from xenwizard.edits.nftconfine import RULES_PATH, TABLE_FAMILY, TABLE_NAME
from xenwizard.engine.journal import JournalError
from xenwizard.paths import STATE_DIR
from xenwizard.target.probe import parse_shell_vars
from xenwizard.target.rootfs import ENCODING, ERRORS, RootError, RootFS
from xenwizard.verify.hostcheck import guestaccess, isolated
from xenwizard.verify.hostcheck.applied import AppliedRun, latest_applied_run, planned_toolstack
from xenwizard.verify.hostcheck.context import (
    CONFINE_STEP,
    Context,
)
from xenwizard.verify.hostcheck.dnsmasqconf import DnsmasqSources, dnsmasq_sources, same_file
from xenwizard.verify.hostcheck.live import KernelLive, LiveSystem, ProcessInfo
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
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed, skipped

DHCP_PORT = 67
BRIDGE_STEP = "bridge"  # current releases: the bridge in ifupdown's or netplan's configuration
INTERFACES = "etc/network/interfaces"
CONFINE_FILE = RULES_PATH
UNCONFINED6 = (
    "guests may take addresses on the LAN's IPv6 prefix (its router advertisements or DHCPv6) "
    "and route around this host"
)
IPV6_DONE = "router solicitations/advertisements and DHCPv6 between the guests and the NIC"
UNCONFINED = (
    "guests may get leases from the LAN's DHCP server, and the host's dnsmasq hears LAN machines"
)


def check_run(fs: RootFS) -> tuple[CheckResult, AppliedRun | None, WizardConfig]:
    where = f"{fs.root.as_posix().rstrip('/')}/{STATE_DIR}"
    try:
        run = latest_applied_run(fs)
    except (OSError, ValueError, JournalError) as exc:
        return failed("run", f"cannot read the journal under {where}: {exc}"), None, WizardConfig()
    if run is None:
        return (
            failed("run", f"no applied run found under {where}; checks below assume the defaults"),
            None,
            WizardConfig(),
        )
    try:
        config = run.config()
    except ConfigError as exc:
        reason = f"run {run.run_id}: its answers are not valid ({exc}); using the defaults"
        return failed("run", reason), run, WizardConfig()
    return (
        passed(
            "run",
            f"{run.run_id} applied with profile {run.profile or '?'} "
            f"(bridge {config.bridge}, address {config.address})",
        ),
        run,
        config,
    )


# Linux: drivers/xen/sys-hypervisor.c (type_show prints "xen"); drivers/xen/xenfs/super.c
# (xenfs's "capabilities" file, "control_d" in dom0). Not on the test host: the VM tests see them.
HYPERVISOR_TYPE = "/sys/hypervisor/type"
XEN_CAPABILITIES = "/proc/xen/capabilities"
XL_INFO_SHOWN = ("xen_version", "virt_caps")


def check_xen(ctx: Context) -> CheckResult:
    """Xen runs and this is dom0; on current releases `xl info` answers too."""
    kind = ctx.live.read_text(HYPERVISOR_TYPE)
    if kind is None:
        return failed(
            "xen",
            f"{HYPERVISOR_TYPE} is missing: this kernel is not running on Xen; reboot into "
            "GRUB's Xen entry (`... with Xen hypervisor`)",
        )
    if kind.strip() != "xen":
        return failed("xen", f"{HYPERVISOR_TYPE} is {kind.strip()!r}, not xen")
    caps = ctx.live.read_text(XEN_CAPABILITIES)
    if caps is None:
        return failed(
            "xen",
            f"{XEN_CAPABILITIES} is missing: xenfs is not mounted on /proc/xen "
            "(see `systemctl status proc-xen.mount`)",
        )
    if "control_d" not in caps.split():
        return failed(
            "xen", f"{XEN_CAPABILITIES} has no control_d: this is a Xen guest (domU), not dom0"
        )
    found = f"{HYPERVISOR_TYPE} is xen, {XEN_CAPABILITIES} has control_d (dom0)"
    if ctx.run is not None and ctx.run.profile == "ubuntu-precise":
        return passed("xen", f"{found}; xm toolstack: `xl info` not asked")
    done = ctx.live.run(["xl", "info"])
    if done is None:
        return failed(
            "xen", "Xen runs (dom0), but there is no `xl`: the Xen tools are not installed"
        )
    if done.returncode != 0:
        detail = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
        return failed(
            "xen",
            f"Xen runs (dom0), but `xl info` failed (exit {done.returncode}"
            f"{': ' + detail if detail else ''}); run as root, and see "
            "`systemctl status xencommons`",
        )
    info = _xl_info(done.stdout)
    shown = ", ".join(f"{key} {info[key]}" for key in XL_INFO_SHOWN if info.get(key))
    return passed("xen", f"{found}, `xl info`: {shown or 'answered'}")


GRUB_STEP = "grub-xen"  # the GRUB defaults that put Xen's options on its command line
_DOM0_MEM = re.compile(r"(?<![^\s\"'])dom0_mem=([^\s\"']+)")


def planned_dom0_mem(run: AppliedRun | None) -> str | None:
    """The `dom0_mem=` value the run's GRUB step gave Xen (the last one in its text), if any."""
    step = run.step(GRUB_STEP) if run is not None else None
    after = step.get("after") if step else None
    found = _DOM0_MEM.findall(after) if isinstance(after, str) else []
    return found[-1] if found else None


def check_dom0_mem(ctx: Context) -> CheckResult:
    """Xen booted with the dom0_mem the run put on its command line: Xen's own view of its
    command line, the `xen_commandline` of `xl info` (xend's `xm info` on ubuntu-precise,
    whose XendNode.xeninfo lists it too)."""
    run, want = ctx.run, planned_dom0_mem(ctx.run)
    assert run is not None and want is not None  # only listed for such a run
    index = run.step_index(GRUB_STEP)
    why = run.skipped(index) if index is not None else None
    if why is not None:
        return _skipped_result(run, "dom0-mem", why)
    tool = "xm" if run.profile == "ubuntu-precise" else "xl"
    done = ctx.live.run([tool, "info"])
    if done is None or done.returncode != 0:
        how = "is not installed" if done is None else f"failed (exit {done.returncode})"
        return failed("dom0-mem", f"cannot read Xen's command line: `{tool} info` {how}")
    line = _xl_info(done.stdout).get("xen_commandline")
    if line is None:
        return failed("dom0-mem", f"`{tool} info` shows no xen_commandline")
    found = _DOM0_MEM.findall(line)
    where = f"/{(run.step(GRUB_STEP) or {}).get('path', '')}"
    if not found or found[-1] != want:
        seen = f"dom0_mem={found[-1]}" if found else "no dom0_mem"
        return failed(
            "dom0-mem",
            f"Xen booted with {seen}, not dom0_mem={want} as run {run.run_id} set in {where}: "
            "dom0 may hold all the RAM; run update-grub and reboot into the Xen entry",
        )
    return passed("dom0-mem", f"Xen's command line has dom0_mem={want} (`{tool} info`)")


def _xl_info(text: str) -> dict[str, str]:
    """`xl info`'s `key : value` lines."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def check_bridge(ctx: Context) -> CheckResult:
    bridge = ctx.config.bridge
    link = ctx.live.link(bridge)
    if link is None:
        return failed("bridge", f"{bridge} does not exist; {_bridge_maker(ctx)}")
    if not link.is_bridge:
        return failed("bridge", f"{bridge} exists but is not a bridge")
    if not link.up:
        return failed("bridge", f"{bridge} is down; bring it up with `ip link set {bridge} up`")
    no_carrier = link.operstate in ("down", "lowerlayerdown", "dormant")
    carrier = f" (no port has carrier yet: state {link.operstate})" if no_carrier else ""
    return passed("bridge", f"{bridge} is a bridge and up{carrier}")


def _bridge_maker(ctx: Context) -> str:
    """What creates the bridge at boot, as the applied plan set it up."""
    bridge, run = ctx.config.bridge, ctx.run
    if run is None:
        return (
            "with no applied run to read, it is not known what should create it "
            "(ifupdown, netplan or the toolstack)"
        )
    step = run.step(BRIDGE_STEP)
    path = str(step.get("path") or "") if step else ""
    if path == INTERFACES:
        return (
            f"ifupdown creates it at boot from {path} (`auto {bridge}`, written by the "
            f"{BRIDGE_STEP} step): see `journalctl -b -u networking`"
        )
    if path.startswith("etc/netplan/"):
        return (
            f"netplan has systemd-networkd create it at boot from {path} (written by the "
            f"{BRIDGE_STEP} step): see `netplan generate` and `journalctl -b -u systemd-networkd`"
        )
    if path:
        return f"the {BRIDGE_STEP} step wrote it into {path}, which should create it at boot"
    if run.profile == "ubuntu-precise":  # xend's network-script (network-bridge) makes it
        return "the toolstack's network script creates it at boot"
    return f"run {run.run_id} has no {BRIDGE_STEP} step that says what creates it"


def check_bridge_address(ctx: Context) -> CheckResult:
    bridge, alias = ctx.config.bridge, ctx.config.alias
    if ctx.live.link(bridge) is None:
        return failed("bridge-address", f"{bridge} does not exist")
    own = ctx.live.addresses().get(bridge, [])
    if own:
        shown = ", ".join(str(a) for a in own)
        return passed(
            "bridge-address", f"{bridge} has {shown} unlabelled, so dnsmasq serves {alias}'s subnet"
        )
    return failed(
        "bridge-address",
        f"{bridge} has no unlabelled IPv4 address; dnsmasq ignores the labelled {alias} alias "
        f"and answers no guest (give {bridge} the LAN address, as xend's network-bridge does "
        "when the NIC has one)",
    )


def check_alias(ctx: Context) -> CheckResult:
    cfg = ctx.config
    label = ctx.address_label
    wanted = cfg.interface
    addresses = ctx.live.addresses()
    here = addresses.get(label, [])
    if wanted in here:
        return passed("alias", f"{wanted} on {label}")
    same_ip = [a for a in here if a.ip == wanted.ip]
    if same_ip:
        return failed(
            "alias",
            f"{same_ip[0]} on {label}: prefix /{same_ip[0].network.prefixlen}, "
            f"expected /{cfg.prefixlen}",
        )
    elsewhere = [(name, a) for name, addrs in addresses.items() for a in addrs if a.ip == wanted.ip]
    if elsewhere:
        name, addr = elsewhere[0]
        return failed("alias", f"{addr} is on {name}, expected {wanted} labelled {label}")
    hint = (
        f"; bring it up with `ifup {label}` (rc.local does at boot)" if ctx.labelled_alias else ""
    )
    return failed("alias", f"no {wanted} on {label}{hint}")


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


def _split_names(values: Iterable[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def check_files(ctx: Context) -> list[CheckResult]:
    """Each managed file and link still as the last applied run left it."""
    run = ctx.run
    if run is None:
        return []
    results = []
    for index, step in enumerate(run.steps):
        kind, path = step.get("kind"), step.get("path")
        if not path:
            continue
        if kind not in ("edit", "symlink"):
            continue
        if str(step.get("id", "")).startswith("boot-guard"):
            continue  # the boot guard's units: `xenwizard confirm` removes them by design
        name = f"{'file' if kind == 'edit' else 'link'} {path}"
        why = run.skipped(index)
        if why is not None:
            results.append(_skipped_result(run, name, why))
        elif kind == "edit":
            results.append(_file_result(ctx, run, index, step))
        else:
            results.append(_link_result(ctx, run, step))
    return results


def _skipped_result(run: AppliedRun, name: str, why: str) -> CheckResult:
    """A step the apply skipped wrote nothing: there is nothing of it to compare."""
    detail = why.removeprefix("skipped: ")
    if run.skip_packages:
        return skipped(
            name,
            f"skipped by the apply (--skip-packages): {detail}; `xenwizard apply` again once "
            "they are installed",
        )
    return skipped(name, f"skipped by run {run.run_id}: {detail}")


def _file_result(ctx: Context, run: AppliedRun, index: int, step: dict[str, Any]) -> CheckResult:
    path = str(step["path"])
    name = f"file {path}"
    try:
        current = ctx.fs.read_text(path)
    except RootError as exc:
        return failed(name, str(exc))
    after = step.get("after")
    if current is None:
        return failed(name, f"missing; run {run.run_id} wrote it")
    if after is not None:
        if current == after:
            return passed(name, f"as run {run.run_id} left it")
        line = _first_difference(after, current)
        return failed(
            name,
            f"changed since run {run.run_id} (first difference at line {line}; "
            "edited by hand?); `xenwizard plan` shows what it would change back",
        )
    sha = run.written_sha(index)
    if sha is None:
        return passed(name, f"not written by run {run.run_id} (nothing to compare)")
    if hashlib.sha256(current.encode(ENCODING, ERRORS)).hexdigest() == sha:
        return passed(name, f"as run {run.run_id} left it")
    return failed(name, f"changed since run {run.run_id} (edited by hand?)")


def _first_difference(expected: str, current: str) -> int:
    old, new = expected.split("\n"), current.split("\n")
    for number, (a, b) in enumerate(zip(old, new, strict=False), 1):
        if a != b:
            return number
    return min(len(old), len(new)) + 1


def _link_result(ctx: Context, run: AppliedRun, step: dict[str, Any]) -> CheckResult:
    path, target = str(step["path"]), str(step.get("target", ""))
    name = f"link {path}"
    try:
        host = ctx.fs.path(os.path.dirname(path)) / os.path.basename(path)
    except RootError as exc:
        return failed(name, str(exc))
    if host.is_symlink():
        actual = os.readlink(host)
        if step.get("exists") or actual == target:
            return passed(name, f"-> {actual}")
        return failed(name, f"points to {actual}, run {run.run_id} made it -> {target}")
    if host.exists() and step.get("exists"):
        return passed(name, "exists (it was there before the run)")
    return failed(name, f"missing; run {run.run_id} made it -> {target}")


def _shown(value: str | None) -> str:
    return "no TOOLSTACK line" if value is None else f"TOOLSTACK={value!r}"


def check_toolstack(ctx: Context) -> CheckResult:
    try:
        text = ctx.fs.read_text("etc/default/xen")
    except RootError as exc:
        return failed("toolstack", str(exc))
    current = None if text is None else parse_shell_vars(text).get("TOOLSTACK")
    if ctx.run is None:
        return passed("toolstack", f"{_shown(current)} (no applied run to compare with)")
    known, planned = planned_toolstack(ctx.run)
    xm_era = ctx.run.profile == "ubuntu-precise"
    if xm_era and current == "xl":
        return failed(
            "toolstack",
            "TOOLSTACK='xl': xl creates no bridge and breaks autostart on "
            "this release; set it back to empty (xm)",
        )
    if known and current != planned:
        return failed(
            "toolstack",
            f"etc/default/xen has {_shown(current)}; it had "
            f"{_shown(planned)} when run {ctx.run.run_id} was planned",
        )
    return passed(
        "toolstack",
        f"{_shown(current)}, as when run {ctx.run.run_id} was planned"
        if known
        else _shown(current),
    )


LIVE_CHECKS = (
    "xen",
    "dom0-mem",
    "bridge",
    "bridge-address",
    "alias",
    "dnsmasq",
    "dnsmasq-config",
    "dnsmasq-dhcp",
    "dhcp-confinement",
)


def not_running_system(fs: RootFS) -> str | None:
    """Why ROOT's live state cannot be seen from this process, or None when ROOT is `/` (the
    same directory, also through another path such as a bind mount)."""
    try:
        if os.path.samefile(fs.root, "/"):
            return None
    except OSError:
        pass
    return f"{fs.root} is not the running system (--root)"


def run_checks(
    fs: RootFS, live: LiveSystem | None = None, *, skip_live: str | None = None
) -> list[CheckResult]:
    """Every check, in order; never raises for a failing check. With `skip_live` (the reason,
    e.g. from `not_running_system`), the live checks are reported SKIP and only the journal and
    the files are checked."""
    first, run, config = check_run(fs)
    ctx = Context(fs=fs, live=live or KernelLive(), run=run, config=config)
    results = [first]
    if skip_live is None:
        results += _live_checks(ctx)
    else:
        why = f"not run: {skip_live}, so its live state cannot be seen from here"
        results += [skipped(name, why) for name in _live_check_names(ctx)]
    results += check_files(ctx)
    results.append(check_toolstack(ctx))
    return results


def _live_check_names(ctx: Context) -> list[str]:
    names = [n for n in LIVE_CHECKS if n != "bridge-address" or ctx.labelled_alias]
    if not ctx.confined:
        names.remove("dhcp-confinement")
    if planned_dom0_mem(ctx.run) is None:
        names.remove("dom0-mem")
    return names + isolated.check_names(ctx) + guestaccess.check_names(ctx)


def _live_checks(ctx: Context) -> list[CheckResult]:
    results = [check_xen(ctx)]
    if planned_dom0_mem(ctx.run) is not None:
        results.append(check_dom0_mem(ctx))
    results.append(check_bridge(ctx))
    if ctx.labelled_alias:
        results.append(check_bridge_address(ctx))
    results.append(check_alias(ctx))
    results += check_dnsmasq(ctx)
    if ctx.confined:
        results.append(check_dhcp_confinement(ctx))
    results += isolated.checks(ctx)
    results += guestaccess.checks(ctx)
    assert [r.name for r in results] == _live_check_names(ctx)
    return results
