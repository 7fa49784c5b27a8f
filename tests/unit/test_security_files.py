"""Issue 13, finding 4: only regular files are read from the root. A FIFO, a device or a huge
file is a one-line error naming it, within a second: never a hang, never a MemoryError."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, PRECISE_ROOT, copy_root, run_cli
from xenwizard.target.rootfs import RootError, RootFS

HUGE = 256 * 1024 * 1024  # past the read cap (32 MiB)


def replace_with(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":  # /dev/zero's numbers: endless bytes
        os.mknod(path, 0o644 | 0o020000, os.makedev(1, 5))
    elif kind == "huge":  # sparse: costs no disk
        with open(path, "wb") as handle:
            handle.truncate(HUGE)


def plan_fails_fast(root: Path, rel: str) -> str:
    started = time.monotonic()
    done = run_cli("plan", "--root", str(root), timeout=20)
    took = time.monotonic() - started
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and rel in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert took < 10, took  # the interpreter's start-up included; the read itself is instant
    return lines[0]


KINDS = ["fifo", "device", "huge"]


@pytest.mark.parametrize("kind", KINDS)
def test_reading_a_non_regular_file_is_one_line_and_instant(tmp_path: Path, kind: str) -> None:
    if kind == "device" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    replace_with(root / "etc/os-release", kind)
    fs = RootFS(root)
    started = time.monotonic()

    def hung(signum, frame):
        raise TimeoutError("read_text hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(3)
    try:
        with pytest.raises(RootError) as info:
            fs.read_text("etc/os-release")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 1
    assert str(info.value).startswith("etc/os-release: ") and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("fixture", "rel"),
    [
        ("precise-root", "etc/os-release"),
        ("precise-root", "etc/network/interfaces"),
        ("ubuntu-24.04-root", "etc/netplan/50-cloud-init.yaml"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_plan_on_a_root_with_a_non_regular_file(
    tmp_path: Path, fixture: str, rel: str, kind: str
) -> None:
    """Before: a FIFO hung plan for ever; a char device ate memory until MemoryError."""
    if kind == "device" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    root = copy_root(FIXTURES / fixture, tmp_path / "root")
    replace_with(root / rel, kind)
    plan_fails_fast(root, rel)
