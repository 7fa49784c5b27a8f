"""Fixtures of the system tests: namespaces cleaned up after each module, a booted Precise host,
the cached Debian 12 minbase tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import debian_chroot, programs


@pytest.fixture(scope="module", autouse=True)
def _netns_nothing_left_behind(request: pytest.FixtureRequest):
    """After a namespace test module: no namespace, interface, process or temp dir remains."""
    yield
    if request.node.get_closest_marker("netns") is not None:
        from tests.kits.netns import assert_nothing_left

        assert_nothing_left()


@pytest.fixture
def boot(request: pytest.FixtureRequest):
    """Boots a Precise host in namespaces from a fixture root the real apply wrote."""
    from tests.kits.netns import PreciseBoots

    with PreciseBoots(request.node.name) as boots:
        yield boots.boot


@pytest.fixture(scope="session")
def minbase_cache() -> Path:
    """The cached pristine bookworm minbase tree (tests/kits/debian_chroot.py)."""
    missing = debian_chroot.prerequisites()
    if missing:
        pytest.skip(missing)
    programs.require("debootstrap")
    return debian_chroot.ensure_minbase()
