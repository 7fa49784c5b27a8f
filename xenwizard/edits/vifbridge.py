"""/etc/xen/scripts/vif-bridge: the UDP checksum workaround (seed step 7).

In `case "$command" in`, in the section whose pattern includes `online` (Xen 4.1: `online)`,
current Xen: `add|online)`), directly after the `add_to_bridge` call, xenwizard adds

    ethtool -K ${dev} tx off || true  # xenwizard: UDP checksum workaround

with the indentation of the add_to_bridge line. The trailing comment marks the line as
xenwizard's (a one-line edit keeps the conffile diff small). `|| true` because the hotplug
scripts trap ERR (xen-hotplug-common.sh): a failing ethtool would fail the vif and the guest.
Other sections that call add_to_bridge (Xen 4.1's `add)`, for HVM taps) are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenwizard.edits import EditError, EditResult
from xenwizard.edits.text import Doc, Line, where

MARK = "# xenwizard: UDP checksum workaround"
ETHTOOL = "ethtool -K ${dev} tx off || true"
NOT_FOUND = (
    'no `online)` section with add_to_bridge in case "$command"; expected the Xen vif-bridge script'
)

_CASE_COMMAND = re.compile(r"\s*case\s+\"?\$\{?command\}?\"?\s+in\s*(#.*)?")
_CASE = re.compile(r"\s*case\s.*\sin(\s|$)")
_ESAC = re.compile(r"\s*esac\b")
_PATTERN = re.compile(r"\s*\(?\s*(?P<pats>[^()]*?)\s*\)(?P<rest>.*)")
_END = re.compile(r".*;;&?\s*(#.*)?$|.*;&\s*(#.*)?$")
_ADD_TO_BRIDGE = re.compile(r"\s*add_to_bridge\b")
_HAND_ETHTOOL = re.compile(
    r"\s*ethtool\s+(-K|--offload|--features)\s+\"?\$\{?dev\}?\"?\s+tx\s+off\b"
)


@dataclass(frozen=True, slots=True)
class _Section:
    patterns: tuple[str, ...]
    head: int  # index of the pattern line
    body: tuple[int, ...]  # indices after the pattern line up to and including the `;;` line
    one_line: bool  # commands on the pattern line itself


def _sections(lines: list[Line], start: int) -> list[_Section]:
    """The sections of the `case` whose `case ... in` line is at `start`."""
    sections: list[_Section] = []
    depth = 0
    expecting = True
    current: tuple[tuple[str, ...], int, bool] | None = None
    body: list[int] = []

    def close() -> None:
        if current is not None:
            sections.append(_Section(current[0], current[1], tuple(body), current[2]))

    for i in range(start + 1, len(lines)):
        text = lines[i].body
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            if current is not None and not expecting:
                body.append(i)
            continue
        if depth == 0 and _ESAC.match(text):
            close()
            return sections
        if depth == 0 and expecting:
            match = _PATTERN.fullmatch(text)
            if not match:
                raise EditError(f"vif-bridge: {where(lines[i])} is not a case pattern; {NOT_FOUND}")
            pats = tuple(p.strip().strip("'\"") for p in match["pats"].split("|"))
            rest = match["rest"].strip()
            close()
            current, body = (pats, i, bool(rest) and not rest.startswith("#")), []
            expecting = bool(_END.match(text))
            continue
        body.append(i)
        if _CASE.match(text):
            depth += 1
        elif _ESAC.match(text):
            depth -= 1
        elif depth == 0 and _END.match(text):
            expecting = True
    raise EditError(f'vif-bridge: case "$command" has no esac; {NOT_FOUND}')


def add_ethtool_line(text: str) -> EditResult:
    """vif-bridge with `ethtool -K ${dev} tx off` after add_to_bridge in the online section."""
    doc = Doc.parse(text)
    lines = doc.lines
    starts = [i for i, line in enumerate(lines) if _CASE_COMMAND.fullmatch(line.body)]
    target: _Section | None = None
    for start in starts:
        for section in _sections(lines, start):
            if "online" in section.patterns:
                target = section
                break
        if target is not None:
            break
    if target is None:
        raise EditError(NOT_FOUND)
    if target.one_line:
        raise EditError(
            f"vif-bridge: the `online)` section at {where(lines[target.head])} has its commands on "
            f"the pattern line; expected one command per line — {NOT_FOUND}"
        )
    add_at = next((i for i in target.body if _ADD_TO_BRIDGE.match(lines[i].body)), None)
    if add_at is None:
        raise EditError(NOT_FOUND)
    if _END.match(lines[add_at].body):
        raise EditError(
            f"vif-bridge: {where(lines[add_at])} ends the `online)` section with `;;` on the "
            "add_to_bridge line; expected `;;` on a line of its own"
        )

    indent = _indent(lines[add_at].body)
    wanted = f"{indent}{ETHTOOL}  {MARK}"
    ours = [i for i, line in enumerate(lines) if MARK in line.body]
    hand = [i for i in target.body if i not in ours and _HAND_ETHTOOL.match(lines[i].body)]
    keep_ours = not hand and add_at + 1 in ours and lines[add_at + 1].body == wanted
    notes: list[str] = []
    result: list[Line] = []
    for i, line in enumerate(lines):
        if i in ours and not (keep_ours and i == add_at + 1):
            notes.append(f"{where(line)}: removed xenwizard's stale ethtool line")
            continue
        result.append(line)
        if i == add_at and not hand and not keep_ours:
            result.append(doc.new(wanted))
            notes.append(
                f"added `{ETHTOOL}` after add_to_bridge ({where(line)}) in the "
                f"`{'|'.join(target.patterns)})` section"
            )
            notes.append(
                "`|| true`: the hotplug scripts trap errors, and a failing ethtool would fail "
                "the guest's network interface"
            )
    if hand:
        notes.insert(
            0, f"{where(lines[hand[0]])} `{lines[hand[0]].body.strip()}`: already there (by hand)"
        )
    out = doc.render(result)
    if out == text:
        return EditResult(out, ("already set: ethtool -K ${dev} tx off in the online section",))
    return EditResult(out, tuple(notes))


def remove_ethtool_line(text: str) -> EditResult:
    """vif-bridge without xenwizard's ethtool line (the workaround switched off on a re-run)."""
    doc = Doc.parse(text)
    kept = [line for line in doc.lines if MARK not in line.body]
    if len(kept) == len(doc.lines):
        return EditResult(text, ("UDP checksum workaround off: no xenwizard line to remove",))
    return EditResult(doc.render(kept), ("removed xenwizard's ethtool line (workaround off)",))


def _indent(text: str) -> str:
    """The line's leading whitespace."""
    return text[: len(text) - len(text.lstrip())]
