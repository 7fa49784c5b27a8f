"""The unit tests' own fixture: the Ubuntu 12.04 fixture root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits.helpers import PRECISE_ROOT


@pytest.fixture(scope="session")
def precise_root() -> Path:
    return PRECISE_ROOT
