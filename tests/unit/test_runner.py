"""The command runner: live line streaming, no stdin, exit codes, sandbox argv, clean interrupts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from xenwizard.engine.runner import CommandRunner, RunnerError


def test_lines_arrive_while_the_command_runs() -> None:
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    code = CommandRunner("/").run(
        ["sh", "-c", "echo first; sleep 0.6; echo second >&2; exit 3"],
        lambda line: seen.append((time.monotonic() - start, line)),
    )
    end = time.monotonic() - start
    assert code == 3
    assert [line for _, line in seen] == ["first", "second"]  # stderr merged, in order
    assert seen[0][0] < end - 0.4, "the first line must not wait for the command to finish"


def test_stdin_is_dev_null_and_env_is_passed() -> None:
    lines: list[str] = []
    start = time.monotonic()
    code = CommandRunner("/").run(
        ["sh", "-c", 'cat; echo "frontend=$DEBIAN_FRONTEND"'],
        lines.append,
        {"DEBIAN_FRONTEND": "noninteractive"},
    )
    assert code == 0
    assert lines == ["frontend=noninteractive"]
    assert time.monotonic() - start < 5


def test_odd_bytes_and_missing_final_newline() -> None:
    lines: list[str] = []
    CommandRunner("/").run(["printf", "caf\\351\\r\\nno newline"], lines.append)
    assert lines == ["caf\ufffd", "no newline"]


def test_the_sandbox_is_used_for_any_other_root(tmp_path: Path) -> None:
    """`/` runs the system's own programs; any other root's run in bwrap with the root as `/`,
    no network unless asked for (apt's downloads), and the argv shown is the one run."""
    assert CommandRunner("/").command(["apt-get", "-v"]) == ["apt-get", "-v"]
    assert CommandRunner("/").command(["apt-get", "-v"], network=True) == ["apt-get", "-v"]
    offline = CommandRunner(tmp_path).command(["apt-get", "-v"])
    assert offline[0] == "bwrap" and offline[-3:] == ["--", "apt-get", "-v"]
    assert offline[1:4] == ["--bind", str(tmp_path), "/"]
    assert "--unshare-net" in offline and "chroot" not in offline
    online = CommandRunner(tmp_path).command(["apt-get", "update"], network=True)
    assert "--unshare-net" not in online
    assert [a for a in offline if a != "--unshare-net"][:-2] == online[:-2]


def test_a_program_that_cannot_start_is_a_clear_error() -> None:
    with pytest.raises(RunnerError, match="no-such-program-xw: cannot run"):
        CommandRunner("/").run(["no-such-program-xw"], lambda line: None)


def test_interrupt_stops_the_command_and_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    def on_line(line: str) -> None:
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        CommandRunner("/").run(
            ["sh", "-c", f"sleep 30 & echo $! > {pidfile}; echo started; wait"], on_line
        )
    assert time.monotonic() - start < 10
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:  # the kill is sent, not yet reaped
        time.sleep(0.01)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper (containers' pid 1 may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
