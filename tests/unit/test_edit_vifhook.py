"""The vif-post.d hook: shell-valid, acts only on attach, never fails the vif."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from xenwizard.edits import EditError
from xenwizard.edits.vifhook import HOOK_PATH, MODE, render, set_hook


def _source(hook: Path, tmp_path: Path, command: str, ethtool_rc: int = 0) -> tuple[int, str]:
    """Source the hook like vif-bridge does (set -e, $command/$dev set), with a fake ethtool."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / "calls"
    fake = bin_dir / "ethtool"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{record}"\nexit {ethtool_rc}\n')
    fake.chmod(0o755)
    script = (
        f"set -e\ncommand={command}; dev=vif7.0; bridge=br0; type_if=vif\n"
        f'. "{hook}"\necho after-hook\n'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )
    calls = record.read_text() if record.exists() else ""
    assert "after-hook" in done.stdout, done.stderr  # sourced, never exits the caller
    return done.returncode, calls


@pytest.fixture
def hook(tmp_path: Path) -> Path:
    path = tmp_path / "xenwizard-udp-checksum.hook"
    path.write_text(render(True))
    return path


def test_path_and_mode() -> None:
    assert HOOK_PATH == "etc/xen/scripts/vif-post.d/xenwizard-udp-checksum.hook"
    assert MODE == 0o755


def test_shell_syntax(shell_ok) -> None:
    shell_ok(render(True))
    shell_ok(render(False))


@pytest.mark.parametrize("command", ["online", "add"])
def test_acts_on_attach(hook: Path, tmp_path: Path, command: str) -> None:
    code, calls = _source(hook, tmp_path, command)
    assert code == 0
    assert calls.strip() == "-K vif7.0 tx off"


@pytest.mark.parametrize("command", ["offline", "remove"])
def test_does_nothing_on_detach(hook: Path, tmp_path: Path, command: str) -> None:
    code, calls = _source(hook, tmp_path, command)
    assert (code, calls) == (0, "")


def test_a_failing_ethtool_does_not_fail_the_vif(hook: Path, tmp_path: Path) -> None:
    code, calls = _source(hook, tmp_path, "online", ethtool_rc=1)
    assert code == 0 and "tx off" in calls


def test_switched_off_hook_does_nothing(tmp_path: Path) -> None:
    path = tmp_path / "off.hook"
    path.write_text(render(False))
    assert _source(path, tmp_path, "online") == (0, "")


def test_set_hook_is_idempotent_and_refuses_a_foreign_file() -> None:
    created = set_hook(None, True)
    assert set_hook(created.text, True).text == created.text
    assert set_hook(created.text, False).text == render(False)
    with pytest.raises(EditError, match="not written by xenwizard"):
        set_hook("#!/bin/sh\nsomething else\n", True)
