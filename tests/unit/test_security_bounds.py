"""Issue 24, finding 4 and part of 7: parsing what the target (or an answers file) holds, with
bounds. A 785-byte netplan alias bomb made `plan` take 41 s and 1.47 GB before MemoryError; a
TOML answers file nested 5000 deep gave "internal error: RecursionError" and a 300 MB one was
read whole; `ifup --no-act` followed a relative `source ../../etc/passwd` from the root's
interfaces file to the host's file, and a `source` of a FIFO stalled `plan` for 30 s."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, REPO, run_cli
from xenwizard.planning.netcheck import check_ifupdown, find_program
from xenwizard.target.rootfs import RootFS

LIMIT = 256 * 1024 * 1024  # address space of the process that parses


def alias_bomb(levels: int = 11) -> str:
    """Each level a list of ten aliases of the one before: 10**levels nodes once expanded."""
    lines = ["network:", "  version: 2", "  x0: &a0 [a, b, c, d, e, f, g, h, i, j]"]
    for i in range(1, levels + 1):
        lines.append(f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


PARSE = """
import sys, time
from xenwizard.edits import yamldoc
text = sys.stdin.read()
started = time.monotonic()
try:
    yamldoc.parse(text).data()
    print("parsed")
except yamldoc.YamlError as exc:
    print(f"refused {time.monotonic() - started:.3f} {exc}")
"""


def test_a_netplan_alias_bomb_is_refused_within_a_second_under_256_mib() -> None:
    bomb = alias_bomb()
    assert len(bomb) < 800
    done = subprocess.run(
        [sys.executable, "-c", PARSE], input=bomb, capture_output=True, text=True,
        cwd=REPO, timeout=30, preexec_fn=limited,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
    word, seconds, message = done.stdout.strip().split(" ", 2)
    assert word == "refused" and float(seconds) < 1.0, done.stdout
    assert "alias" in message and "\n" not in message, message


def test_plan_on_a_root_with_an_alias_bomb_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "ubuntu-24.04-root", root, symlinks=True)
    (root / "etc/netplan/99-bomb.yaml").write_text(alias_bomb())
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "xenwizard", "plan", "--root", str(root)],
        capture_output=True, text=True, cwd=REPO, timeout=60, preexec_fn=limited,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr[-500:]
    assert "etc/netplan/99-bomb.yaml" in lines[0] and "alias" in lines[0], lines
    assert time.monotonic() - started < 20


def test_a_deeply_nested_answers_file_is_one_line(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text("bridge = " + "[" * 5000 + "]" * 5000 + "\n")
    done = run_cli("plan", "--answers", str(answers), "--root", str(FIXTURES / "precise-root"))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr[-500:]
    assert "internal error" not in lines[0] and "nested too deep" in lines[0], lines


def test_a_huge_answers_file_is_refused_unread(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    with open(answers, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: 300 MB that cost no disk
    done = subprocess.run(
        [sys.executable, "-m", "xenwizard", "plan", "--answers", str(answers),
         "--root", str(FIXTURES / "precise-root")],
        capture_output=True, text=True, cwd=REPO, timeout=60, preexec_fn=limited,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr[-500:]
    assert "bigger than" in lines[0], lines


@pytest.fixture
def ifup_root(tmp_path: Path) -> RootFS:
    if find_program("ifup") is None:
        pytest.skip("ifup is not installed (package ifupdown)")
    root = tmp_path / "root"
    (root / "etc/network/interfaces.d").mkdir(parents=True)
    return RootFS(root)


BASE = "auto lo\niface lo inet loopback\n"


def test_ifup_never_reads_a_host_file_through_a_relative_source(
    ifup_root: RootFS, tmp_path: Path
) -> None:
    """Before: the relative source, taken against ifup's scratch copy, read the host's file."""
    outside = tmp_path / "outside"
    outside.write_text("auto eth9\niface eth9 inet bogusmethod\n")  # ifup fails if it reads it
    ups = "../" * 40
    checked = check_ifupdown(f"{BASE}source {ups}{outside.as_posix().lstrip('/')}\n", ifup_root)
    assert "bogusmethod" not in checked.message, checked
    assert checked.ok is not False, checked


@pytest.mark.parametrize("how", ["fifo", "link-to-dev-zero", "relative-dev-zero"])
def test_ifup_is_never_given_a_source_that_is_not_a_regular_file_of_the_root(
    ifup_root: RootFS, how: str
) -> None:
    root = ifup_root.real_root
    if how == "fifo":
        os.mkfifo(root / "etc/network/interfaces.d/stall")
        line = "source /etc/network/interfaces.d/stall"
    elif how == "link-to-dev-zero":
        (root / "etc/network/interfaces.d/zero").symlink_to("/dev/zero")
        line = "source /etc/network/interfaces.d/*"
    else:
        (root / "dev").mkdir()
        (root / "dev/zero").symlink_to("/dev/zero")
        line = "source ../../dev/zero"
    started = time.monotonic()
    checked = check_ifupdown(f"{BASE}{line}\n", ifup_root)
    assert time.monotonic() - started < 10, checked
    assert checked.ok is None and checked.message.startswith("not validated: "), checked
    assert "\n" not in checked.message
