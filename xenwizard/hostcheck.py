"""`xenwizard verify`: after the reboot, is the host what the last apply set up?

The checks take the target root (files and the journal of the last applied run), and a
`LiveSystem` that reads the running kernel and processes (interfaces, addresses, dnsmasq). They
return one `CheckResult` per check and never raise for a failed check: the reason says what was
found and what to do. `KernelLive` is the real reader (psutil, /sys, /proc); tests pass fakes.

What is checked, in order:
  run              the latest applied run under ROOT/var/lib/xenwizard (its answers drive the rest)
  bridge           BR exists, is a bridge, and is up
  bridge-address   BR has an unlabelled IPv4 address: without one, dnsmasq ignores the labelled
                   BR:0 alias ("DHCP packet received on BR which has no address")
  alias            the host address with the configured prefix, labelled BR:0
  dnsmasq          a dnsmasq process runs in this network namespace
  dnsmasq-config   one of them reads our settings file, was started after it last changed, and
                   its configuration names interface=BR
  dnsmasq-dhcp     that process has the DHCP port (UDP 67) open
  file PATH        each file the run wrote is still as the run left it
  link PATH        each link the run made is still there
  toolstack        TOOLSTACK in etc/default/xen is what it was when the run was planned

The live checks look at the kernel this process runs on (in tests: inside a network namespace);
`--root` only says where the files and the journal are.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from xenwizard.config import ConfigError, WizardConfig, build_config
from xenwizard.journal import STATE_DIR, Journal, list_runs, runs_dir
from xenwizard.probe import parse_shell_vars
from xenwizard.rootfs import ENCODING, ERRORS, RootError, RootFS

DHCP_PORT = 67
DEFAULT_DNSMASQ_CONF = "/etc/dnsmasq.conf"  # dnsmasq's compiled-in default without -C
DNSMASQ_SETTINGS = "etc/dnsmasq.d/xenwizard.conf"
ALIAS_STEP = "alias-interface"
DNSMASQ_STEP = "dnsmasq"


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    reason: str

    @property
    def status(self) -> str:
        return "PASS" if self.ok else "FAIL"

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.reason}"

    def data(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "ok": self.ok, "reason": self.reason}


def passed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, True, reason)


def failed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, False, reason)


# --- what the live system looks like ------------------------------------------------------------


@dataclass(frozen=True)
class LinkState:
    name: str
    is_bridge: bool
    up: bool  # administratively up (IFF_UP)
    operstate: str = "unknown"  # the kernel's view: "up" once a port has carrier


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    name: str
    cmdline: tuple[str, ...]
    started: float  # epoch seconds
    same_netns: bool | None  # None: could not tell (not root)
    udp_ports: frozenset[int] | None  # None: could not tell (not root)


class LiveSystem(Protocol):
    """Readers of the running system; `KernelLive` is the real one."""

    def link(self, name: str) -> LinkState | None: ...

    def addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        """IPv4 addresses by label: an address labelled BR:0 is under 'BR:0', not 'BR'."""
        ...

    def processes(self, name: str) -> list[ProcessInfo]: ...

    def read_text(self, path: str) -> str | None:
        """A file as the processes see it (host path), None when absent or unreadable."""
        ...

    def mtime(self, path: str) -> float | None: ...


class KernelLive:
    """The running kernel through /sys, psutil and /proc (labels come from getifaddrs)."""

    def link(self, name: str) -> LinkState | None:
        base = Path("/sys/class/net") / name
        if "/" in name or not base.exists():
            return None
        try:
            flags = int((base / "flags").read_text().strip(), 16)
        except (OSError, ValueError):
            flags = 0
        try:
            operstate = (base / "operstate").read_text().strip()
        except OSError:
            operstate = "unknown"
        return LinkState(
            name=name, is_bridge=(base / "bridge").is_dir(), up=bool(flags & 1), operstate=operstate
        )

    def addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        import socket

        import psutil

        found: dict[str, list[ipaddress.IPv4Interface]] = {}
        for label, addrs in psutil.net_if_addrs().items():
            for addr in addrs:
                if addr.family == socket.AF_INET and addr.netmask:
                    found.setdefault(label, []).append(
                        ipaddress.IPv4Interface(f"{addr.address}/{addr.netmask}")
                    )
        return found

    def processes(self, name: str) -> list[ProcessInfo]:
        import psutil

        own_ns = _netns_id("self")
        found = []
        for proc in psutil.process_iter(["pid", "name", "cmdline", "create_time"]):
            info = proc.info
            cmdline = tuple(info.get("cmdline") or ())
            if info.get("name") != name and not (cmdline and os.path.basename(cmdline[0]) == name):
                continue
            netns = _netns_id(str(info["pid"]))
            same = None if netns is None or own_ns is None else netns == own_ns
            try:
                ports: frozenset[int] | None = frozenset(
                    c.laddr.port for c in proc.net_connections(kind="udp4") if c.laddr
                )
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                ports = None
            found.append(
                ProcessInfo(
                    pid=info["pid"],
                    name=info.get("name") or name,
                    cmdline=cmdline,
                    started=info.get("create_time") or 0.0,
                    same_netns=same,
                    udp_ports=ports,
                )
            )
        return found

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, encoding=ENCODING, errors=ERRORS) as handle:
                return handle.read()
        except OSError:
            return None

    def mtime(self, path: str) -> float | None:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None


def _netns_id(pid: str) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return st.st_dev, st.st_ino


# --- the last applied run -----------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedRun:
    """What the latest applied run planned and wrote, from its journal."""

    run_id: str
    plan: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)

    @property
    def profile(self) -> str:
        return str(self.plan.get("profile", ""))

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.plan.get("steps", []))

    def step(self, step_id: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s.get("id") == step_id), None)

    def config(self) -> WizardConfig:
        answers = {k: v for k, v in dict(self.plan.get("answers", {})).items() if k != "profile"}
        return build_config(answers)

    def written_sha(self, index: int) -> str | None:
        """sha256 of what the run wrote for step `index` (deferred edits have no plan text)."""
        shas = [
            r.get("sha_after")
            for r in self.records
            if r.get("type") == "intent" and r.get("index") == index and r.get("kind") == "edit"
        ]
        return shas[-1] if shas else None


def latest_applied_run(fs: RootFS) -> AppliedRun | None:
    """The newest run whose outcome is 'applied' (not rolled back since), or None."""
    applied = [info for info in list_runs(fs) if info.state == "applied"]
    if not applied:
        return None
    run_id = applied[-1].run_id
    directory = runs_dir(fs) / run_id
    plan = json.loads((directory / "plan.json").read_text(encoding="utf-8"))
    return AppliedRun(run_id, plan, Journal(directory).records())


# --- dnsmasq's configuration as the process sees it ---------------------------------------------


@dataclass(frozen=True)
class DnsmasqSources:
    """The files a dnsmasq process reads and the options its command line gives."""

    files: tuple[str, ...]
    options: tuple[tuple[str, str], ...]  # (name, value) from the command line and the files


_SHORT = {"-C": "conf-file", "-7": "conf-dir", "-i": "interface", "-I": "except-interface"}


def _cmdline_options(cmdline: Sequence[str]) -> list[tuple[str, str]]:
    """The options we care about from a dnsmasq command line (long and short forms)."""
    opts: list[tuple[str, str]] = []
    args = list(cmdline[1:])
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            if not sep and name in ("conf-file", "conf-dir", "interface", "except-interface"):
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            opts.append((name, value))
        elif arg[:2] in _SHORT:
            value = arg[2:]
            if not value and i + 1 < len(args):
                value = args[i + 1]
                i += 1
            opts.append((_SHORT[arg[:2]], value))
        i += 1
    return opts


def _file_options(text: str) -> list[tuple[str, str]]:
    opts = []
    for line in text.splitlines():
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        name, _, value = body.partition("=")
        opts.append((name.strip(), value.strip()))
    return opts


def _conf_dir_files(spec: str, listdir: Callable[[str], list[str]]) -> list[str]:
    """Files a `conf-dir=DIR[,.ext|,*.pattern...]` reads, as dnsmasq selects them."""
    directory, *filters = spec.split(",")
    include = [f[1:] for f in filters if f.startswith("*")]
    exclude = [f for f in filters if f and not f.startswith("*")]
    chosen = []
    for name in sorted(listdir(directory)):
        if name.startswith(".") or name.endswith("~") or (name[:1] == "#" and name[-1:] == "#"):
            continue
        if include and not any(name.endswith(suffix) for suffix in include):
            continue
        if any(name.endswith(suffix) for suffix in exclude):
            continue
        chosen.append(os.path.join(directory, name))
    return chosen


def _listdir(path: str) -> list[str]:
    try:
        return [n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n))]
    except OSError:
        return []


def dnsmasq_sources(
    cmdline: Sequence[str],
    read_text: Callable[[str], str | None],
    listdir: Callable[[str], list[str]] = _listdir,
) -> DnsmasqSources:
    """Follow -C/--conf-file and -7/--conf-dir (and the same lines inside files) a few levels."""
    cmd_opts = _cmdline_options(cmdline)
    files: list[str] = []
    options: list[tuple[str, str]] = list(cmd_opts)
    pending: list[tuple[str, str]] = [o for o in cmd_opts if o[0] in ("conf-file", "conf-dir")]
    if not any(name == "conf-file" for name, _ in cmd_opts):
        pending.insert(0, ("conf-file", DEFAULT_DNSMASQ_CONF))
    for _depth in range(4):
        if not pending:
            break
        found_now: list[tuple[str, str]] = []
        for kind, value in pending:
            paths = [value] if kind == "conf-file" else _conf_dir_files(value, listdir)
            for path in paths:
                if path in files or path in ("-", "/dev/null"):
                    continue
                files.append(path)
                text = read_text(path)
                if text is None:
                    continue
                opts = _file_options(text)
                options.extend(opts)
                found_now += [o for o in opts if o[0] in ("conf-file", "conf-dir")]
        pending = found_now
    return DnsmasqSources(tuple(files), tuple(options))


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


# --- the checks ---------------------------------------------------------------------------------


@dataclass
class Context:
    fs: RootFS
    live: LiveSystem
    run: AppliedRun | None
    config: WizardConfig

    @property
    def labelled_alias(self) -> bool:
        """The seed's layout: the host address is the labelled alias BR:0 (rc.local ifup)."""
        return self.run is None or self.run.step(ALIAS_STEP) is not None

    @property
    def address_label(self) -> str:
        return self.config.alias if self.labelled_alias else self.config.bridge

    @property
    def dnsmasq_settings(self) -> str:
        step = self.run.step(DNSMASQ_STEP) if self.run else None
        return str(step["path"]) if step and step.get("path") else DNSMASQ_SETTINGS


