"""The canary guest: proof on the operator's own host that a Xen guest on the bridge gets a
lease in the configured range from the host's own dnsmasq (`xenwizard verify --guest`).

`run_canary` refuses unless Xen runs (`xl` present), the bridge exists and a dnsmasq serves it;
then, in a private directory under ROOT/run/xenwizard, it builds the guest's initramfs
(hostcheck/initramfs.py) and an xl config (the running kernel, 128 MiB, a random Xen MAC on the
bridge), starts it with `xl create` and watches dnsmasq's leases file for that MAC. Whatever
happens it cleans up: `xl destroy`, the directory, and it waits for the guest's own release of
the lease (udhcpc -R); a lease still in the file afterwards is reported in `left_behind`, never
edited out from under a running dnsmasq.

Every command goes through `runner` (engine.runner.Runner) bounded by `timeout(1)`; `xl create`
is tried again once when it does not return (it sometimes never does under emulation). Nothing
is printed: progress goes to `on_progress(line)`, so a TUI worker thread can run it.
`canary_for_applied` runs it with the answers of the last applied run, as `verify` reads them.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from xenwizard.answers.model import XEN_MAC_PREFIX, ConfigError, WizardConfig
from xenwizard.engine.journal import JournalError
from xenwizard.engine.runner import CommandRunner, Runner, RunnerError
from xenwizard.paths import STATE_DIR
from xenwizard.target.rootfs import RootError, RootFS
from xenwizard.textsafe import escape_control
from xenwizard.verify.hostcheck.applied import latest_applied_run
from xenwizard.verify.hostcheck.checks import not_running_system
from xenwizard.verify.hostcheck.initramfs import HOLD, CanaryRefused, build_initramfs
from xenwizard.verify.hostcheck.leases import (
    ServingDnsmasq,
    dnsmasq_pids,
    in_range,
    read_leases,
    serving_dnsmasq,
)

DEFAULT_TIMEOUT = 120.0  # seconds from the start to the lease
RUN_DIR = "run/xenwizard"
NAME_PREFIX = "xenwizard-canary-"
MEMORY_MIB = 128
CREATE_BOUND = 60  # seconds `xl create` may take (about 20 s under emulation)
QUERY_BOUND = 15  # `xl domid`, `xl destroy`
KILL_AFTER = 5  # timeout(1) -k: SIGKILL this long after the bound's SIGTERM
TIMED_OUT = (124, 137)  # timeout(1): the bound passed (137: it had to SIGKILL)
POLL = 0.5  # seconds between reads of the leases file
DOMAIN_POLL = 3.0  # seconds between `xl domid` checks while waiting
RELEASE_WAIT = HOLD + 20  # after the lease: the guest holds it, releases it, powers off
XL_PATHS = ("usr/sbin/xl", "usr/bin/xl", "sbin/xl")
HYPERVISOR_TYPE = "sys/hypervisor/type"
UNSUPPORTED = {
    "ubuntu-precise": (
        "not available on ubuntu-precise: its toolstack is xend/xm, and the canary is "
        "started with xl; start a guest with `xm create` by hand to check the bridge"
    )
}

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """What the canary proved: `passed`, the reason in one line, the lease it got (if any), its
    MAC, how long it took, and what it could not clean up (empty when nothing is left)."""

    passed: bool
    reason: str
    lease_ip: str | None = None
    mac: str | None = None
    seconds: float = 0.0
    left_behind: tuple[str, ...] = ()
    name: str | None = None  # the domain's name

    def line(self) -> str:
        """verify's text line: `PASS guest: ...` / `FAIL guest: ...`."""
        return f"{'PASS' if self.passed else 'FAIL'} guest: {self.reason}"

    def data(self) -> dict[str, object]:
        """verify --json's entry: a check named `guest` with the canary's details."""
        return {
            "name": "guest",
            "status": "PASS" if self.passed else "FAIL",
            "ok": self.passed,
            "reason": self.reason,
            "domain": self.name,
            "mac": self.mac,
            "lease_ip": self.lease_ip,
            "seconds": round(self.seconds, 1),
            "left_behind": list(self.left_behind),
        }


