"""Whether the boot guard's units are in the target: the cheap question the wizard asks before
its first page, kept apart from bootguard.py so that asking it loads neither the engine's
runner nor the checks."""

from __future__ import annotations

import os

from xenwizard.edits import guardunits
from xenwizard.engine.freshness import link_location
from xenwizard.target.rootfs import RootFS

GUARD_FILES = (guardunits.TIMER_LINK, guardunits.TIMER_PATH, guardunits.SERVICE_PATH)


def guard_files(fs: RootFS) -> list[str]:
    """The guard's files present in the target (a link itself counts, followed or not)."""
    return [p for p in GUARD_FILES if os.path.lexists(link_location(fs, p))]
