"""/etc/xen/xend-config.sxp: bridged networking for xend (seed step 3), dom0 never ballooned.

The file is a list of s-expressions with `#` comments. xenwizard wants exactly one active
`(network-script 'network-bridge bridge=BR')` and one active `(vif-script 'vif-bridge bridge=BR')`,
and, with dom0's memory fixed on Xen's command line, `(enable-dom0-ballooning no)` and
`(dom0-min-mem MIB)`: xend then never shrinks dom0 to make room for a guest (xl.conf's
autoballoon is xl's equivalent). Its own lines go in a `# BEGIN xenwizard` / `# END xenwizard`
block; every other active line of those settings is commented out with `# ` in front (the text
kept), so xend sees one of each. Upstream Xen 4.1 ships all four active (ballooning on, a minimum
of 196 MB); Debian's packaging drops network-script.
"""

from __future__ import annotations

from dataclasses import dataclass

from xenwizard.edits import EditError, EditResult
from xenwizard.edits.text import (
    Doc,
    append_lines,
    block_lines,
    comment_out,
    find_block,
    same_bodies,
    where,
)

WHAT = "xend-config.sxp"
KINDS = ("network-script", "vif-script")
MEMORY_KINDS = ("enable-dom0-ballooning", "dom0-min-mem")
_SPACE = " \t\r\n\f\v"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


# --- a tiny s-expression reader -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Top:
    """A top-level expression and the 0-based line indices it starts and ends on."""

    value: object
    first: int
    last: int


def _read(text: str) -> list[_Top]:
    """Top-level expressions with their line spans; EditError when the text does not parse."""
    tops: list[_Top] = []
    stack: list[tuple[list[object], int]] = []  # open lists and the line each opened on
    line = 0
    i, n = 0, len(text)

    def add(value: object, first: int, last: int) -> None:
        if stack:
            stack[-1][0].append(value)
        else:
            tops.append(_Top(value, first, last))

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in _SPACE:
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c == "(":
            stack.append(([], line))
            i += 1
        elif c == ")":
            if not stack:
                raise EditError(f"{WHAT}: unbalanced ')' on line {line + 1}")
            items, opened = stack.pop()
            add(items, opened, line)
            i += 1
        elif c in "'\"":
            start_line, quote, chars = line, c, []
            i += 1
            while True:
                if i >= n:
                    raise EditError(
                        f"{WHAT}: string opened on line {start_line + 1} is never closed"
                    )
                ch = text[i]
                if ch == quote:
                    i += 1
                    break
                if ch == "\\" and i + 1 < n:
                    chars.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                    i += 2
                    continue
                if ch == "\n":
                    line += 1
                chars.append(ch)
                i += 1
            add("".join(chars), start_line, line)
        else:
            start = i
            while i < n and text[i] not in _SPACE and text[i] not in "()#'\"":
                i += 1
            add(text[start:i], line, line)
    if stack:
        raise EditError(f"{WHAT}: unbalanced '(' opened on line {stack[-1][1] + 1} is never closed")
    return tops


def parse_sxp(text: str) -> list[object]:
    """The file's top-level s-expressions as nested lists of strings (comments dropped).

    Raises EditError on unbalanced parentheses or an unterminated string.
    """
    return [top.value for top in _read(text)]


# --- the edit -----------------------------------------------------------------------------------


def _wanted(bridge: str, dom0_mib: int | None) -> dict[str, str]:
    wanted = {
        "network-script": f"(network-script 'network-bridge bridge={bridge}')",
        "vif-script": f"(vif-script 'vif-bridge bridge={bridge}')",
    }
    if dom0_mib is not None:
        wanted["enable-dom0-ballooning"] = "(enable-dom0-ballooning no)"
        wanted["dom0-min-mem"] = f"(dom0-min-mem {dom0_mib})"
    return wanted


