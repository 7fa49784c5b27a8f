"""The engine side never imports textual: the CLI stays fast and the TUI wraps the events."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import REPO

MODULES = [
    "xenwizard.events",
    "xenwizard.engine",
    "xenwizard.journal",
    "xenwizard.runner",
    "xenwizard.hangup",
    "xenwizard.commands.apply",
    "xenwizard.commands.rollback",
    "xenwizard.commands.history",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
