"""Issue 13, findings 5 and 6: names read from the root are checked like the operator's input,
text from the root or from commands reaches neither terminal nor log raw, commands get a clean
environment, and the files xenwizard writes outside the root are private and follow no link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.kits.enginekit import FakeRunner, fresh_root, precise_plan
from tests.kits.helpers import FIXTURES, REPO, copy_root, run_cli
from xenwizard.engine.executor import Engine
from xenwizard.engine.runner import CommandRunner
from xenwizard.target.rootfs import RootFS

ESC = "\x1b"
LOUD = f"{ESC}]0;pwned{chr(7)}{ESC}[31mred"


class LoudRunner(FakeRunner):
    """apt-get update prints a title-setting and a colour escape, as a hostile mirror might."""

    def run(self, argv, on_line, env=None, network=False) -> int:
        if list(argv[:2]) == ["apt-get", "update"]:
            on_line(LOUD)
        return super().run(argv, on_line, env, network)


def root_with_nic(tmp_path: Path, name: str) -> Path:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    path = root / "etc/network/interfaces"
    path.write_text(path.read_text().replace("eno1", name))
    return root


def test_a_nic_name_that_is_an_option_never_reaches_ifup(tmp_path: Path) -> None:
    """Before: `--state-dir=DIR` from the root's interfaces went to ifup and bridge_ports."""
    host_dir = tmp_path / "host-state"
    root = root_with_nic(tmp_path, f"--state-dir={host_dir}")
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "NIC name '--state-dir=" in lines[0], done.stderr
    assert lines[0].endswith("; not used")
    assert "bridge_ports --state-dir" not in done.stdout
    assert not host_dir.exists()


def test_control_characters_in_a_nic_name_reach_no_terminal(tmp_path: Path) -> None:
    root = root_with_nic(tmp_path, f"e{ESC}]0;pwned{chr(7)}")
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1, done
    assert ESC not in done.stderr and ESC not in done.stdout and "\x07" not in done.stderr
    assert "\\x1b" in done.stderr


def test_command_output_is_escaped_on_screen_and_in_the_log(tmp_path: Path) -> None:
    """Before: apt's (any command's) output reached the terminal and the log raw."""
    root = fresh_root(tmp_path)
    seen: list[object] = []
    result = Engine(precise_plan(root), RootFS(root), LoudRunner(root), seen.append).apply()
    assert result.outcome == "applied"
    texts = [repr(event) for event in seen]
    assert not any(ESC in t.encode().decode("unicode_escape", "ignore") for t in texts if ESC in t)
    assert all(ESC not in str(getattr(e, "line", "")) for e in seen)
    assert any("\\x1b]0;pwned\\x07\\x1b[31mred" in str(getattr(e, "line", "")) for e in seen)
    log = (root / "var/log/xenwizard.log").read_text()
    assert ESC not in log and "\\x1b[31mred" in log


def test_commands_get_a_clean_environment_on_the_live_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: with --root / the operator's whole environment (APT_CONFIG, LD_*) reached apt."""
    monkeypatch.setenv("APT_CONFIG", "/tmp/evil-apt.conf")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/nonexistent-xenwizard")
    lines: list[str] = []
    code = CommandRunner("/").run(["env"], lines.append, {"DEBIAN_FRONTEND": "noninteractive"})
    assert code == 0
    names = {line.split("=", 1)[0] for line in lines}
    assert "APT_CONFIG" not in names and "LD_LIBRARY_PATH" not in names
    assert {"PATH", "LANG", "DEBIAN_FRONTEND"} <= names


def test_the_error_log_is_private_and_not_in_a_shared_tmp(tmp_path: Path) -> None:
    """Before: a fixed /tmp/xenwizard-error-0.log, opened for append through any symlink."""
    from xenwizard.engine.privatefile import append_private, default_error_log

    root = fresh_root(tmp_path)
    path = default_error_log(RootFS(root))
    assert not path.startswith("/tmp/xenwizard-error")
    if os.geteuid() == 0:
        assert path == str(root / "var/log/xenwizard-error.log")
    append_private(path, "one\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    victim = tmp_path / "victim"
    victim.write_text("mine\n")
    planted = tmp_path / "planted.log"
    planted.symlink_to(victim)
    with pytest.raises(OSError):
        append_private(planted, "through the link\n")
    assert victim.read_text() == "mine\n"


def test_a_saved_plan_is_private_and_replaces_a_planted_link(tmp_path: Path) -> None:
    """Before: ./xenwizard-plan.diff was written 0644, following a symlink."""
    from xenwizard.engine.privatefile import write_private

    victim = tmp_path / "victim"
    victim.write_text("mine\n")
    target = tmp_path / "xenwizard-plan.diff"
    target.symlink_to(victim)
    write_private(target, b"the plan\n")
    assert victim.read_text() == "mine\n"
    assert not target.is_symlink() and target.read_text() == "the plan\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_plan_with_root_only_context_says_so(tmp_path: Path) -> None:
    from xenwizard.planning.render import root_only_files

    root = fresh_root(tmp_path)
    assert root_only_files(precise_plan(root)) == []
    os.chmod(root / "etc/network/interfaces", 0o600)
    assert root_only_files(precise_plan(root)) == ["etc/network/interfaces"]


def test_the_product_has_no_ready_file_hook() -> None:
    """Before: XENWIZARD_READY_FILE made the wizard (root) write any path."""
    hits = [
        path
        for path in (REPO / "xenwizard").rglob("*.py")
        if "XENWIZARD_READY_FILE" in path.read_text()
    ]
    assert hits == []
    assert "XENWIZARD_READY_FILE" in (REPO / "bench/wizard_ready.py").read_text()


def test_terminal_text_keeps_lines_and_escapes_the_rest() -> None:
    from xenwizard.textsafe import escape_control, terminal_text

    assert escape_control(f"a{ESC}]0;t\x07b\tc") == "a\\x1b]0;t\\x07b\tc"
    assert terminal_text(f"one{ESC}[2J\ntwo\n") == "one\\x1b[2J\ntwo\n"


def test_a_run_dir_with_control_characters_in_its_name_is_not_listed(tmp_path: Path) -> None:
    from xenwizard.engine.journal import Journal, list_runs

    root = fresh_root(tmp_path)
    Journal.create(RootFS(root), f"x{ESC}]0;t", {"steps": []}, {}).append({"type": "run"})
    assert list_runs(RootFS(root)) == []
