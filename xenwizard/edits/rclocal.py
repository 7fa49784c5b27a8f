"""/etc/rc.local: bring the bridge alias up late in boot (seed step 6).

The seed's line `ifup "br0:0" >/dev/null` goes in a `# BEGIN xenwizard` / `# END xenwizard` block
before the final top-level `exit 0`, with `|| true` added: rc.local runs under `sh -e`, and a
failing ifup must not skip the rest of the script. A hand-made `ifup` line for the alias is
commented out (one after `exit 0` never ran anyway); a re-run replaces the block.
"""

from __future__ import annotations

import re

from xenwizard.edits import EditError, EditResult
from xenwizard.edits.text import (
    Doc,
    Line,
    block_lines,
    comment_out,
    find_block,
    same_bodies,
    where,
)

WHAT = "/etc/rc.local"
_ALIAS = re.compile(r"[A-Za-z0-9_.\-]+:[0-9]+")
_EXIT0 = re.compile(r"exit\s+0\s*;?\s*(#.*)?")
SH_E_NOTE = "rc.local runs with sh -e; `|| true` keeps a failing ifup from skipping the rest"


def ifup_line(alias: str) -> str:
    return f'ifup "{alias}" >/dev/null || true'


def _block_bodies(alias: str, extra: tuple[str, ...] = ()) -> list[str]:
    bridge = alias.partition(":")[0]
    return [
        f"# {bridge} exists once xend has started; bring up the alias dnsmasq serves from.",
        "# `|| true`: this script runs with sh -e, and a failing ifup must not stop it.",
        ifup_line(alias),
        *extra,
    ]


def _new_file(alias: str, extra: tuple[str, ...] = ()) -> str:
    lines = [
        "#!/bin/sh -e",
        "#",
        "# rc.local",
        "#",
        "# This script is executed at the end of each multiuser runlevel.",
        "# Created by xenwizard; keep it executable and ending in 'exit 0'.",
        "",
        "# BEGIN xenwizard",
        *_block_bodies(alias, extra),
        "# END xenwizard",
        "",
        "exit 0",
    ]
    return "\n".join(lines) + "\n"


def _is_top_exit0(line: Line) -> bool:
    return bool(_EXIT0.fullmatch(line.body.rstrip())) and not line.body[:1].isspace()


def add_ifup_line(text: str | None, alias: str, extra: tuple[str, ...] = ()) -> EditResult:
    """rc.local bringing `alias` up before its final `exit 0`; None means the file is missing.
    `extra`: more lines for the block (the DHCP confinement's script)."""
    if not _ALIAS.fullmatch(alias):
        raise EditError(f"{WHAT}: '{alias}' is not an alias interface name like br0:0")
    if text is None or not text.strip():
        why = "it was missing" if text is None else "it was empty"
        return EditResult(
            _new_file(alias, extra),
            (f"created rc.local ({why}) to run `{ifup_line(alias)}` at boot", SH_E_NOTE),
        )

    doc = Doc.parse(text)
    lines = doc.lines
    block = find_block(lines, WHAT)
    skip = range(block.begin, block.end + 1) if block else range(0)
    notes: list[str] = []

    exits = [i for i, line in enumerate(lines) if i not in skip and _is_top_exit0(line)]
    final_exit = exits[-1] if exits else None

    hand = re.compile(r"\s*ifup\s+(?:-\S+\s+)*([\"']?)" + re.escape(alias) + r"\1(?=[\s;|&>]|$)")
    replace: dict[int, Line] = {}
    for i, line in enumerate(lines):
        if i in skip or not hand.match(line.body):
            continue
        if line.body[:1].isspace():
            notes.append(
                f"{where(line)} `{line.body.strip()}`: an indented ifup for {alias} "
                "(inside an if or a function?); left as is"
            )
            continue
        replace[i] = comment_out(line)
        if final_exit is not None and i > final_exit:
            notes.append(
                f"{where(line)} `{line.body.strip()}` commented out: it came after `exit 0` "
                "and never ran; xenwizard's block runs it before `exit 0`"
            )
        else:
            notes.append(
                f"{where(line)} `{line.body.strip()}` commented out: xenwizard's block "
                "brings the alias up"
            )

    new_block = block_lines(doc, _block_bodies(alias, extra))
    body = [replace.get(i, line) for i, line in enumerate(lines)]

    def insert_before_exit(rows: list[Line], at: int) -> list[Line]:
        # `at` indexes `rows`: keep a blank line on both sides when there is one before.
        gap = [doc.new("")] if at > 0 and not rows[at - 1].body.strip() else []
        return rows[:at] + new_block + gap + rows[at:]

    if block is not None and (final_exit is None or block.end < final_exit):
        if not same_bodies(lines[block.begin : block.end + 1], new_block):
            notes.append(f"updated xenwizard's block ({where(lines[block.begin])}) for {alias}")
        result = body[: block.begin] + new_block + body[block.end + 1 :]
    elif block is not None and final_exit is not None:  # (always, after the test above)
        rows = body[: block.begin] + body[block.end + 1 :]
        result = insert_before_exit(rows, final_exit)
        notes.append(
            f"moved xenwizard's block ({where(lines[block.begin])}) before `exit 0` "
            f"({where(lines[final_exit])}): after it, it never ran"
        )
    elif final_exit is not None:
        result = insert_before_exit(body, final_exit)
        notes.append(f"added `{ifup_line(alias)}` before `exit 0` ({where(lines[final_exit])})")
    else:
        result = body + new_block
        notes.append(f"added `{ifup_line(alias)}` at the end (there is no final `exit 0`)")

    out = doc.render(result)
    if out == text:
        return EditResult(out, (f"already set: rc.local brings {alias} up before `exit 0`",))
    if block is None or not same_bodies(lines[block.begin : block.end + 1], new_block):
        notes.append(SH_E_NOTE)
    return EditResult(out, tuple(notes))
