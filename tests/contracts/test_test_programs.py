"""Every program in scripts/test-programs is there, is of its package, and is the variant the
tests need (ebtables and iptables on nf_tables): a machine that scripts/dev-setup did not finish
fails here by name, not sixteen tests later inside a namespace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits import programs

LISTED = programs.listed()


@pytest.mark.parametrize("name", sorted(LISTED))
def test_program_is_installed_from_its_package_as_its_variant(name: str) -> None:
    program = LISTED[name]
    programs.require(name)
    assert programs.package_version(program.package) != "not installed", (
        f"{name} is there but its package {program.package} is not installed"
    )
    if program.variant:
        line = programs.version_line(program)
        assert program.variant in line.replace("(", " ").replace(")", " ").split(), (
            f"{name} is not the {program.variant} variant: {line!r}"
        )


def test_missing_program_fails_under_ci_and_skips_otherwise(tmp_path: Path) -> None:
    """The policy itself, run in a child pytest so its outcome can be read."""
    test = tmp_path / "test_needs.py"
    test.write_text(
        "from tests.kits import programs\n"
        "def test_needs():\n"
        "    programs.require('no-such-program-xenwizard')\n"
    )
    root = programs.LIST.parents[1]
    outcomes = {}
    for ci in ("true", ""):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"CI": ci, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        )
        outcomes[ci] = done.stdout
    assert "1 failed" in outcomes["true"] and "setup failure under CI" in outcomes["true"]
    assert "1 skipped" in outcomes[""]
