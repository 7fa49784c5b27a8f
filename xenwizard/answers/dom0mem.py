"""dom0's memory: the default rule, the accepted sizes and limits (`planning.dom0size` applies
them to a target's RAM).

Pure (no I/O, no textual): the answers, the plan, preflight and the wizard page all ask here, so
the rule the page states in one line is the rule the plan applies. Sizes are MiB throughout.

Why this rule: Xen's best-practices page advises a fixed dom0 size of 1-4 GiB with ballooning
off; XenServer computes 752 MiB + 1% of the RAM, capped at 8 GiB. A Debian or Ubuntu dom0 runs
little beyond xl, the backends, dnsmasq and sshd, so 1 GiB is a floor that boots comfortably,
2% of the RAM grows it with the number of guests a machine can hold (their backends, the page
cache of their disks), and 4 GiB caps it at the top of Xen's advice (reached at 150 GiB). It
never takes more than the RAM less the guest headroom, so a small machine keeps room for one
guest, and never less than `MIN_MIB`.
"""

from __future__ import annotations

import re

BASE_MIB = 1024
PERCENT = 2
CAP_MIB = 4096
MIN_MIB = 512  # the least dom0 gets: Debian with xl, the backends, dnsmasq and sshd is tight below
GUEST_HEADROOM_MIB = 512  # what must be left beside dom0 for one small guest (and Xen itself)
MAX_MIB = 16 * 1024 * 1024  # 16 TiB: more than any host Xen supports
UNKNOWN_RAM_MIB = 1024  # the default when the target's RAM is not known
RULE = f"1 GiB + {PERCENT}% of RAM, at most 4 GiB and the RAM less {GUEST_HEADROOM_MIB} MiB"
SHAPES = "1024, 1024M, 1024MiB, 2G or 2GiB"
EXPECTED = f"expected a size in MiB or GiB like {SHAPES}"

_SIZE = re.compile(r"(?P<num>[0-9]{1,12})\s*(?P<unit>|m|mib|g|gib)", re.IGNORECASE)
_UNIT_MIB = {"": 1, "m": 1, "mib": 1, "g": 1024, "gib": 1024}


def parse_size(text: str) -> int:
    """MiB from a size as the page, the flag and the answers file take it."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(EXPECTED)
    return int(match["num"]) * _UNIT_MIB[match["unit"].lower()]


def default_mib(total_mib: int) -> int:
    """The rule (`RULE`) for a machine with `total_mib` of RAM; below 1 GiB of RAM the floor
    `MIN_MIB` wins over the guests' share (the preflight warning says so)."""
    rule = BASE_MIB + total_mib * PERCENT // 100
    return max(min(rule, CAP_MIB, total_mib - GUEST_HEADROOM_MIB), MIN_MIB)


def problem(mib: int, total_mib: int | None) -> str | None:
    """Why dom0 cannot have `mib` on a machine with `total_mib` (None: RAM unknown), or None."""
    if mib < MIN_MIB:
        return f"{mib} MiB is too little for dom0; it needs at least {MIN_MIB} MiB"
    if total_mib is not None and mib > total_mib:
        return f"{mib} MiB is more than the machine has ({total_mib} MiB of RAM)"
    if mib > MAX_MIB:
        return f"{mib} MiB is more than any Xen host has (at most {MAX_MIB} MiB, 16 TiB)"
    return None


def check(text: str) -> str | None:
    """The answer alone (no RAM known): the reason it is refused, or None."""
    try:
        mib = parse_size(text)
    except ValueError as exc:
        return str(exc)
    return problem(mib, None)


def normalise(text: str) -> str:
    """A valid size as the answers file writes it: NNNNM."""
    return f"{parse_size(text)}M"