class Clock(Protocol):
    """Time as the canary sees it (tests pass a fake one that moves on when slept)."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def random_mac() -> str:
    tail = secrets.token_bytes(3)
    return XEN_MAC_PREFIX + "".join(f":{b:02x}" for b in (tail[0] & 0x7F, tail[1], tail[2]))


def bounded(argv: Sequence[str], seconds: float) -> list[str]:
    return ["timeout", "-k", str(KILL_AFTER), str(int(max(1, seconds))), *argv]


_SAFE_VALUE = re.compile(r"[A-Za-z0-9._+:/=,-]+\Z")  # paths, a MAC, names: nothing xl parses
RELEASE = re.compile(r"[A-Za-z0-9._+-]+\Z")  # `uname -r`: what Debian and Ubuntu kernels use


def _value(what: str, value: str) -> str:
    """A value for a quoted xl config string: only characters that cannot end the string or
    the line (CanaryRefused otherwise), so nothing from the root becomes a directive."""
    if not _SAFE_VALUE.match(value):
        raise CanaryRefused(f"{what} {value!r}: characters the xl config cannot carry; not used")
    return value


def xl_config(name: str, mac: str, bridge: str, kernel: str, ramdisk: str) -> str:
    """The guest's config; every value from outside this function checked by `_value`."""
    name, mac, bridge = _value("name", name), _value("MAC", mac), _value("bridge", bridge)
    kernel, ramdisk = _value("kernel", kernel), _value("ramdisk", ramdisk)
    return (
        f'name = "{name}"\n'
        'type = "pv"\n'
        f'kernel = "{kernel}"\n'
        f'ramdisk = "{ramdisk}"\n'
        'extra = "console=hvc0 rdinit=/init"\n'
        f"memory = {MEMORY_MIB}\n"
        "vcpus = 1\n"
        f'vif = [ "mac={mac},bridge={bridge}" ]\n'
        'on_poweroff = "destroy"\n'
        'on_reboot = "destroy"\n'
        'on_crash = "destroy"\n'
    )


# --- refusals --------------------------------------------------------------------------------


def _read(fs: RootFS, rel: str) -> str | None:
    try:
        return fs.read_text(rel)
    except RootError:
        return None


def kernel_release(fs: RootFS) -> str:
    """`uname -r` of the running kernel, as ROOT/proc shows it."""
    text = _read(fs, "proc/sys/kernel/osrelease")
    if text is None:
        raise CanaryRefused("cannot tell the running kernel (no /proc/sys/kernel/osrelease)")
    release = text.strip()
    if not RELEASE.match(release) or release.startswith("."):
        raise CanaryRefused(
            f"/proc/sys/kernel/osrelease is {escape_control(release[:80])!r}; expected a kernel "
            "release of letters, digits and . _ + - only"
        )
    return release


def preflight(fs: RootFS, config: WizardConfig) -> tuple[ServingDnsmasq, str]:
    """(the dnsmasq serving the bridge, the running kernel) or CanaryRefused: Xen, xl, the
    bridge, dnsmasq and its leases file, the kernel image."""
    kind = _read(fs, HYPERVISOR_TYPE)
    if kind is None or kind.strip() != "xen":
        found = "missing" if kind is None else repr(kind.strip())
        raise CanaryRefused(
            f"Xen is not running (/{HYPERVISOR_TYPE} is {found}); reboot into GRUB's Xen entry"
        )
    if not any(fs.path(p).is_file() for p in XL_PATHS):
        raise CanaryRefused("Xen runs, but there is no `xl`: the Xen tools are not installed")
    bridge = config.bridge
    if not fs.path(f"sys/class/net/{bridge}/bridge").is_dir():
        what = "is not a bridge" if fs.path(f"sys/class/net/{bridge}").exists() else "is missing"
        raise CanaryRefused(f"the bridge {bridge} {what}; `xenwizard verify` says why")
    served = serving_dnsmasq(fs, bridge)
    if isinstance(served, str):
        raise CanaryRefused(served)
    if served.leases_file is None:
        raise CanaryRefused(
            f"dnsmasq (pid {served.pid}) runs with leasefile-ro: it keeps no leases file, so "
            "the canary's lease cannot be seen"
        )
    kernel = kernel_release(fs)
    if not fs.path(f"boot/vmlinuz-{kernel}").is_file():
        raise CanaryRefused(f"no /boot/vmlinuz-{kernel}: the canary boots the running kernel")
    return served, kernel


