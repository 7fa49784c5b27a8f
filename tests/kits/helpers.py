"""Shared test helpers: fixture roots copied to temp dirs, the reference folder, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from xenwizard.answers.model import WizardConfig
    from xenwizard.planning.plan import Plan
    from xenwizard.target.probe import SystemFacts

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
PRECISE_ROOT = FIXTURES / "precise-root"
REFERENCE = REPO.parent / "shared" / "reference"


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name, found by walking it (no hand-kept list to
    forget a new module in); the sample systems under `samples/` are data, not modules."""
    package = REPO / "xenwizard"
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if "samples" not in parts:
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


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


def plan_for(
    root: Path,
    config: WizardConfig | None = None,
    facts: SystemFacts | None = None,
    profile: str | None = None,
) -> Plan:
    """The plan for a root as `xenwizard plan --root` makes it (files only, no live probe)."""
    from xenwizard.answers.model import WizardConfig
    from xenwizard.planning.profiles import make_plan
    from xenwizard.target.probe import probe
    from xenwizard.target.rootfs import RootFS

    fs = RootFS(root)
    return make_plan(config or WizardConfig(), facts or probe(fs, live=False), fs, profile)


def reference_applied(tmp_path: Path) -> dict:
    """The tree an undisturbed apply of the seed plan (packages skipped) leaves."""
    from tests.kits.enginekit import fresh_root, manifest, precise_plan
    from xenwizard.engine.executor import Engine
    from xenwizard.engine.runner import CommandRunner
    from xenwizard.target.rootfs import RootFS

    root = fresh_root(tmp_path, "reference")
    engine = Engine(precise_plan(root), RootFS(root), CommandRunner(root), skip_packages=True)
    assert engine.apply().outcome == "applied"
    return manifest(root)


def unpacked_debian_package(name: str, where: Path) -> Path:
    """The real Debian package `name` from this machine's apt sources, downloaded with
    `apt-get download` and unpacked under `where`; a skip when it cannot be fetched."""
    from tests.kits import programs

    programs.require("apt-get")
    programs.require("dpkg-deb")
    try:
        subprocess.run(
            ["apt-get", "download", "-qq", name],
            cwd=where,
            check=True,
            capture_output=True,
            timeout=60,
        )
        deb = next(where.glob(f"{name}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(where / "x")], check=True, timeout=60)
    except (subprocess.SubprocessError, StopIteration, OSError) as exc:
        pytest.skip(f"could not fetch {name}: {exc}")
    return where / "x"
