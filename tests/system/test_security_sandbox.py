"""The target's programs run in bubblewrap's sandbox, not a bare chroot (issue 24, finding 2).

A hostile target root ships an `update-grub` (run by apply, rollback, and Xen's postinst) that
tries the ways out of a chroot: make a block device node, use one planted in the tree, keep
CAP_MKNOD / CAP_SYS_ADMIN / CAP_SYS_CHROOT, see this host's network interfaces, and reach a
listener this test opens on the host's loopback. Run through the product's runner, every one
fails. The tree holds the static busybox of this machine (busybox-static) as its shell and
tools; the real bwrap runs it. Before the sandbox (`chroot -- ROOT update-grub`) the script
ran as root with every capability: mknod worked, and the listener answered.
"""

from __future__ import annotations

import os
import shlex
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import manifest
from tests.kits.helpers import FIXTURES, copy_root
from xenwizard.cli import main
from xenwizard.edits import EditResult
from xenwizard.engine import runner as runner_module
from xenwizard.engine.executor import Engine
from xenwizard.engine.runner import CommandRunner, RunnerError
from xenwizard.planning.plan import Plan
from xenwizard.planning.profiles.base import edit_step
from xenwizard.target.rootfs import RootFS

# include/uapi/linux/capability.h
CAP_NUMBERS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_ADMIN": 21,
    "CAP_MKNOD": 27,
}
FORBIDDEN = (
    "CAP_DAC_READ_SEARCH",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_ADMIN",
    "CAP_MKNOD",
)

# The hostile update-grub: each probe prints one `KEY value` line.
ESCAPE = """#!/bin/sh
echo "uid $(id -u)"
echo "capeff $(grep '^CapEff:' /proc/self/status | tr -d '[:space:]' | cut -d: -f2)"
echo "nonewprivs $(grep '^NoNewPrivs:' /proc/self/status | tr -d '[:space:]' | cut -d: -f2)"
if mknod /tmp/sda b 8 0 2>/dev/null; then echo "mknod made"; else echo "mknod refused"; fi
if echo x 2>/dev/null > /planted-null; then echo "planted opened"; else echo "planted refused"; fi
for name in $(ip -o link show | cut -d: -f2); do echo "iface $name"; done
if echo hello | nc -w 2 127.0.0.1 PORT 2>/dev/null | grep -q answer; then
    echo "listener reached"
else
    echo "listener unreached"
fi
"""
TOOLS = ("sh", "id", "grep", "tr", "cut", "mknod", "ip", "nc", "echo", "sleep", "ls", "kill")