def _normal(value: object) -> object:
    """An expression with runs of blanks inside strings folded, for comparing settings."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return " ".join(str(value).split())


def set_bridge_scripts(text: str, bridge: str, dom0_mib: int | None = None) -> EditResult:
    """One active network-bridge and one active vif-bridge line for `bridge`; others disabled.
    With `dom0_mib`, also dom0 ballooning off and its minimum at that size."""
    doc = Doc.parse(text)
    lines = doc.lines
    tops = _read(text)  # raises EditError when the file does not parse
    block = find_block(lines, WHAT)
    wanted = _wanted(bridge, dom0_mib)
    kinds = tuple(wanted)
    wanted_value = {kind: _normal(parse_sxp(line)[0]) for kind, line in wanted.items()}

    def inside_block(index: int) -> bool:
        return block is not None and block.begin <= index <= block.end

    # Active network-script / vif-script expressions outside the block, by kind.
    found: dict[str, list[_Top]] = {kind: [] for kind in kinds}
    for top in tops:
        value = top.value
        if not (isinstance(value, list) and value and value[0] in kinds):
            continue
        if inside_block(top.first):
            continue
        if top.first != top.last:
            raise EditError(
                f"{WHAT}: the ({value[0]} ...) setting spans lines {top.first + 1}-{top.last + 1}; "
                "expected it on one line — put it on one line or comment it out by hand"
            )
        others = [t for t in tops if t is not top and top.first in (t.first, t.last)]
        if others:
            raise EditError(
                f"{WHAT}: line {top.first + 1} holds ({value[0]} ...) and another setting; "
                "expected one setting per line — split the line by hand"
            )
        found[str(value[0])].append(top)

    in_block = {kind: False for kind in kinds}
    if block is not None:
        for line in block.inner(lines):
            for kind in kinds:
                if line.body.strip().startswith(f"({kind}"):
                    in_block[kind] = True

    # A kind is left alone when the block does not hold it and exactly one active line outside
    # already says what we want (the operator did that step by hand).
    keep: dict[str, _Top | None] = {}
    for kind in kinds:
        hits = found[kind]
        ok = len(hits) == 1 and _normal(hits[0].value) == wanted_value[kind]
        keep[kind] = hits[0] if ok and not in_block[kind] else None

    notes: list[str] = []
    new_lines = list(lines)
    disabled: list[int] = []
    for kind in kinds:
        for top in found[kind]:
            if keep[kind] is top:
                notes.append(f"{kind}: line {top.first + 1} already says {wanted[kind]}; kept")
                continue
            original = lines[top.first]
            new_lines[top.first] = comment_out(original)
            disabled.append(top.first)
            notes.append(
                f"line {top.first + 1} `{original.body.strip()}` commented out: "
                f"only xenwizard's {kind} may be active"
            )

    block_bodies = [wanted[kind] for kind in kinds if keep[kind] is None]
    new_block = block_lines(doc, block_bodies) if block_bodies else []
    if block is not None:
        old = lines[block.begin : block.end + 1]
        if not new_block:
            notes.append(f"removed xenwizard's block ({where(lines[block.begin])}): not needed")
        elif not same_bodies(old, new_block):
            notes.append(f"updated xenwizard's block ({where(lines[block.begin])}) for {bridge}")
        result = new_lines[: block.begin] + new_block + new_lines[block.end + 1 :]
    elif new_block:
        if disabled:
            at = max(disabled) + 1
            result = new_lines[:at] + new_block + new_lines[at:]
            notes.append(f"added xenwizard's block after line {at}: " + "; ".join(block_bodies))
        else:
            result = append_lines(doc, new_lines, new_block)
            notes.append("added xenwizard's block at the end: " + "; ".join(block_bodies))
    else:
        result = new_lines

    out = doc.render(result)
    if out == text:
        note = f"already set: xend uses network-bridge and vif-bridge on {bridge}"
        if dom0_mib is not None:
            note += f", dom0 ballooning off (minimum {dom0_mib} MiB)"
        return EditResult(out, (note,))
    return EditResult(out, tuple(notes))


def active_settings(text: str, kinds: tuple[str, ...] = KINDS) -> dict[str, list[list[object]]]:
    """The active expressions of those settings (default: the bridge's), for checks and tests."""
    result: dict[str, list[list[object]]] = {kind: [] for kind in kinds}
    for value in parse_sxp(text):
        if isinstance(value, list) and value and value[0] in kinds:
            result[str(value[0])].append(value)
    return result
