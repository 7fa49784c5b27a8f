"""The terminal goes away in the middle of an apply started from the real `xenwizard` TUI.

The wizard runs as an operator runs it (`python -m tests.kits.wizard_driver --root COPY`: the real
CLI, app and driver, plus enginekit_driver's pause point and skipped packages), in a terminal:
tmux (closing the session hangs the tty up and sends SIGHUP, like an SSH drop), or a bare pty
that is not the process's controlling terminal (closing it sends no signal at all: only reads
and writes start failing). The keyboard walks every page; the apply pauses at step 6; the
terminal is closed; then the apply is let go. It must end exactly as if the operator had stayed:
the journal's outcome, the files (compared with an undisturbed apply, or with the original tree
after a later failure), the log, and an exit code that says how the apply ended.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import diff_manifests, fresh_root, manifest, precise_plan
from tests.kits.helpers import PRECISE_ROOT, REPO, reference_applied
from xenwizard.engine.journal import list_runs
from xenwizard.target.rootfs import RootFS

# step 6 (dnsmasq): steps 1-5 are done (the package step and the GRUB step that needs its Xen
# entry skipped) when it drops
PAUSE = "intent:5"
LAST = len(precise_plan(PRECISE_ROOT).steps) - 1  # failing after its work: a rollback
TIMEOUT = 10.0


def silenced(pid: int) -> bool:
    """The app has pointed its stdout and stderr at /dev/null, as it does once it knows the
    terminal is gone (`terminal_gone`), just before its UI ends."""
    try:
        return all(os.readlink(f"/proc/{pid}/fd/{fd}") == os.devnull for fd in (1, 2))
    except OSError:
        return False


def wait_until(condition, what: str, timeout: float = TIMEOUT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class Run:
    """Files and environment of one driven wizard process."""

    def __init__(self, tmp_path: Path, fail_after: int | None):
        self.root = fresh_root(tmp_path)
        self.ready = tmp_path / "ready"
        self.go = tmp_path / "go"
        self.exit_file = tmp_path / "exit"
        self.env = {
            "TERM": "xterm-256color",
            "XW_PAUSE": PAUSE,
            "XW_READY": str(self.ready),
            "XW_GO": str(self.go),
            "XW_EXIT": str(self.exit_file),
            "XW_SKIP_PACKAGES": "1",
            "XW_STACKS": str(tmp_path / "stacks.txt"),
        }
        if fail_after is not None:
            self.env["XW_FAIL_AFTER"] = str(fail_after)
        self.argv = [sys.executable, "-m", "tests.kits.wizard_driver", "--root", str(self.root)]


class Tmux:
    """A tmux session of its own (own socket), 80x24; closing it is the terminal going away."""

    def __init__(self, run: Run, tmp_path: Path):
        tmux = programs.require("tmux")
        self.tmux = [tmux, "-S", str(tmp_path / "tmux.sock")]
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in run.env.items())
        command = f"cd {shlex.quote(str(REPO))} && exec env {env} {shlex.join(run.argv)}"
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", command)
        self.pid = int(self._tmux("display", "-p", "#{pane_pid}").strip())

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([*self.tmux, *args], capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def shows(self, text: str) -> bool:
        return text in self._tmux("capture-pane", "-p")

    def press(self, key: str) -> None:
        self._tmux("send-keys", {"enter": "Enter", "space": "Space"}.get(key, key))

    def close(self) -> None:
        self._tmux("kill-session")  # SIGHUP to the pane's processes, the tty hung up

    def ended(self) -> bool:
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state in ("Z", "X")  # reparented after tmux went: a zombie until reaped

    def cleanup(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=10)
        if not self.ended():
            os.kill(self.pid, signal.SIGKILL)


class BarePty:
    """A pty the process only has as stdin/stdout/stderr (not its controlling terminal):
    closing our end sends no SIGHUP; the process learns only from failing reads and writes."""

    def __init__(self, run: Run, tmp_path: Path):
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen(
            run.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **run.env},
            cwd=REPO,
            start_new_session=True,
        )
        os.close(slave)
        self.pid = self.proc.pid
        self.output = bytearray()
        self.closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while not self.closed:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output.extend(data)

    def shows(self, text: str) -> bool:
        return text.encode() in self.output

    def press(self, key: str) -> None:
        os.write(self.master, {"enter": b"\r", "space": b" "}.get(key, key.encode()))

    def close(self) -> None:
        self.closed = True
        os.close(self.master)

    def ended(self) -> bool:
        return self.proc.poll() is not None

    def cleanup(self) -> None:
        if not self.closed:
            self.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


# (what the page shows, the key to press there); None: the tick needs no page of its own.
WALK = (
    ("[1/9] Welcome", "enter"),
    ("[2/9] Bridge", "enter"),
    ("[3/9] Subnet", "enter"),
    ("[4/9] DHCP", "enter"),
    ("[5/9] Dom0 memory", "enter"),
    ("[6/9] Toolstack", "space"),
    (None, "enter"),
    ("[7/9] Preview", "a"),
    ("Apply the plan?", "y"),
)


@pytest.mark.parametrize("terminal", [Tmux, BarePty], ids=["tmux-sighup", "pty-no-signal"])
@pytest.mark.parametrize("later_failure", [False, True], ids=["completes", "fails-later"])
def test_terminal_drop_mid_apply(tmp_path: Path, terminal: type, later_failure: bool) -> None:
    run = Run(tmp_path, fail_after=LAST if later_failure else None)
    original = manifest(run.root)
    term = terminal(run, tmp_path)
    try:
        for page, key in WALK:
            if page is not None:  # keys typed ahead wait for their page (app.on_event)
                wait_until(lambda page=page: term.shows(page), page)
            term.press(key)
        wait_until(run.ready.exists, "the apply to pause at step 6")
        assert not run.exit_file.exists()
        term.close()
        wait_until(lambda: silenced(term.pid), "the UI to notice the terminal is gone")
        assert not run.exit_file.exists()  # the apply is still paused: the process waits
        run.go.touch()
        wait_until(run.exit_file.exists, "the process to finish the apply and exit")
        wait_until(term.ended, "the process to be gone")
    finally:
        term.cleanup()
    code = int(run.exit_file.read_text())
    info = list_runs(RootFS(run.root))[-1]
    log = (run.root / "var/log/xenwizard.log").read_text().splitlines()
    if later_failure:
        assert (code, info.state) == (2, "rolled-back")
        assert diff_manifests(original, manifest(run.root)) == []
    else:
        assert (code, info.state) == (0, "applied")
        assert diff_manifests(reference_applied(tmp_path), manifest(run.root)) == []
    assert log[-1].split(" ", 2)[2].startswith(f"{info.state}: ")


class TestPieces:
    def test_safe_output_silences_itself(self) -> None:
        """The driver's output: the first failed write or flush silences it and tells once."""
        from xenwizard.tui.terminal import SafeOutput

        class DeadTty:
            def write(self, text: str) -> int:
                raise OSError(5, "Input/output error")

            def flush(self) -> None:
                raise OSError(5, "Input/output error")

            def fileno(self) -> int:
                return 2

        told: list[bool] = []
        out = SafeOutput(DeadTty(), lambda: told.append(True))  # type: ignore[arg-type]
        assert out.write("\x1b[?1049l") == 8
        out.flush()
        assert out.write("more") == 4
        assert told == [True] and out.lost and not out.isatty()

    def test_ui_ends_and_the_apply_goes_on(self, tmp_path: Path) -> None:
        """In process: a hang-up noted mid-apply ends the UI at once; the apply's own thread
        runs to the end and says so (apply_idle, apply_outcome), as `run_app` waits for."""
        import asyncio

        from tests.kits import gallery

        item = gallery.scenario("apply-running")
        app, runner = gallery.build_app(item, tmp_path)
        runner.gone = lambda: False  # the blocking step waits for `release`, app or not

        seen: dict[str, bool] = {}

        async def main() -> None:
            async with app.run_test(size=gallery.SIZE) as pilot:
                try:
                    await gallery.drive(pilot, item.keys, runner)
                    seen["applying"] = app.applying and not app.apply_idle.is_set()
                    app.note_hangup()
                    await gallery.wait_for(pilot, lambda: not app.is_running, "the UI to end")
                    seen["lost"] = app.terminal_lost and not app.apply_idle.is_set()
                finally:
                    runner.release.set()  # leaving the block waits for the apply's thread

        with gallery.pinned():
            asyncio.run(main())
        assert seen == {"applying": True, "lost": True}  # the UI ended while the step waited
        assert app.apply_idle.wait(20)
        assert app.apply_outcome == "applied"
        assert list_runs(RootFS(tmp_path / "root"))[-1].state == "applied"

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
    def test_sigterm_mid_apply_ends_the_ui_and_the_apply_goes_on(
        self, tmp_path: Path, signum: int
    ) -> None:
        """Issue 26 item 3: SIGTERM or SIGINT noted mid-apply (its handler, as the signal calls
        it) ends the UI as a hang-up does, and the apply runs to its end in its thread."""
        import asyncio

        from tests.kits import gallery

        item = gallery.scenario("apply-running")
        app, runner = gallery.build_app(item, tmp_path)
        runner.gone = lambda: False

        seen: dict[str, bool] = {}

        async def main() -> None:
            async with app.run_test(size=gallery.SIZE) as pilot:
                try:
                    await gallery.drive(pilot, item.keys, runner)
                    seen["applying"] = app.applying and not app.apply_idle.is_set()
                    app._on_stop(signum, None)
                    await gallery.wait_for(pilot, lambda: not app.is_running, "the UI to end")
                    seen["ended"] = not app.apply_idle.is_set()
                finally:
                    runner.release.set()

        with gallery.pinned():
            asyncio.run(main())
        assert seen == {"applying": True, "ended": True}
        assert app.apply_idle.wait(20)
        assert app.apply_outcome == "applied"
