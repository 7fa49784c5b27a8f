"""Kernel parameters as the running system has them (/proc/sys), read without the engine:
the plan reads the value it will change, the engine's sysctl step reads it again to journal."""

from __future__ import annotations

from pathlib import Path

PROC_SYS = Path("/proc/sys")


def read(key: str) -> str | None:
    """The running value of `key` (None when the kernel has no such parameter)."""
    try:
        return (PROC_SYS / key.replace(".", "/")).read_text().strip()
    except OSError:
        return None
