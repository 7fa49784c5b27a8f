"""The boot guard after the reboot: is one pending, `xenwizard confirm` it, or let it expire.

A guard is pending while its units are in the target (the apply wrote them; `confirm` removes
them, a rollback does too). Its run is the latest run still rolled-back-able that wrote the
guard's service. `expire` (the guard's own service, N minutes after boot) runs verify and, when
verify passes on the live host, the canary guest, then rolls that run back through the Engine
with the reason ("not confirmed within N min", and verify's failures or the canary's verdict),
and reboots a live root; `confirm` runs verify and, when it passes (or with --anyway),
makes the Xen entry GRUB's saved default and removes the guard.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xenwizard.edits import EditError, grubenv, guardunits
from xenwizard.engine import atomic
from xenwizard.engine.executor import Engine, EventCallback, RunResult
from xenwizard.engine.freshness import link_location
from xenwizard.engine.journal import Journal, list_runs
from xenwizard.engine.lock import LockBusy, RunLock
from xenwizard.engine.runner import Runner
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.guardfiles import guard_files
from xenwizard.verify.hostcheck import CheckResult, not_running_system, run_checks
from xenwizard.verify.hostcheck.canary import CanaryResult, canary_for_applied

DEFAULT_MINUTES = 10
# The canary's bound at expiry: a server left unconfirmed waits at most this long more for its
# rollback (a lease takes about a minute on the emulated test VM, seconds on hardware).
GUARD_CANARY_SECONDS = 120.0
Verify = Callable[[RootFS], list[CheckResult]]
GuestCheck = Callable[[RootFS], "CanaryResult | None"]


class GuardError(RuntimeError):
    """The guard cannot do what was asked; one line for the operator."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A boot guard waiting for `xenwizard confirm`: its run, deadline and Xen entry."""

    run_id: str
    minutes: int
    entry: str | None  # the Xen entry the run's one-shot boot named


def reboot_advice(minutes: int, root_option: str = "") -> list[str]:
    """What apply's last lines and the Done page say when the guard is installed."""
    return [
        f"Reboot, log in again within {minutes} minutes and run `xenwizard confirm{root_option}`;",
        "otherwise the boot guard rolls this run back and the host comes back as it was.",
    ]


def verify(fs: RootFS) -> list[CheckResult]:
    """`xenwizard verify` of the root (the live checks only when it is the running system)."""
    return run_checks(fs, skip_live=not_running_system(fs))


def guest_check(fs: RootFS) -> CanaryResult | None:
    """The canary guest on the live host (None on any other root: no guest can start there)."""
    if not fs.is_live:
        return None
    return canary_for_applied(fs.root, timeout=GUARD_CANARY_SECONDS)


def pending(fs: RootFS) -> Pending | None:
    """The pending guard, or None (no guard files, or no run of xenwizard's wrote them)."""
    if not guard_files(fs):
        return None
    for info in reversed(list_runs(fs)):
        if info.rollbackable and guardunits.SERVICE_PATH in info.files:
            return _pending_of(fs, info.run_id)
    return None


def _pending_of(fs: RootFS, run_id: str) -> Pending:
    journal = Journal(fs, run_id)  # a reader: the run directory opened and checked per use
    entry = next(
        (
            r.get("entry")
            for r in reversed(journal.records())
            if r.get("type") == "intent" and r.get("kind") == "grubenv"
        ),
        None,
    )
    minutes = DEFAULT_MINUTES
    try:
        plan = json.loads(journal.read("plan.json") or b"{}")
        value = plan.get("answers", {}).get("confirm-within", DEFAULT_MINUTES)
        if isinstance(value, int) and not isinstance(value, bool):
            minutes = value
    except (ValueError, AttributeError):
        pass
    return Pending(run_id, minutes, entry)


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.failed]


