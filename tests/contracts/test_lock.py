"""constraints.txt (scripts/lock) pins every package an install of xenwizard and its tests
takes, inside pyproject.toml's ranges, and this venv was installed from it."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[canonicalize_name(name)] = version
    return found


def requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]
    ]


def test_every_requirement_is_pinned_inside_its_range() -> None:
    locked = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in constraints.txt: run scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"constraints.txt pins {name}=={locked[name]}, outside pyproject's {requirement}"
        )


def test_this_venv_has_the_pinned_versions() -> None:
    """dev-setup (so CI) installs with --constraint constraints.txt: what is installed here,
    of what the lock names, is the locked version."""
    wrong = []
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # only on other Pythons (none today: the test extra names tomli)
        if installed != version:
            wrong.append(f"{name} {installed} (locked {version})")
    assert wrong == [], "reinstall with scripts/dev-setup"


def test_every_install_uses_the_lock() -> None:
    """dev-setup, the .deb build and the VM image install with the constraints."""
    uses = {
        "scripts/dev-setup": r"--constraint constraints\.txt",
        "debian/rules": r"PIP_CONSTRAINT = \$\(CURDIR\)/constraints\.txt",
        "tests/vm/xenvm/image.py": r'"--constraint",\n\s*"/tmp/wheels/constraints\.txt"',
    }
    for path, pattern in uses.items():
        assert re.search(pattern, (REPO / path).read_text()), path
