"""Shared test helpers: fixture roots copied to temp dirs, the reference folder, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
PRECISE_ROOT = FIXTURES / "precise-root"
REFERENCE = REPO.parent / "shared" / "reference"


def copy_root(source: Path, dest: Path) -> Path:
    """A writable copy of a fixture root (symlinks kept as links)."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: int = 120, **kwargs
) -> subprocess.CompletedProcess:
    """Run `python -m xenwizard ARGS` as a separate process, as an operator would."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("XENWIZARD_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "xenwizard", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        timeout=timeout,
        **kwargs,
    )
