"""The real-Xen tests' images start building in the background as soon as the run's tests are
collected, beside every other test (tests/vm/xenvm/prebuild.py), and whatever is left of that
build goes at the end of the run."""

from __future__ import annotations

import pytest

from tests.vm.xenvm import prebuild


def pytest_collection_finish(session: pytest.Session) -> None:
    """The real-Xen modules' images start building in the background now, beside every other
    test (tests/vm/xenvm/prebuild.py): each module's VM_SUITE, in the run's order."""
    if session.config.option.collectonly:
        return
    suites: list[str] = []
    for item in session.items:
        suite = getattr(getattr(item, "module", None), "VM_SUITE", None)
        if suite and item.get_closest_marker("xenvm") and suite not in suites:
            suites.append(suite)
    prebuild.start(suites)


def pytest_sessionfinish() -> None:
    prebuild.stop()
