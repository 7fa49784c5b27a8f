"""`xenwizard --demo` as a new user meets it: the real CLI in a real terminal (tmux, 80x24).

The demo works on a copy of the packaged Debian 12 sample in a temporary directory (TMPDIR
points at the test's own). The screens name that copy by its real path so it can be looked at
from another terminal while the wizard runs; it must be gone after every exit: the last page,
a confirmed quit, and a closed terminal (tmux kill-server: SIGHUP and a hung-up tty).
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits.helpers import REPO
from tests.vm.xenvm.terminal import Tmux


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR with a short path, so the copy's path fits a line of the 80-column pages."""
    temp = Path(tempfile.mkdtemp(prefix="xwd-"))
    yield temp
    shutil.rmtree(temp, ignore_errors=True)


def start(tmp_path: Path, temp: Path, *args: str) -> tuple[Tmux, Path]:
    argv = [sys.executable, "-m", "xenwizard", "--demo", *args]
    command = (
        f"cd {shlex.quote(str(REPO))} && TMPDIR={shlex.quote(str(temp))} "
        f"TERM=xterm-256color {shlex.join(argv)}"
    )
    return Tmux(tmp_path, command, tmp_path / "exit"), temp


def copies(temp: Path) -> list[Path]:
    return sorted(temp.glob("xenwizard-demo-*"))


def wait_gone(temp: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while copies(temp) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not copies(temp), f"the demo's copy was left behind: {copies(temp)}"


def test_demo_shows_debian_12_its_real_path_and_removes_it_on_the_last_page(
    tmp_path: Path, short_tmp: Path
) -> None:
    term, temp = start(tmp_path, short_tmp)
    try:
        welcome = term.wait_for("[1/9] Welcome", 60, "welcome")
        (copy,) = copies(temp)
        assert "Debian GNU/Linux 12" in welcome and "debian-12" in welcome, welcome
        assert str(copy / "root") in welcome, welcome  # on the Root row, or under it when long
        assert "(the demo writes only its sample copy)" in welcome, welcome
        term.press("Enter")
        term.wait_for("[2/9]", 30, "bridge page")
        term.press("Enter")
        term.wait_for("[3/9]", 30, "subnet page")
        term.press("Enter")
        term.wait_for("[4/9]", 30, "DHCP page")
        term.press("Enter")
        term.wait_for("[5/9]", 30, "dom0 memory page")
        term.press("Enter")
        term.wait_for("[6/9]", 30, "toolstack page")
        term.press("Enter")
        term.wait_for(lambda s: "[7/9]" in s and "steps change something" in s, 60, "preview")
        term.press("a")
        term.wait_for("Apply (y)", 30, "apply confirmation")
        term.press("y")
        term.wait_for("APPLIED", 60, "apply")
        term.press("Enter")
        done = term.wait_for("[9/9]", 30, "done page")
        flat = " ".join(done.split())
        assert "Demo: what was written is in this copy of the sample system" in flat, done
        assert "it is deleted when you quit" in flat and str(copy / "root") in done, done
        # what the screens promise: the copy is there to look at, with the files written
        written = (copy / "root/etc/network/interfaces").read_text()
        assert "iface br0 inet static" in written, written
        term.press("Enter")
        assert term.exit_code(30, "exit") == 0
        wait_gone(temp)
    finally:
        term.close()


def test_a_closed_terminal_removes_the_copy(tmp_path: Path, short_tmp: Path) -> None:
    """Before, SIGHUP killed the process outright and the copy stayed in /tmp."""
    term, temp = start(tmp_path, short_tmp)
    try:
        term.wait_for("[1/9] Welcome", 60, "welcome")
        term.press("Enter")
        term.wait_for("[2/9]", 30, "bridge page")
        assert len(copies(temp)) == 1
    finally:
        term.close()  # kill-server: SIGHUP to the pane's processes, the tty hung up
    wait_gone(temp)


@pytest.mark.parametrize("sample", ["ubuntu-12.04"])
def test_the_12_04_sample_is_a_choice_and_a_quit_removes_it(
    tmp_path: Path, short_tmp: Path, sample: str
) -> None:
    term, temp = start(tmp_path, short_tmp, sample)
    try:
        welcome = term.wait_for("[1/9] Welcome", 60, "welcome")
        assert "ubuntu-precise" in welcome, welcome
        term.press("C-q")
        term.wait_for("Quit", 30, "quit confirmation")
        term.press("y")
        assert term.exit_code(30, "exit") == 2  # quit before an apply
        wait_gone(temp)
    finally:
        term.close()


def wizard_pid(term: Tmux) -> int:
    """The wizard's process: the child of the pane's shell."""
    shell = term._tmux("display-message", "-p", "#{pane_pid}").strip()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("the wizard's process was not found")


@pytest.mark.parametrize("signame", ["TERM", "INT"])
def test_sigterm_and_sigint_restore_the_terminal_and_remove_the_copy(
    tmp_path: Path, short_tmp: Path, signame: str
) -> None:
    """Issue 26 item 3: `kill PID` (and SIGINT from outside) end the wizard like a hang-up:
    the alternate screen left, the cursor shown, the demo's copy removed, exit code 2 (quit
    before an apply). Before: SIGTERM exited 143 with the screen garbled and the copy left."""
    import os
    import signal

    code_file = tmp_path / "code"
    argv = [sys.executable, "-m", "xenwizard", "--demo"]
    command = (
        f"cd {shlex.quote(str(REPO))} && TMPDIR={shlex.quote(str(short_tmp))} "
        f"TERM=xterm-256color {shlex.join(argv)}; echo $? > {shlex.quote(str(code_file))}; "
        "sleep 600"  # the pane stays, so its terminal state can be read after the exit
    )
    term = Tmux(tmp_path, command, tmp_path / "exit")
    try:
        term.wait_for("[1/9] Welcome", 60, "welcome")
        term.press("Enter")
        term.wait_for("[2/9]", 30, "bridge page")
        assert len(copies(short_tmp)) == 1
        state = term._tmux("display-message", "-p", "#{alternate_on} #{cursor_flag}").split()
        assert state[0] == "1", state  # the wizard runs on the alternate screen
        os.kill(wizard_pid(term), getattr(signal, f"SIG{signame}"))
        deadline = time.monotonic() + 30
        while not (code_file.exists() and code_file.read_text().strip()):
            assert time.monotonic() < deadline, term.screen()
            time.sleep(0.2)
        assert int(code_file.read_text()) == 2, term.screen()
        state = term._tmux("display-message", "-p", "#{alternate_on} #{cursor_flag}").split()
        assert state == ["0", "1"], state  # the alternate screen left, the cursor shown
        wait_gone(short_tmp, 5)
    finally:
        term.close()
