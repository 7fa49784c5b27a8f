"""Fault injection at every step position of the real seed plan, each kind of fault.

Whatever fails (a command, a write, an unexpected exception, a kill), the whole root must end up
identical to before (every entry's type, bytes, mode, owner, link target), apart from the
journal and the log. Kills are simulated by forking: the child dies with os._exit at the chosen
point (as abruptly as SIGKILL: no cleanup runs), and a fresh Engine rolls back from the journal.
The real-signal variants through the CLI are in test_cli_apply_signals.py.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.kits.enginekit import (
    FakeRunner,
    diff_manifests,
    failing_step,
    fresh_root,
    manifest,
    precise_plan,
    read_only_method,
    set_read_only,
    with_step,
)
from tests.kits.helpers import PRECISE_ROOT
from xenwizard.engine import atomic
from xenwizard.engine import events as ev
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import RUNS_DIR, Journal, unfinished_runs
from xenwizard.engine.policyrcd import POLICY_RC_D, POLICY_RC_D_TEXT
from xenwizard.planning.plan import EditFile, Symlink
from xenwizard.target.rootfs import RootFS

SEED = precise_plan(PRECISE_ROOT)
ALL = list(range(len(SEED.steps)))
EDITS = [i for i, s in enumerate(SEED.steps) if isinstance(s, EditFile)]
LINKS = [i for i, s in enumerate(SEED.steps) if isinstance(s, Symlink)]
assert len(ALL) == 11 and len(EDITS) == 9, (
    "the seed plan: packages, link, six edits; the guests' forwarding file (issue 12); "
    "xen-tools.conf's block and dom0_mem in /etc/default/grub (issue 23)"
)

CASES = (
    [("command-fails", k) for k in range(len(ALL) + 1)]  # k == len: after the last step
    + [("apt-fails-halfway", 0)]
    + [(kind, k) for kind in ("enospc", "eio", "eio-after-temp") for k in EDITS]
    + [("read-only-dir", k) for k in LINKS + EDITS]
    + [(kind, k) for kind in ("exception-before", "exception-after") for k in ALL]
)
KILLS = (
    [(point, k) for point in ("after-intent", "after-result") for k in ALL]
    + [("mid-write", k) for k in EDITS]
    + [("mid-install", 0)]
)


class Tracker:
    """Knows which step is running, from the events, and applies an event-time fault."""

    def __init__(self) -> None:
        self.index = -1
        self.engine: Engine | None = None
        self.on_start: dict[int, object] = {}
        self.on_fail: dict[int, object] = {}
        self.events: list[ev.Event] = []

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)
        if isinstance(event, ev.StepStarted):
            self.index = event.index
            if event.index in self.on_start:
                self.on_start[event.index]()
        if isinstance(event, ev.StepFailed) and event.index in self.on_fail:
            self.on_fail[event.index]()

    def applying(self, k: int) -> bool:
        return self.index == k and self.engine is not None and self.engine.phase == "apply"


def step_dir(root: Path, k: int) -> Path:
    """The directory step k writes into (nearest existing one)."""
    path = root / SEED.steps[k].path
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    return parent


@pytest.mark.parametrize(("kind", "k"), CASES, ids=[f"{kind}@{k}" for kind, k in CASES])
def test_fault_leaves_the_root_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, k: int
) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    plan = precise_plan(root)
    runner = FakeRunner(root)
    tracker = Tracker()
    if kind == "command-fails":
        plan = with_step(plan, k, failing_step())
        runner.fail["fail"] = 7
    elif kind == "apt-fails-halfway":
        runner.fail["install"] = 100
        runner.partial_install = True
    elif kind in ("enospc", "eio", "eio-after-temp"):
        real_write = atomic.write_atomic
        code = errno.ENOSPC if kind == "enospc" else errno.EIO

        def broken_write(path: Path, data: bytes, **kw) -> None:
            if tracker.applying(k):
                if kind == "eio-after-temp":
                    atomic.tmp_path(path).write_bytes(data[: len(data) // 2])
                raise OSError(code, os.strerror(code), str(path))
            real_write(path, data, **kw)

        monkeypatch.setattr(atomic, "write_atomic", broken_write)
    elif kind == "read-only-dir":
        method = read_only_method(tmp_path)
        if method is None:
            pytest.skip("cannot make a directory unwritable here (no chattr, no bind mount)")
        target = step_dir(root, k)
        tracker.on_start[k] = lambda: set_read_only(target, True, method)
        tracker.on_fail[k] = lambda: set_read_only(target, False, method)
    elif kind.startswith("exception"):
        real_do = Engine._do

        def exploding_do(self, ctx, step, journal):
            if ctx.index == k and kind == "exception-before":
                raise RuntimeError("injected before")
            out = real_do(self, ctx, step, journal)
            if ctx.index == k:
                raise RuntimeError("injected after")
            return out

        monkeypatch.setattr(Engine, "_do", exploding_do)

    engine = Engine(plan, RootFS(root), runner, tracker)
    tracker.engine = engine
    result = engine.apply()
    assert result.outcome == "rolled-back", result.message
    failed = [e for e in tracker.events if isinstance(e, ev.StepFailed)]
    assert [e.index for e in failed] == [k]
    assert diff_manifests(original, manifest(root)) == []
    records = Journal.open(RootFS(root), result.run_id).records()
    assert records[-1]["outcome"] == "rolled-back"
    assert unfinished_runs(root) == []


def die() -> None:
    os._exit(137)


@pytest.mark.parametrize(("point", "k"), KILLS, ids=[f"kill-{p}@{k}" for p, k in KILLS])
def test_kill_then_rollback_leaves_the_root_as_before(tmp_path: Path, point: str, k: int) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    pid = os.fork()
    if pid == 0:  # the doomed apply
        try:
            runner = FakeRunner(root)
            tracker = Tracker()
            real_append = Journal.append

            def append(self, record) -> None:
                real_append(self, record)
                if record.get("index") == k and record["type"] == point.removeprefix("after-"):
                    die()

            def write(path: Path, data: bytes, **kw) -> None:
                if tracker.index == k:
                    atomic.tmp_path(path).write_bytes(data[:10])
                    die()

            def hook(argv) -> None:
                if argv[:2] == ["apt-get", "install"]:
                    runner._put("dnsmasq-base", lambda line: None)
                    die()

            if point.startswith("after-"):
                Journal.append = append  # type: ignore[method-assign]
            elif point == "mid-write":
                atomic.write_atomic = write
            else:
                runner.hook = hook
            Engine(precise_plan(root), RootFS(root), runner, tracker).apply()
            os._exit(3)  # the kill point was never reached
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 137
    runs = sorted(os.listdir(root / RUNS_DIR))
    assert unfinished_runs(root) == runs and len(runs) == 1
    if point == "mid-install":  # killed while apt-get ran: the temporary policy-rc.d is there
        assert (root / POLICY_RC_D).read_bytes() == POLICY_RC_D_TEXT
    runner = FakeRunner(root)
    result = Engine(None, RootFS(root), runner).rollback(runs[0])
    assert result.outcome == "rolled-back", result.message
    assert diff_manifests(original, manifest(root)) == []
    assert unfinished_runs(root) == []
    if point == "mid-install":
        assert ["dpkg", "--configure", "-a"] in runner.calls
        assert runner.calls[-1] == ["apt-get", "purge", "-y", "--", "dnsmasq-base"]
        assert set(runner.policy) == {POLICY_RC_D_TEXT}  # reused for the purge, then removed
