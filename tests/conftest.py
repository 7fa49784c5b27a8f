"""Fixtures more than one folder uses: the shared reference files, real-program checks, the
pinned run id, the .deb built once per run (system/ and vm/ install it). Each folder's own are
in its conftest."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import REFERENCE, REPO
from xenwizard import __version__


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/reference, or a skip when this checkout has none beside it."""
    if not REFERENCE.is_dir():
        pytest.skip(f"no reference files at {REFERENCE}")
    return REFERENCE


def pytest_report_header() -> list[str]:
    """The version of every program the tests drive, once at the start of the run."""
    return ["programs the tests drive (scripts/test-programs):", *programs.report()]


def _run(argv: list[str], text: str, suffix: str) -> subprocess.CompletedProcess:
    """Run argv with `{}` replaced by a temporary file holding `text` (bytes as given)."""
    with tempfile.NamedTemporaryFile("w", suffix=suffix, newline="") as handle:
        handle.write(text)
        handle.flush()
        argv = [arg.replace("{}", handle.name) for arg in argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="session")
def shell_ok() -> Callable[[str], None]:
    """Assert that `bash -n` and `sh -n` both accept a script."""
    shells = [programs.require("bash"), programs.require("sh")]

    def check(text: str) -> None:
        for shell in shells:
            done = _run([shell, "-n", "{}"], text, ".sh")
            assert done.returncode == 0, f"{shell} -n: {done.stderr}\n{text}"

    return check


@pytest.fixture(scope="session")
def dnsmasq_ok() -> Callable[[str], None]:
    """Assert that the real `dnsmasq --test --conf-file=FILE` accepts a configuration."""
    dnsmasq = programs.require("dnsmasq")

    def check(text: str) -> None:
        done = _run([dnsmasq, "--test", "--conf-file={}"], text, ".conf")
        assert done.returncode == 0, f"dnsmasq --test: {done.stderr}\n{text}"

    return check


@pytest.fixture(scope="session")
def ifquery() -> Callable[[str, str], subprocess.CompletedProcess]:
    """Run ifupdown's `ifquery -i FILE ARGS` on an interfaces text (it parses like ifup)."""
    program = programs.require("ifquery")

    def query(text: str, *args: str) -> subprocess.CompletedProcess:
        return _run([program, "-i", "{}", *args], text, ".interfaces")

    return query


@pytest.fixture
def pinned_run_id() -> Iterator[None]:
    """Every run gets the gallery's run id, so pictures and paths are the same each time
    (a module asks for it with `pytestmark = pytest.mark.usefixtures("pinned_run_id")`)."""
    from tests.kits import gallery

    with gallery.pinned_run_id():
        yield


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Debian package built from this tree by scripts/build-deb (its .changes beside it),
    once per run: the package tests read it, the real-Xen test's Ansible role installs it."""
    for name in ("dpkg-buildpackage", "dh_virtualenv", "lintian"):
        programs.require(name)
    if os.geteuid() != 0:
        pytest.skip("needs root")
    out = tmp_path_factory.mktemp("deb")
    cache = Path(os.environ.get("XENWIZARD_TEST_CACHE", "/var/cache/xenwizard-tests"))
    env = {**os.environ, "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(cache / "pip"))}
    started = time.monotonic()
    done = subprocess.run(
        [str(REPO / "scripts/build-deb"), str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, f"scripts/build-deb failed:\n{done.stdout[-3000:]}{done.stderr}"
    elapsed = time.monotonic() - started
    debs = sorted(out.glob(f"xenwizard_{__version__}_*.deb"))
    assert len(debs) == 1, sorted(p.name for p in out.iterdir())
    print(f"build-deb: {elapsed:.0f}s, {debs[0].name} {debs[0].stat().st_size} bytes")
    return debs[0]
