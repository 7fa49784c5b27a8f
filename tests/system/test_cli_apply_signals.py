"""Real signals against a real `xenwizard apply` process, paused at every step.

SIGHUP (with the output pipe closed too, as when an SSH session drops) must not change the
result: the run completes, or rolls back after a later failure, as if the operator had stayed.
SIGKILL leaves an unfinished journal: later commands warn about it and `xenwizard rollback`
restores the whole tree. A second apply while one runs is refused by the lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kits.enginekit import diff_manifests, fresh_root, manifest, precise_plan
from tests.kits.helpers import PRECISE_ROOT, REPO, reference_applied, run_cli
from xenwizard.engine.journal import Journal, list_runs
from xenwizard.engine.skipping import skipped_steps
from xenwizard.planning.plan import EditFile
from xenwizard.target.rootfs import RootFS

SEED = precise_plan(PRECISE_ROOT)
STEPS = list(range(len(SEED.steps)))
EDITS = [i for i, s in enumerate(SEED.steps) if isinstance(s, EditFile)]


# What these runs (--skip-packages) skip: step 0 installs packages, and the GRUB step waits for
# the Xen entry they bring; each journals `skipped`, no intent and no result.
SKIPPED = set(skipped_steps(SEED, RootFS(PRECISE_ROOT), skip_packages=True))


def pause_point(k: int, when: str = "intent") -> str:
    return f"skipped:{k}" if k in SKIPPED else f"{when}:{k}"


class Paused:
    """A `python -m tests.kits.enginekit_driver apply ...` process, waiting at a pause point."""

    def __init__(self, tmp_path: Path, root: Path, pause: str, fail_after: int | None = None):
        self.ready = tmp_path / "ready"
        self.go = tmp_path / "go"
        env = {
            **os.environ,
            "XW_PAUSE": pause,
            "XW_READY": str(self.ready),
            "XW_GO": str(self.go),
        }
        if fail_after is not None:
            env["XW_FAIL_AFTER"] = str(fail_after)
        argv = ["apply", "--yes", "--skip-packages", "--root", str(root)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.kits.enginekit_driver", *argv],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out, err = self.proc.communicate(timeout=10)
                pytest.fail(f"driver never paused (rc {self.proc.returncode}): {out!r} {err!r}")
            time.sleep(0.005)

    def resume(self) -> None:
        self.go.touch()

    def delivered(self, timeout: float = 10) -> None:
        """Wait until no signal is pending for the process: the kernel has delivered what was
        sent, and Python runs its handler before the paused driver looks at the go file."""
        deadline = time.monotonic() + timeout
        status = Path(f"/proc/{self.proc.pid}/status")
        while True:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["SigPnd"], 16) == 0 and int(fields["ShdPnd"], 16) == 0:
                return
            if time.monotonic() > deadline:
                pytest.fail("the signals sent were never delivered")
            time.sleep(0.002)

    def wait(self) -> int:
        return self.proc.wait(timeout=60)


@pytest.mark.parametrize("k", STEPS)
@pytest.mark.parametrize("later_failure", [False, True], ids=["completes", "fails-later"])
def test_sighup_and_a_dead_terminal_change_nothing(
    tmp_path: Path, k: int, later_failure: bool
) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    last = len(SEED.steps) - 1
    run = Paused(tmp_path, root, pause_point(k), fail_after=last if later_failure else None)
    run.proc.send_signal(signal.SIGHUP)
    run.proc.stdout.close()  # the terminal is gone: every later print meets EPIPE
    run.proc.stderr.close()
    run.delivered()  # the signal lands while still paused
    run.resume()
    code = run.wait()
    info = list_runs(RootFS(root))[-1]
    if later_failure:
        assert (code, info.state) == (2, "rolled-back")
        assert diff_manifests(original, manifest(root)) == []
    else:
        assert (code, info.state) == (0, "applied")
        assert diff_manifests(reference_applied(tmp_path), manifest(root)) == []
    log = (root / "var/log/xenwizard.log").read_text()
    assert f"{info.state}: " in log.splitlines()[-1]


KILLS = [pause_point(k) for k in STEPS] + [f"result:{k}" for k in STEPS if k not in SKIPPED]


@pytest.mark.parametrize("pause", KILLS)
def test_sigkill_then_rollback_restores_the_tree(tmp_path: Path, pause: str) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    run = Paused(tmp_path, root, pause)
    run.proc.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    run_id = list_runs(RootFS(root))[-1].run_id
    history = run_cli("history", "--root", str(root))
    if pause == "skipped:0":  # killed before any change: nothing to warn about or undo
        assert history.stderr == ""
        assert "unfinished (nothing changed)" in history.stdout
        assert diff_manifests(original, manifest(root)) == []
        return
    warning = f"xenwizard: warning: run {run_id} is unfinished; run `xenwizard rollback {run_id}`\n"
    assert history.stderr == warning
    assert run_cli("apply", "--root", str(root)).stderr.startswith(warning)  # warns, then refuses
    assert run_cli("plan", "--root", str(root)).stderr.startswith(warning)
    rollback = run_cli("rollback", "--root", str(root))
    assert rollback.returncode == 0, rollback.stderr
    assert rollback.stderr == ""
    assert diff_manifests(original, manifest(root)) == []
    after = run_cli("history", "--root", str(root))
    assert after.stderr == ""
    assert "rolled-back" in after.stdout


def test_second_apply_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    first = Paused(tmp_path, root, pause_point(3))
    second = run_cli("apply", "--yes", "--skip-packages", "--root", str(root))
    assert second.returncode == 1
    assert second.stderr == (
        f"xenwizard: error: another xenwizard apply (pid {first.proc.pid}) is running on {root}\n"
    )
    history = run_cli("history", "--root", str(root))
    assert history.stderr == ""  # running, not unfinished
    assert f"running (pid {first.proc.pid})" in history.stdout
    first.resume()
    assert first.wait() == 0
    assert [i.state for i in list_runs(RootFS(root))] == ["applied"]
    records = Journal.open(RootFS(root), list_runs(RootFS(root))[0].run_id).records()
    assert records[-1]["outcome"] == "applied"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_apply_rolls_back(tmp_path: Path, sig: signal.Signals) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    run = Paused(tmp_path, root, pause_point(3))
    run.proc.send_signal(sig)
    out, _ = run.proc.communicate(timeout=60)
    assert run.proc.returncode == 2
    assert "interrupted by the operator" in out.decode().splitlines()[-1]
    assert diff_manifests(original, manifest(root)) == []


def test_rollback_is_not_cut_short_by_signals(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    run = Paused(tmp_path, root, "undone:5", fail_after=len(SEED.steps) - 1)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        run.proc.send_signal(sig)
    run.delivered()
    run.resume()
    assert run.wait() == 2
    assert diff_manifests(original, manifest(root)) == []
    assert list_runs(RootFS(root))[-1].state == "rolled-back"
