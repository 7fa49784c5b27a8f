"""Runs the plan's commands on the target system and streams their output as it comes.

On the live system (root `/`) a command runs as is: the system's own programs. For any other
root the programs are the target's (its update-grub, apt-get, dpkg and the maintainer scripts
they run), which xenwizard does not trust: they run in a bubblewrap sandbox (`bwrap`, see
`sandbox_argv`) with the root as `/`, never in a bare `chroot`. Output (stdout and stderr
merged) goes to a callback line by line while the command runs, so a long `apt-get` shows
progress on screen and in the log instead of arriving all at once at the end.
"""

from __future__ import annotations

import os
import shlex
import shutil
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


# The sandbox of a target's programs: bubblewrap, Debian package `bubblewrap`; the options are
# bwrap(1)'s as of bubblewrap 0.8.0 (Debian 12), capability names capabilities(7)'s.
BWRAP = "bwrap"
BWRAP_PACKAGE = "bubblewrap"
# What apt-get, dpkg and the maintainer scripts need, found by installing the Xen stack into a
# real Debian 12 tree (apt-get update, install --download-only, install, purge) with each one
# left out: without CHOWN apt cannot hand its partial dirs to _apt and groupadd fails; without
# DAC_OVERRIDE nothing installs; without FOWNER apt's chmods fail; without SETUID or SETGID
# apt cannot become _apt. FSETID: without it chmod g+s on a file of another group (dpkg's
# chown, then chmod: crontab, ssh-agent ...) silently loses the setgid bit. KILL was not
# needed (the PID namespace holds only the sandbox's own processes). Never MKNOD, SYS_ADMIN,
# SYS_CHROOT, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH or NET_*: each is a way out.
SANDBOX_CAPS = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_SETGID",
    "CAP_SETUID",
)


def sandbox_argv(root: Path, network: bool) -> list[str]:
    """bwrap's options for running a program of the target root: the root bound as `/`
    (bwrap binds it nosuid and nodev, so a device node planted in the tree opens nothing), its
    own /proc, a minimal /dev (null, zero, random, tty ...: no disk of this host) and an empty
    /sys (over a sysfs an operator may have mounted there for a chroot), private
    PID, IPC, UTS, cgroup and mount namespaces, a network namespace of its own with only a
    loopback unless `network` (apt-get's downloads), every capability dropped but SANDBOX_CAPS
    (bwrap sets no_new_privs, so no exec regains one), a new session (no terminal to inject
    keys into), and killed with xenwizard."""
    caps = [arg for cap in SANDBOX_CAPS for arg in ("--cap-add", cap)]
    return [
        BWRAP,
        "--bind",
        str(root),
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/sys",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        *([] if network else ["--unshare-net"]),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        *caps,
        "--chdir",
        "/",
        "--",
    ]


def sandbox_missing(root: str | os.PathLike[str]) -> str | None:
    """Why the target's programs cannot run under `root`, or None: bwrap is not installed
    (only a root other than `/` needs it). There is no fallback to a bare chroot."""
    if Path(os.path.realpath(root)) == Path("/") or shutil.which(BWRAP, path=BASE_ENV["PATH"]):
        return None
    return (
        f"{BWRAP} is not installed: with --root the target's own programs (update-grub, "
        f"apt-get, dpkg) run only in its sandbox; install the Debian package {BWRAP_PACKAGE}"
    )


class Runner(Protocol):
    """Anything that can run argv on the target and report each output line. `network`: the
    command needs this host's network (apt-get's downloads); without it a command on another
    root sees none."""

    def run(
        self,
        argv: Sequence[str],
        on_line: LineCallback,
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> int: ...


class CommandRunner:
    """The real runner: the host's programs when `root` is `/`; the target's, in bwrap's
    sandbox, otherwise."""

    def __init__(self, root: str | os.PathLike[str] = "/"):
        self.root = Path(os.path.realpath(root))

    @property
    def sandboxed(self) -> bool:
        return self.root != Path("/")

    def command(self, argv: Sequence[str], network: bool = False) -> list[str]:
        """The argv actually executed (shown in logs so the operator can rerun it by hand)."""
        if not self.sandboxed:
            return list(argv)
        return [*sandbox_argv(self.root, network), *argv]

    def run(
        self,
        argv: Sequence[str],
        on_line: LineCallback,
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> int:
        """Run to completion and return the exit code; stdin is /dev/null so nothing can prompt.

        The child gets its own session: a terminal hang-up (SSH drop) must not kill apt-get
        halfway. If we are interrupted while waiting, the child is stopped before re-raising,
        so the rollback that follows never races a still-running command.
        """
        # A clean, minimal environment on every root, `/` too: the operator's APT_CONFIG,
        # LD_PRELOAD, PYTHONPATH ... must not steer apt-get or the maintainer scripts.
        full_env = {**BASE_ENV, **(env or {})}
        missing = sandbox_missing(self.root)
        if missing:
            raise RunnerError(missing)
        command = self.command(argv, network)
        if self.sandboxed:  # the whole line, for the log: the operator can rerun it as it ran
            on_line(f"(in the sandbox: {shlex.join(command)})")
        try:
            proc = subprocess.Popen(
                command,
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
    """The command could not be started at all (no bwrap, missing program)."""


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