# --- the run ---------------------------------------------------------------------------------


class _Canary:
    """One canary run's state, so that every path out of it can clean up what it made."""

    def __init__(
        self, fs: RootFS, config: WizardConfig, runner: Runner, progress: Progress, clock: Clock
    ):
        self.fs, self.config, self.runner = fs, config, runner
        self.progress, self.clock = progress, clock
        self.name = NAME_PREFIX + secrets.token_hex(2)
        self.mac = random_mac()
        self.workdir: Path | None = None
        self.made_dirs: list[Path] = []
        self.domid: str | None = None  # the domain this run created, once `xl create` made it
        self.created = False  # an `xl create` of ours ran: a domain of our name now is ours
        self.leases_file = ""
        self.left: list[str] = []

    def xl(self, args: Sequence[str], seconds: float) -> tuple[int, list[str]]:
        """Run `xl ARGS` bounded; (exit status, its output lines, control characters escaped)."""
        lines: list[str] = []
        try:
            code = self.runner.run(bounded(["xl", *args], seconds), lines.append)
        except RunnerError as exc:
            return 127, [str(exc)]
        return code, [escape_control(line) for line in lines]

    def domain_exists(self) -> bool:
        return self.xl(["domid", self.name], QUERY_BOUND)[0] == 0

    def domain_gone(self) -> bool:
        """True only when `xl domid` answers twice, DOMAIN_POLL s apart, that there is no such
        domain (exit 1: "Can't get domid of domain name ..., maybe this domain does not exist",
        xl_misc.c main_domid). An xl killed by a signal or by its bound is no answer: on a
        loaded host (seen under emulation) that was taken for a guest that had powered off, and
        a booting guest was destroyed before it could ask for its lease."""
        for attempt in (1, 2):
            if self.xl(["domid", self.name], QUERY_BOUND)[0] != 1:
                return False
            if attempt == 1:
                self.clock.sleep(DOMAIN_POLL)
        return True

    def lease(self) -> str | None:
        found = read_leases(self.fs, self.leases_file).get(self.mac)
        return found.ip if found else None

    def make_workdir(self) -> Path:
        """ROOT/run/xenwizard/canary-XXXX, 0700; run/xenwizard made 0700 when missing."""
        parent = self.fs.path(RUN_DIR)
        for directory in (parent.parent, parent):
            if not directory.exists():
                directory.mkdir(mode=0o700)
                self.made_dirs.append(directory)
        if parent.is_symlink() or not parent.is_dir():
            raise CanaryRefused(f"/{RUN_DIR} is not a directory; remove it")
        self.workdir = Path(tempfile.mkdtemp(prefix="canary-", dir=parent))
        for path in (str(self.workdir), str(self.fs.path("boot"))):
            if any(c in path for c in '"\\\n'):
                raise CanaryRefused(f"{path}: a quote, backslash or newline in it; not usable")
        return self.workdir

    def find_domid(self) -> str | None:
        """The id of the domain named ours, from `xl domid` (None: no such domain)."""
        code, lines = self.xl(["domid", self.name], QUERY_BOUND)
        found = next((ln.strip() for ln in lines if ln.strip().isdigit()), None)
        return found if code == 0 else None

    def start(self, config_path: Path, deadline: float) -> str | None:
        """`xl create`, tried once more when it hangs; None when the guest runs, else why not.
        A domain of the same name that was there before is not ours: refused, never touched."""
        if self.domain_exists():
            return f"a domain named {self.name} already exists; it is not the canary's, left alone"
        for attempt in (1, 2):
            bound = min(CREATE_BOUND, max(1.0, deadline - self.clock.now()))
            self.progress(f"starting {self.name} ({self.mac} on {self.config.bridge}): xl create")
            self.created = True
            code, lines = self.xl(["create", str(config_path)], bound)
            if code == 0:
                self.domid = self.find_domid()
                return None
            if code not in TIMED_OUT:
                detail = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")
                return f"`xl create` failed (exit {code}): {detail}"
            self.domid = self.find_domid()  # it was not there before: made by this create
            if self.lease() is not None or self.domid is not None:
                return None  # it hung after the guest was up: watch the guest as usual
            if attempt == 1:
                self.progress(f"xl create did not return within {int(bound)} s; once more")
        return f"`xl create` did not return within {CREATE_BOUND} s, twice"

    def wait_for_lease(self, deadline: float, started: float) -> tuple[str | None, str | None]:
        """(ip, None) once dnsmasq leased the MAC, or (None, why not) at the deadline or when
        the guest powered off without one."""
        next_check = self.clock.now() + DOMAIN_POLL
        next_note = self.clock.now()
        while True:
            ip = self.lease()
            if ip is not None:
                return ip, None
            now = self.clock.now()
            if now >= deadline:
                return None, f"within {round(now - started)} s"
            if now >= next_note:
                left = int(deadline - now)
                self.progress(f"waiting for dnsmasq to lease {self.mac} ({left} s left)")
                next_note = now + 10
            if now >= next_check:
                if self.domain_gone():
                    ip = self.lease()
                    if ip is not None:
                        return ip, None
                    elapsed = round(self.clock.now() - started)
                    return None, f"before the guest gave up and powered off ({elapsed} s)"
                next_check = self.clock.now() + DOMAIN_POLL
            self.clock.sleep(POLL)

    def wait_for_release(self) -> None:
        """The guest holds its lease HOLD s, releases it and powers off: wait for that."""
        self.progress("waiting for the guest to release its lease and power off")
        until = self.clock.now() + RELEASE_WAIT
        while self.clock.now() < until and not self.domain_gone():
            self.clock.sleep(DOMAIN_POLL)

    def cleanup(self) -> None:
        """Destroy the domain, remove the files; note anything that stays."""
        self.progress("cleaning up")
        if self.domid is None and self.created:  # a create that failed or was cut short
            self.domid = self.find_domid()
        if self.domid is not None:  # by id: only the domain this run created
            code, lines = self.xl(["destroy", self.domid], QUERY_BOUND)
            if code != 0 and self.find_domid() == self.domid:
                detail = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
                self.left.append(
                    f"domain {self.name} (xl destroy exit {code}{': ' + detail if detail else ''})"
                    f"; remove it with `xl destroy {self.domid}`"
                )
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            if self.workdir.exists():
                self.left.append(f"{self.workdir}; remove it with `rm -r {self.workdir}`")
        for directory in reversed(self.made_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        if self.leases_file and self.lease() is not None:
            self.left.append(
                f"the lease of {self.mac} in {self.leases_file} (its release did not reach "
                f"dnsmasq); it expires after {self.config.lease}"
            )


def _diagnosis(fs: RootFS) -> str:
    """A hint for a missing lease, from what the host shows now."""
    if not dnsmasq_pids(fs):
        return "dnsmasq is not running"
    return "see dnsmasq's log (`journalctl -u dnsmasq`) and `xenwizard verify`"


def run_canary(
    root: Path,
    config: WizardConfig,
    runner: Runner,
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Progress | None = None,
    *,
    clock: Clock | None = None,
) -> CanaryResult:
    """Start the canary guest on `config`'s bridge and wait up to `timeout` s for its lease;
    never raises for a failed check, always cleans up (see the module doc)."""
    clock = clock or SystemClock()
    progress = on_progress or (lambda _line: None)
    started = clock.now()
    deadline = started + timeout
    try:
        fs = RootFS(root)
    except RootError as exc:
        return CanaryResult(False, f"not started: {exc}")
    try:
        served, kernel = preflight(fs, config)
    except (CanaryRefused, RootError) as exc:
        return CanaryResult(False, f"not started: {exc}", seconds=clock.now() - started)
    canary = _Canary(fs, config, runner, progress, clock)
    canary.leases_file = served.leases_file or ""
    bridge = config.bridge
    passed, ip = False, None
    try:
        progress("building the canary's initramfs")
        workdir = canary.make_workdir()
        ramdisk = workdir / "initrd.gz"
        ramdisk.write_bytes(build_initramfs(fs, kernel))
        cfg = workdir / "canary.cfg"
        kernel_path = str(fs.path(f"boot/vmlinuz-{kernel}"))
        cfg.write_text(xl_config(canary.name, canary.mac, bridge, kernel_path, str(ramdisk)))
        why = canary.start(cfg, deadline)
        if why is not None:
            reason = f"{canary.name} did not start: {why}"
        else:
            ip, missing = canary.wait_for_lease(deadline, started)
            if ip is None:
                reason = (
                    f"no lease for {canary.mac} from dnsmasq on {bridge} {missing}; "
                    f"{_diagnosis(fs)}"
                )
            elif not in_range(ip, config.dhcp_start, config.dhcp_end):
                reason = (
                    f"{canary.name} ({canary.mac}) got {ip}, outside {config.dhcp_range}: "
                    f"dnsmasq on {bridge} hands out addresses from another range"
                )
            else:
                passed = True
                seconds = round(clock.now() - started)
                reason = (
                    f"{canary.name} ({canary.mac}) got {ip} from dnsmasq on {bridge} in "
                    f"{seconds} s (range {config.dhcp_range})"
                )
                progress(f"lease {ip} for {canary.mac}")
            if ip is not None:
                canary.wait_for_release()
    except (CanaryRefused, RootError) as exc:
        reason = f"not started: {exc}"
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        reason = f"not started: {where}{exc.strerror or exc}"
    finally:
        canary.cleanup()
    return CanaryResult(
        passed,
        reason,
        lease_ip=ip,
        mac=canary.mac,
        seconds=clock.now() - started,
        left_behind=tuple(canary.left),
        name=canary.name,
    )


def canary_for_applied(
    root: Path,
    runner: Runner | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Progress | None = None,
    *,
    assume_live: bool = False,
) -> CanaryResult:
    """`run_canary` with the answers of the last applied run (as `xenwizard verify` reads
    them); refused when ROOT is not the running system (unless `assume_live`), when there is
    no applied run, or when its profile has no xl (ubuntu-precise). This is what
    `verify --guest` and the TUI's "check with a guest" call."""
    try:
        fs = RootFS(root)
    except RootError as exc:
        return CanaryResult(False, f"not started: {exc}")
    elsewhere = None if assume_live else not_running_system(fs)
    if elsewhere is not None:
        return CanaryResult(False, f"not started: {elsewhere}; the canary runs on the live host")
    try:
        run = latest_applied_run(fs)
    except (OSError, ValueError, JournalError) as exc:
        return CanaryResult(False, f"not started: cannot read the journal: {exc}")
    if run is None:
        where = f"{fs.root.as_posix().rstrip('/')}/{STATE_DIR}"
        return CanaryResult(
            False, f"not started: no applied run under {where}: nothing to check the guest with"
        )
    if run.profile in UNSUPPORTED:
        return CanaryResult(False, UNSUPPORTED[run.profile])
    try:
        config = run.config()
    except ConfigError as exc:
        return CanaryResult(False, f"not started: run {run.run_id}'s answers are not valid: {exc}")
    return run_canary(root, config, runner or CommandRunner("/"), timeout, on_progress)
