"""Which packages the target has, read from ROOT/var/lib/dpkg/status (no dpkg needed on the host).

The engine records the full map before and after installing, so a rollback removes exactly the
packages the run added (dependencies included) and leaves everything that was there alone.
"""

from __future__ import annotations

from collections import Counter

from xenwizard.target.rootfs import RootFS

STATUS_FILE = "var/lib/dpkg/status"

# dpkg states in which a package's files are (at least partly) on disk and need removing.
PRESENT_STATES = frozenset(
    {
        "installed",
        "unpacked",
        "half-installed",
        "half-configured",
        "triggers-awaited",
        "triggers-pending",
    }
)


def package_states(root: RootFS) -> dict[str, str]:
    """Package name -> dpkg state ("installed", "config-files", ...).

    A package present for two architectures (multiarch) is keyed `name:arch`, which apt accepts.
    """
    text = root.read_text(STATUS_FILE) or ""
    entries: list[tuple[str, str, str]] = []
    for stanza in text.split("\n\n"):
        name = status = None
        arch = ""
        for line in stanza.splitlines():
            if line.startswith("Package:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("Status:"):
                status = line.split(":", 1)[1].split()
            elif line.startswith("Architecture:"):
                arch = line.split(":", 1)[1].strip()
        if name and status and len(status) == 3:
            entries.append((name, arch, status[2]))
    counts = Counter(name for name, _, _ in entries)
    return {
        (name if counts[name] == 1 else f"{name}:{arch}"): state for name, arch, state in entries
    }


def installed(states: dict[str, str]) -> set[str]:
    """Packages fully installed (`Status: install ok installed`)."""
    return {name for name, state in states.items() if state == "installed"}


def present(states: dict[str, str]) -> set[str]:
    """Packages with files on disk, including ones a killed dpkg left half-done."""
    return {name for name, state in states.items() if state in PRESENT_STATES}