def check_run(fs: RootFS) -> tuple[CheckResult, AppliedRun | None, WizardConfig]:
    where = f"{fs.root.as_posix().rstrip('/')}/{STATE_DIR}"
    try:
        run = latest_applied_run(fs)
    except (OSError, ValueError) as exc:
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


def check_bridge(ctx: Context) -> CheckResult:
    bridge = ctx.config.bridge
    link = ctx.live.link(bridge)
    if link is None:
        return failed(
            "bridge", f"{bridge} does not exist; the toolstack's network script creates it at boot"
        )
    if not link.is_bridge:
        return failed("bridge", f"{bridge} exists but is not a bridge")
    if not link.up:
        return failed("bridge", f"{bridge} is down; bring it up with `ip link set {bridge} up`")
    no_carrier = link.operstate in ("down", "lowerlayerdown", "dormant")
    carrier = f" (no port has carrier yet: state {link.operstate})" if no_carrier else ""
    return passed("bridge", f"{bridge} is a bridge and up{carrier}")


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
        if any(_same_file(f, settings) for f in sources.files):
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
        if kind == "edit":
            results.append(_file_result(ctx, run, index, step))
        elif kind == "symlink":
            results.append(_link_result(ctx, run, step))
    return results


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


def planned_toolstack(run: AppliedRun) -> tuple[bool, str | None]:
    """(known, value) of TOOLSTACK when the run was planned; value None means no such line."""
    facts = run.plan.get("facts")
    if isinstance(facts, dict) and "toolstack" in facts:
        return True, facts["toolstack"]
    return False, None


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


def run_checks(fs: RootFS, live: LiveSystem | None = None) -> list[CheckResult]:
    """Every check, in order; never raises for a failing check."""
    live = live or KernelLive()
    first, run, config = check_run(fs)
    ctx = Context(fs=fs, live=live, run=run, config=config)
    results = [first, check_bridge(ctx)]
    if ctx.labelled_alias:
        results.append(check_bridge_address(ctx))
    results.append(check_alias(ctx))
    results += check_dnsmasq(ctx)
    results += check_files(ctx)
    results.append(check_toolstack(ctx))
    return results


# --- a warning before applying ------------------------------------------------------------------
