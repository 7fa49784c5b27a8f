"""`xenwizard apply / rollback / history` as an operator runs them: output, prompts, exit codes.

Exit codes: 0 done (applied, nothing to do, rolled back on request); 1 refused before changing
anything; 2 the apply failed and was rolled back (root as before); 3 the rollback failed.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.kits.enginekit import (
    diff_manifests,
    fresh_root,
    manifest,
    read_only_method,
    set_read_only,
)
from tests.kits.helpers import REPO, run_cli
from xenwizard.engine.journal import RUNS_DIR, list_runs
from xenwizard.target.rootfs import RootFS


def apply(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("apply", "--yes", "--skip-packages", "--root", str(root), *extra)


def only_run(root: Path) -> str:
    (run_id,) = os.listdir(root / RUNS_DIR)
    return run_id


class Unwritable:
    """A directory nobody (root included) can write to while inside the with-block."""

    def __init__(self, scratch: Path, directory: Path):
        self.method = read_only_method(scratch)
        if self.method is None:
            pytest.skip("cannot make a directory unwritable here (no chattr, no bind mount)")
        self.directory = directory

    def __enter__(self) -> None:
        set_read_only(self.directory, True, self.method)

    def __exit__(self, *exc: object) -> None:
        set_read_only(self.directory, False, self.method)


def test_apply_history_rollback_round_trip(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    done = apply(root, "--bridge", "xenbr0")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    run_id = only_run(root)
    lines = done.stdout.splitlines()
    # forwarding (issue 12); xen-tools and dom0_mem on Xen's command line (issue 23)
    assert lines[0] == f"run {run_id} on {root}: 11 steps"
    assert "[1/11] Install packages" in lines
    assert "    note: skipped (--skip-packages): dnsmasq ebtables" in lines
    assert lines[-1].startswith(
        "applied: 9 of 11 steps changed something; 1 skipped: they need the packages"
    )
    assert "xenbr0" in (root / "etc/network/interfaces").read_text()

    history = run_cli("history", "--root", str(root))
    assert history.returncode == 0
    header, row = history.stdout.splitlines()
    assert header.split()[:3] == ["RUN", "STARTED", "(UTC)"]
    assert row.startswith(run_id) and " applied " in row
    assert "etc/network/interfaces" in row and "usr/lib/xen-tools/precise.d" in row

    rolled = run_cli("rollback", "--root", str(root))
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines()[-1].startswith("rolled-back: every change was undone")
    assert diff_manifests(original, manifest(root)) == []
    data = json.loads(run_cli("history", "--root", str(root), "--json").stdout)
    assert [(r["run_id"], r["state"], r["outcomes"]) for r in data] == [
        (run_id, "rolled-back", ["applied", "rolled-back"])
    ]
    again = run_cli("rollback", "--root", str(root))
    assert (again.returncode, again.stderr) == (
        1,
        "xenwizard: error: no run to roll back; see `xenwizard history`\n",
    )
    named = run_cli("rollback", run_id, "--root", str(root))
    assert named.stderr == f"xenwizard: error: run {run_id} is already rolled back\n"


def test_second_apply_changes_nothing_and_plan_is_clean(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    assert apply(root).returncode == 0
    applied = manifest(root)
    again = apply(root)
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1].startswith("nothing-to-do:")
    assert manifest(root) == applied
    plan = json.loads(run_cli("plan", "--json", "--root", str(root)).stdout)
    # skipped above: the packages, and the GRUB step that needs Xen's entry from them
    assert [s["id"] for s in plan["steps"] if s["changed"]] == ["packages", "grub-xen"]
    second = list_runs(RootFS(root))[-1]  # ids of the same second need not sort by time
    assert second.state == "nothing-to-do"
    nothing = run_cli("rollback", second.run_id, "--root", str(root))
    assert nothing.returncode == 1 and "changed nothing; nothing to roll back" in nothing.stderr


def test_answers_file_of_a_run_replays_it(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    flags = ["--bridge", "xenbr3", "--address", "192.168.50.1/24"]
    flags += ["--dhcp-range", "192.168.50.20-192.168.50.40", "--lease", "2h"]
    assert apply(root, *flags).returncode == 0
    answers = root / RUNS_DIR / only_run(root) / "answers.toml"
    other = fresh_root(tmp_path, "other")
    replayed = apply(other, "--answers", str(answers))
    assert replayed.returncode == 0, replayed.stderr
    for rel in ("etc/network/interfaces", "etc/dnsmasq.d/xenwizard.conf", "etc/rc.local"):
        assert (other / rel).read_bytes() == (root / rel).read_bytes()


def test_without_yes_and_without_a_terminal_apply_refuses(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    before = manifest(root)
    done = run_cli("apply", "--skip-packages", "--root", str(root), stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr == (
        "xenwizard: error: stdin is not a terminal to confirm on; "
        "review `xenwizard plan` and rerun with --yes\n"
    )
    assert manifest(root) == before


def run_on_tty(argv: list[str], answer: str) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, type `answer` at the prompt, return (code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "xenwizard", *argv],
        cwd=REPO,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"[y/N]" in output:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=30), output.decode(errors="replace")


@pytest.mark.parametrize("answer", ["y", "n", ""])
def test_confirmation_on_a_terminal(tmp_path: Path, answer: str) -> None:
    root = fresh_root(tmp_path)
    before = manifest(root)
    code, output = run_on_tty(["apply", "--skip-packages", "--root", str(root)], answer)
    assert "xenwizard plan: profile ubuntu-precise" in output  # the plan is shown first
    assert "+++ b/etc/network/interfaces" in output
    assert "Apply these changes? [y/N]" in output
    if answer == "y":
        assert code == 0
        assert "applied: 9 of 11 steps changed something" in output
    else:
        assert code == 1
        assert "xenwizard: apply cancelled; nothing changed" in output
        assert manifest(root) == before


def test_failed_apply_rolls_back_with_exit_2(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    with Unwritable(tmp_path, root / "etc/network"):
        done = apply(root)
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("rolled-back: step 8 (alias interface br0:0 for dnsmasq) failed: ")
    assert "Operation not permitted" in last or "Read-only file system" in last
    assert diff_manifests(original, manifest(root)) == []


def test_failed_rollback_exits_3_and_can_be_retried(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    assert apply(root).returncode == 0
    with Unwritable(tmp_path, root / "etc/network"):
        failed = run_cli("rollback", "--root", str(root))
    assert failed.returncode == 3
    assert "rollback-failed: rollback FAILED: step 8: " in failed.stdout
    history = run_cli("history", "--root", str(root))
    assert "applied -> rollback-failed" in history.stdout
    retry = run_cli("rollback", "--root", str(root))
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert diff_manifests(original, manifest(root)) == []


def test_symlink_escape_is_one_line_error_and_outside_is_untouched(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    outside = tmp_path / "outside"
    outside.write_text("#!/bin/sh -e\nexit 0\n")
    (root / "etc/rc.local").unlink()
    os.symlink(outside, root / "etc/rc.local")
    before = manifest(root)
    done = apply(root)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "outside the root" in done.stderr
    assert "Traceback" not in done.stderr
    assert outside.read_text() == "#!/bin/sh -e\nexit 0\n"
    assert manifest(root) == before


def test_unknown_run_and_bad_answers_are_one_line_errors(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    unknown = run_cli("rollback", "20990101T000000-dead", "--root", str(root))
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "xenwizard: error: no run 20990101T000000-dead under var/lib/xenwizard/runs; "
        "see `xenwizard history`\n",
    )
    sneaky = run_cli("rollback", "../../etc", "--root", str(root))
    assert sneaky.returncode == 1 and sneaky.stderr.count("\n") == 1
    bad = apply(root, "--bridge", 'br0"; reboot; "')
    assert bad.returncode == 1 and bad.stderr.startswith("xenwizard: error: invalid answer bridge")
    assert not (root / RUNS_DIR).exists()
    empty = run_cli("history", "--root", str(root))
    assert (empty.returncode, empty.stdout) == (0, "no runs yet\n")


@pytest.mark.parametrize("command", ["apply", "rollback"])
def test_a_user_who_cannot_write_the_state_dir_is_told_it_needs_root(command: str) -> None:
    """Before: "Permission denied (ROOT/var/lib/xenwizard)", which does not say what to do."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run xenwizard as another user")
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        os.chmod(scratch, 0o755)  # the other user may read the root, not write its state
        root = fresh_root(Path(scratch))
        run_id = "RUN"
        if command == "rollback":
            assert apply(root).returncode == 0
            run_id = only_run(root)
        argv = ["apply", "--yes", "--skip-packages"] if command == "apply" else ["rollback", run_id]
        before = manifest(root)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
             "-m", "xenwizard", *argv, "--root", str(root)],
            capture_output=True, text=True, cwd=REPO, timeout=120,
        )  # fmt: skip
        assert done.returncode == 1, done
        assert done.stderr.strip().splitlines() == [  # root's state directory, opened by fd
            f"xenwizard: error: {command} needs root: {root}/var/lib/xenwizard is not writable "
            "by this user; run it as root (sudo)"
        ], done.stderr
        assert diff_manifests(before, manifest(root)) == []


def test_a_target_without_apt_get_is_refused_before_anything_changes(tmp_path: Path) -> None:
    """Before: the package step failed at once ("chroot: ... apt-get: No such file") and the
    run was rolled back (exit 2); now apply says why up front, exit 1, no run journaled."""
    root = fresh_root(tmp_path)  # the fixture has no apt-get (tests apply --skip-packages)
    before = manifest(root)
    done = run_cli("apply", "--root", str(root), "--yes")
    assert done.returncode == 1, done
    assert done.stderr.splitlines() == [
        f"xenwizard: error: the target {root} has no apt-get to install dnsmasq ebtables; "
        "install them another way and apply with --skip-packages"
    ]
    assert diff_manifests(before, manifest(root)) == []
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    (root / "usr/bin/apt-get").write_text("#!/bin/sh\nexit 1\n")
    (root / "usr/bin/apt-get").chmod(0o755)
    failing = run_cli("apply", "--root", str(root), "--yes")
    assert failing.returncode == 2, failing  # apt-get is there (and fails): the step runs
