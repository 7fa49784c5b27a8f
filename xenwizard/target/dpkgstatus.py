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


def installed_version(root: RootFS, package: str) -> str | None:
    """The version of `package` when it is fully installed (None otherwise). Only its stanza
    is parsed: a status file is ~1 MB, and the plan asks for one package."""
    import re

    text = root.read_text(STATUS_FILE) or ""
    for match in re.finditer(rf"^Package: {re.escape(package)}\n", text, re.M):
        end = text.find("\n\n", match.start())
        fields: dict[str, str] = {}
        for line in text[match.start() : end if end >= 0 else None].splitlines():
            key, sep, value = line.partition(":")
            if sep and not key.startswith((" ", "\t")):
                fields[key] = value.strip()
        if fields.get("Status", "").split()[2:] == ["installed"] and "Version" in fields:
            return fields["Version"]
    return None


def compare_versions(a: str, b: str) -> int:
    """dpkg's order of two versions (deb-version(7)): -1, 0 or 1, as `dpkg --compare-versions`."""
    (ea, ua, ra), (eb, ub, rb) = _split(a), _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def _split(version: str) -> tuple[int, str, str]:
    epoch, _, rest = version.partition(":") if ":" in version else ("0", "", version)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
    return int(epoch or 0), upstream, revision


def _order(c: str) -> int:
    """dpkg's character order: ~ before everything (even the end), letters before the rest."""
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    return ord(c) if c.isalpha() else ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: non-digit runs character by character, digit runs as numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ca = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            cb = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ca != cb:
                return -1 if ca < cb else 1
            i, j = i + 1, j + 1
        si = i
        while i < len(a) and a[i].isdigit():
            i += 1
        sj = j
        while j < len(b) and b[j].isdigit():
            j += 1
        na, nb = int(a[si:i] or 0), int(b[sj:j] or 0)
        if na != nb:
            return -1 if na < nb else 1
    return 0
