"""The operator's terminal on the host: tmux at 80x24 running one shell command (ssh -t ...).

Keys go in with `send-keys`, the screen comes back with `capture-pane`; every wait is bounded
and a timeout shows the screen it gave up on.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class TerminalError(AssertionError):
    pass


class Tmux:
    def __init__(self, workdir: Path, command: str, exit_file: Path):
        tmux = shutil.which("tmux")
        if tmux is None:
            raise TerminalError("tmux is not installed")
        self.tmux = [tmux, "-S", str(workdir / "tmux.sock")]
        self.exit_file = exit_file
        exit_file.unlink(missing_ok=True)
        shell = f"{command}; echo $? > {shlex.quote(str(exit_file))}"
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", shell)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([*self.tmux, *args], capture_output=True, text=True, timeout=15)
        if done.returncode != 0:
            raise TerminalError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        try:
            return self._tmux("capture-pane", "-p")
        except TerminalError:
            return "(the tmux session has ended)"

    def press(self, *keys: str) -> None:
        """Send keys in one burst (one send-keys)."""
        self._tmux("send-keys", *keys)

    def wait_for(self, what: str | Callable[[str], bool], timeout: float, phase: str) -> str:
        """The screen once it shows `what` (text, or a test of the whole screen)."""
        test = what if callable(what) else (lambda screen: what in screen)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            if self.exit_file.exists():
                break
            time.sleep(1)
        raise TerminalError(
            f"terminal phase '{phase}': did not see {what!r} within {timeout:.0f} s; "
            f"the screen:\n{screen}"
        )

    def exit_code(self, timeout: float, phase: str) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(1)
        raise TerminalError(
            f"terminal phase '{phase}': the command did not end; screen:\n{self.screen()}"
        )

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=15)