def expire_reason(
    guard: Pending, results: list[CheckResult], guest: CanaryResult | None = None
) -> str:
    """Why the guard rolls the run back, as history and the log say it."""
    reason = f"boot guard: not confirmed within {guard.minutes} min"
    failed = failures(results)
    if failed:
        reason += "; verify failed: " + "; ".join(f"{r.name}: {r.reason}" for r in failed)
    elif guest is not None:
        reason += f"; canary guest {'passed' if guest.passed else 'failed'}: {guest.reason}"
    return reason


def expire(
    fs: RootFS,
    runner: Runner,
    on_event: EventCallback | None,
    check: Verify = verify,
    guest: GuestCheck = guest_check,
) -> RunResult | None:
    """Roll the guard's run back, and first any run applied after it, newest first (None: no
    pending guard, nothing done); a live root reboots after a rollback that succeeded (after a
    failed one it stays up for the operator). The canary runs only when verify passed: a
    failed check already says why, and the server's way back is not delayed for it."""
    guard = pending(fs)
    if guard is None:
        return None
    results = check(fs)
    reason = expire_reason(guard, results, None if failures(results) else guest(fs))
    runs = list_runs(fs)
    started = next(info.started for info in runs if info.run_id == guard.run_id)
    later = [i.run_id for i in runs if i.started > started and i.rollbackable]
    engine = Engine(None, fs, runner, on_event)
    for run_id in reversed(later):
        first = engine.rollback(run_id, f"{reason} (applied after run {guard.run_id})")
        if first.outcome != "rolled-back":
            return first
    result = engine.rollback(guard.run_id, reason)
    if fs.is_live and result.outcome == "rolled-back":
        runner.run(["systemctl", "reboot"], lambda _line: None)
    return result


def confirm(fs: RootFS, runner: Runner, on_line: Callable[[str], None]) -> list[str]:
    """Make the Xen entry GRUB's saved default and remove the guard; what was done, one line
    each. The caller has run verify. A later rollback still works: the run's undo of a guard
    file that is gone is "nothing-to-undo", and grubenv is put back as it was before the run.
    Holds the run lock, so it never races the guard's own expire (which rolls back under it)."""
    lock = RunLock(fs, "confirm")
    try:
        lock.acquire()
    except LockBusy as exc:
        raise GuardError(str(exc)) from None
    try:
        return _confirm(fs, runner, on_line)
    finally:
        lock.release()


def _confirm(fs: RootFS, runner: Runner, on_line: Callable[[str], None]) -> list[str]:
    guard = pending(fs)
    if guard is None:
        raise GuardError("no pending boot guard")
    done = []
    if guard.entry:
        path = fs.path(grubenv.PATH)
        try:
            current = fs.read_bytes(grubenv.PATH, limit=grubenv.SIZE * 4)
            new = grubenv.set_vars(current, {"saved_entry": guard.entry, "next_entry": None})
        except EditError as exc:
            raise GuardError(f"{grubenv.PATH}: {exc}") from None
        mode = os.lstat(path).st_mode & 0o7777 if current is not None else 0o644
        atomic.write_atomic(path, new, mode=mode, root=fs)
        done.append(f"GRUB's default is now {guard.entry!r} ({grubenv.PATH} saved_entry)")
    else:
        done.append(f"run {guard.run_id} made no one-shot boot; GRUB's default left as it is")
    live = fs.is_live
    if live:
        on_line(f"$ systemctl stop {guardunits.NAME}.timer")
        runner.run(["systemctl", "stop", f"{guardunits.NAME}.timer"], on_line)
    for rel in guard_files(fs):
        atomic.unlink_at(Path(link_location(fs, rel)), fs)  # a link itself, not its target
        done.append(f"removed /{rel}")
    if live:
        on_line("$ systemctl daemon-reload")
        runner.run(["systemctl", "daemon-reload"], on_line)
        done.append("systemd reloaded: the guard's timer is gone")
    done.append(f"boot guard of run {guard.run_id} confirmed; `xenwizard rollback` still undoes it")
    return done