def hostile_root(base: Path, port: int) -> Path:
    """A tree with busybox as its tools, the hostile update-grub, and a planted device node
    (the harmless /dev/null, char 1:3, so that opening it is all it could do)."""
    root = base / "root"
    for rel in ("bin", "usr/sbin", "tmp", "proc", "dev", "sys", "etc/default"):
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "bin/busybox").write_bytes(Path(programs.require("busybox")).read_bytes())
    (root / "bin/busybox").chmod(0o755)
    for tool in TOOLS:
        (root / "bin" / tool).symlink_to("busybox")
    script = root / "usr/sbin/update-grub"
    script.write_text(ESCAPE.replace("PORT", str(port)))
    script.chmod(0o755)
    os.mknod(root / "planted-null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(root / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # as a chroot has it
    (root / "etc/default/grub").write_text("GRUB_DEFAULT=0\n")
    return root


class Listener:
    """A TCP listener on this host's loopback that answers whoever connects."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.reached = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                self.reached += 1
                conn.sendall(b"answer\n")

    def close(self) -> None:
        self.done.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()


def report(lines: list[str]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for line in lines:
        key, _, value = line.partition(" ")
        seen.setdefault(key, []).append(value)
    return seen


def needs_root_and_bwrap() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (the product runs the target's programs as root)")
    programs.require("bwrap")


@pytest.mark.slow  # real bwrap: namespaces
def test_a_hostile_update_grub_cannot_leave_the_sandbox(tmp_path: Path, listener: Listener) -> None:
    needs_root_and_bwrap()
    root = hostile_root(tmp_path, listener.port)
    lines: list[str] = []
    code = CommandRunner(root).run(["update-grub"], lines.append)
    assert code == 0, lines
    ran = shlex.join(CommandRunner(root).command(["update-grub"]))
    assert lines[0] == f"(in the sandbox: {ran})"  # logged as run, to be rerun by hand
    assert ran.startswith(f"bwrap --bind {root} / ") and ran.endswith(" -- update-grub")
    seen = report(lines)
    assert seen["uid"] == ["0"], lines  # still root: dpkg needs it
    assert seen["mknod"] == ["refused"], lines
    assert not (root / "tmp/sda").exists()
    assert seen["planted"] == ["refused"], "a device node in the tree must open nothing"
    assert seen["listener"] == ["unreached"] and listener.reached == 0, lines
    assert seen["iface"] == ["lo"], f"host interfaces seen: {seen['iface']}"
    assert seen["capeff"] != [""], f"no /proc of its own: {lines}"
    capeff = int(seen["capeff"][0], 16)
    held = {name for name, bit in CAP_NUMBERS.items() if capeff & (1 << bit)}
    assert held.isdisjoint(FORBIDDEN), f"capabilities that lead out: {held & set(FORBIDDEN)}"
    assert held == set(runner_module.SANDBOX_CAPS), f"CapEff {capeff:#x}: {sorted(held)}"
    assert capeff == sum(1 << CAP_NUMBERS[name] for name in runner_module.SANDBOX_CAPS)
    assert seen["nonewprivs"] == ["1"], "no exec may gain capabilities back"


@pytest.mark.slow  # real bwrap: namespaces
def test_a_sysfs_the_operator_mounted_in_the_root_is_hidden(tmp_path: Path) -> None:
    """The classic chroot recipe mounts sysfs at ROOT/sys; its files reach this host's kernel
    (devices, power), so the sandbox covers it. Mounted here in a private mount namespace of
    a child, so nothing is mounted on this machine."""
    needs_root_and_bwrap()
    root = hostile_root(tmp_path, 1)
    child = (
        "import sys; from xenwizard.engine.runner import CommandRunner; "
        "lines = []; CommandRunner(sys.argv[1]).run(['ls', '/sys'], lines.append); "
        "print([line for line in lines if not line.startswith('(in the sandbox')])"
    )
    done = subprocess.run(
        [
            programs.require("unshare"),
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t sysfs sys "$1/sys" && ls "$1/sys" | head -1 && exec "$2" -c "$3" "$1"',
            "sh",
            str(root),
            sys.executable,
            child,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    mounted, seen = done.stdout.splitlines()
    assert mounted, "the child's sysfs was not mounted"
    assert seen == "[]", f"this host's sysfs in the sandbox: {seen}"


@pytest.mark.slow  # real bwrap: namespaces
def test_the_apply_refresh_runs_update_grub_in_the_sandbox(
    tmp_path: Path, listener: Listener
) -> None:
    """The same script reached the way an operator's apply reaches it: a file step whose refresh
    is update-grub, and the rollback's update-grub after the undo."""
    needs_root_and_bwrap()
    root = hostile_root(tmp_path, listener.port)
    fs = RootFS(root)
    step = edit_step(
        "grub", "GRUB default", fs, "etc/default/grub", lambda t: EditResult(t + "#\n")
    )
    plan = Plan("debian-12", "test", str(root), (replace(step, refresh="update-grub"),))
    lines: list[str] = []
    engine = Engine(plan, fs, CommandRunner(root), lambda e: lines.append(getattr(e, "line", "")))
    result = engine.apply()
    assert result.outcome == "applied", result.message
    rolled = Engine(None, fs, CommandRunner(root), lambda e: lines.append(getattr(e, "line", "")))
    assert rolled.rollback(result.run_id).outcome == "rolled-back"
    seen = report(lines)
    assert seen["mknod"] == ["refused", "refused"], lines  # apply's update-grub, rollback's
    assert seen["listener"] == ["unreached", "unreached"], lines
    assert listener.reached == 0


def test_without_bwrap_another_root_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fallback to a bare chroot: the refusal names the package to install."""
    monkeypatch.setattr(runner_module, "BWRAP", "no-such-bwrap-xenwizard")
    with pytest.raises(RunnerError) as raised:
        CommandRunner(tmp_path).run(["update-grub"], lambda line: None)
    message = str(raised.value)
    assert "\n" not in message
    assert "install the Debian package bubblewrap" in message
    assert runner_module.sandbox_missing("/") is None  # the live system needs no sandbox


@pytest.mark.slow  # real bwrap: namespaces
def test_output_streams_and_an_interrupt_stops_everything_in_the_sandbox(tmp_path: Path) -> None:
    """Lines arrive while the sandboxed command runs, and Ctrl-C stops it and what it started
    (bwrap's new session and PID namespace must not hide them from the runner's kill)."""
    needs_root_and_bwrap()
    root = hostile_root(tmp_path, 1)
    marker = "31.4159"  # a sleep no other process on this host runs
    seen: list[tuple[float, str]] = []
    start = time.monotonic()

    def on_line(line: str) -> None:
        if line.startswith("(in the sandbox: "):
            return
        seen.append((time.monotonic() - start, line))
        if line == "second":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        CommandRunner(root).run(
            ["sh", "-c", f"sleep {marker} & echo first; sleep 1; echo second; wait"], on_line
        )
    assert [line for _, line in seen] == ["first", "second"]
    assert seen[1][0] - seen[0][0] > 0.8, "the first line must not wait for the second"
    deadline = time.monotonic() + 10
    while sleepers(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers(marker) == [], "the sandbox's children outlived the interrupt"


def sleepers(marker: str) -> list[int]:
    """Live processes of this host running `sleep MARKER`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in argv and state != "Z":
            found.append(int(entry.name))
    return found


def test_apply_on_another_root_without_bwrap_is_refused_before_anything_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan's apt-get and update-grub would need the sandbox: refused in one line, nothing
    written. With --skip-packages the steps that run them are skipped: it applies."""
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    apt_get = root / "usr/bin/apt-get"  # as a real target has it (else that is the refusal)
    apt_get.parent.mkdir(parents=True, exist_ok=True)
    apt_get.touch(mode=0o755)
    before = manifest(root)
    monkeypatch.setattr(runner_module, "BWRAP", "no-such-bwrap-xenwizard")
    code = main(["apply", "--root", str(root), "--yes", "--no-boot-guard"])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and "install the Debian package bubblewrap" in err, err
    assert manifest(root) == before
    code = main(["apply", "--root", str(root), "--yes", "--no-boot-guard", "--skip-packages"])
    out, err = capsys.readouterr()
    assert code == 0, out + err


@pytest.mark.slow  # real bwrap: namespaces
def test_what_a_command_leaves_running_dies_with_it(tmp_path: Path) -> None:
    """A maintainer script that starts a daemon anyway (policy-rc.d is only asked, not
    enforced) neither outlives the command nor holds its output open: the runner returns at
    once. Through `chroot` the daemon kept running, on this host."""
    needs_root_and_bwrap()
    root = hostile_root(tmp_path, 1)
    marker = "32.7182"
    start = time.monotonic()
    lines: list[str] = []
    script = f"sleep {marker} & sleep 0.3; kill -0 $! && echo running"
    code = CommandRunner(root).run(["sh", "-c", script], lines.append)
    assert code == 0 and lines[-1] == "running", lines  # the daemon did start
    assert time.monotonic() - start < 10, "the runner waited for the daemon"
    deadline = time.monotonic() + 10
    while sleepers(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers(marker) == [], "the daemon outlived the sandbox"
