"""Runs the plan's commands on the target system and streams their output as it comes.

On the live system (root `/`) a command runs as is; for any other root it runs through
`chroot ROOT`, so packages land in the target tree, never on the host. Output (stdout and stderr
merged) goes to a callback line by line while the command runs, so a long `apt-get` shows
progress on screen and in the log instead of arriving all at once at the end.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

LineCallback = Callable[[str], None]

# All a command sees of the environment (plus what the step adds, e.g. DEBIAN_FRONTEND).
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
}


class Runner(Protocol):
    """Anything that can run argv on the target and report each output line."""

    def run(
        self, argv: Sequence[str], on_line: LineCallback, env: Mapping[str, str] | None = None
    ) -> int: ...


class CommandRunner:
    """The real runner: host when `root` is `/`, `chroot ROOT` otherwise."""

    def __init__(self, root: str | os.PathLike[str] = "/"):
        self.root = Path(os.path.realpath(root))

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def command(self, argv: Sequence[str]) -> list[str]:
        """The argv actually executed (shown in logs so the operator can rerun it by hand)."""
        return ["chroot", "--", str(self.root), *argv] if self.chrooted else list(argv)

    def run(
        self, argv: Sequence[str], on_line: LineCallback, env: Mapping[str, str] | None = None
    ) -> int:
        """Run to completion and return the exit code; stdin is /dev/null so nothing can prompt.

        The child gets its own session: a terminal hang-up (SSH drop) must not kill apt-get
        halfway. If we are interrupted while waiting, the child is stopped before re-raising,
        so the rollback that follows never races a still-running command.
        """
        # A clean, minimal environment on every root, `/` too: the operator's APT_CONFIG,
        # LD_PRELOAD, PYTHONPATH ... must not steer apt-get or the maintainer scripts.
        full_env = {**BASE_ENV, **(env or {})}
        try:
            proc = subprocess.Popen(
                self.command(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=full_env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise RunnerError(f"{argv[0]}: cannot run: {exc.strerror or exc}") from None
        try:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
            return proc.wait()
        except BaseException:
            _stop(proc)
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


class RunnerError(OSError):
    """The command could not be started at all (missing chroot, missing program)."""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the child (and its process group), then kill it if it does not go quietly."""
    for sig, wait in ((15, 5.0), (9, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
