"""The external programs the tests drive, from the one list that scripts/dev-setup installs
(scripts/test-programs): where each is, its package's version, and what a test does when one is
missing — a skip on a developer's partial setup, a setup failure under CI, where a skip would
let the suite go green without the proof."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple, NoReturn

import pytest

LIST = Path(__file__).resolve().parents[2] / "scripts" / "test-programs"
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


class Program(NamedTuple):
    name: str
    package: str
    variant: str  # a word its --version must print, or ""


def listed() -> dict[str, Program]:
    """scripts/test-programs by program name."""
    table = {}
    for line in LIST.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            name, package, *variant = fields
            table[name] = Program(name, package, variant[0] if variant else "")
    return table


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def locate(name: str) -> str | None:
    """The program's path on PATH or in the sbin directories (root's PATH may lack them)."""
    if name.startswith("/"):
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name) or shutil.which(name, path=SBIN)


def missing(name: str, why: str = "") -> NoReturn:
    """A needed program is not there: skip for a developer, fail the test under CI."""
    program = listed().get(name)
    package = (
        f" (Debian package {program.package}; scripts/dev-setup installs it)" if program else ""
    )
    message = f"{name} is not installed{package}{': ' + why if why else ''}"
    if under_ci():
        pytest.fail(f"setup failure under CI: {message}", pytrace=False)
    pytest.skip(message)


def require(name: str) -> str:
    """The path of a program the test needs; see `missing` for when it is not there."""
    path = locate(name)
    if path is None:
        missing(name)
    return path


def package_version(package: str) -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "not installed"


def version_line(program: Program) -> str:
    """The first line a program prints for --version (where the variant is read)."""
    path = locate(program.name)
    if path is None:
        return ""
    done = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    return (done.stdout + done.stderr).strip().splitlines()[0] if done.stdout + done.stderr else ""


def report() -> list[str]:
    """One line per package: its version and the programs of it that the tests drive, with the
    variant where it matters; a missing program is named."""
    by_package: dict[str, list[str]] = {}
    for program in listed().values():
        label = program.name if locate(program.name) else f"{program.name} MISSING"
        if program.variant:
            label += f" [{version_line(program) or '?'}]"
        by_package.setdefault(program.package, []).append(label)
    return [
        f"  {package} {package_version(package)}: {', '.join(names)}"
        for package, names in by_package.items()
    ]
