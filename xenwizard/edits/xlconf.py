"""/etc/xen/xl.conf: the bridge xl plugs guests' vifs into, and dom0 never ballooned.

xl's shipped file has `#vif.default.bridge="xenbr0"` commented out (xl's built-in default bridge
name is xenbr0) and `#autoballoon="auto"`. xenwizard adds active lines in a managed block right
under the bridge comment, so a guest config with a bare `vif = ['']` lands on the bridge dnsmasq
serves, and starting a guest never shrinks dom0:

    # default bridge device to use with vif-bridge hotplug scripts
    #vif.default.bridge="xenbr0"
    # BEGIN xenwizard
    vif.default.bridge="br0"
    autoballoon="off"
    # END xenwizard

xl's "auto" already means off when `dom0_mem` is on Xen's command line; xenwizard sets "off"
explicitly anyway, so ballooning stays off even if the command line loses the option (another
GRUB entry, a hand edit) and the file says so to whoever reads it.

Competing active lines are commented out with a note: another `vif.default.bridge` or
`autoballoon`, and a `vif.default.script` other than vif-bridge (vif-route, vif-nat and
vif-openvswitch do not use a Linux bridge). A file that already has exactly our lines and nothing
competing is left alone.
"""

from __future__ import annotations

import re

from xenwizard.edits import EditError, EditResult
from xenwizard.edits.text import (
    BEGIN_MARK,
    END_MARK,
    Doc,
    Line,
    append_lines,
    block_lines,
    comment_out,
    find_block,
    where,
)

WHAT = "xl.conf"
_SETTING = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.]+)\s*=\s*(?P<value>.*?)\s*;?\s*$")
BRIDGE_KEY = "vif.default.bridge"
SCRIPT_KEY = "vif.default.script"
AUTOBALLOON_KEY = "autoballoon"
_COMMENTED_DEFAULT = re.compile(r"^\s*#\s*vif\.default\.bridge\s*=")


def _setting(line: Line) -> tuple[str, str] | None:
    """(key, unquoted value) of an active `key=value` line."""
    body = line.body.strip()
    if not body or body.startswith("#"):
        return None
    body = re.sub(r"\s+#.*$", "", body) if not body.endswith('"') else body
    match = _SETTING.match(body)
    if not match:
        return None
    value = match["value"].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return match["key"], value


def _script_name(value: str) -> str:
    return value.rsplit("/", 1)[-1].split()[0] if value.strip() else ""


def active_setting(text: str | None, key: str) -> str | None:
    """The active value of `key` (the last one wins, as in xl), None when unset."""
    found = None
    for line in Doc.parse(text or "").lines:
        setting = _setting(line)
        if setting and setting[0] == key:
            found = setting[1]
    return found


def default_bridge(text: str | None) -> str | None:
    """The active vif.default.bridge, None when unset."""
    return active_setting(text, BRIDGE_KEY)


def autoballoon(text: str | None) -> str | None:
    """The active autoballoon setting, None when unset (xl then means "auto")."""
    return active_setting(text, AUTOBALLOON_KEY)


def set_defaults(text: str | None, bridge: str) -> EditResult:
    """xl.conf with `vif.default.bridge="BRIDGE"` and `autoballoon="off"` active; creates the
    file when missing."""
    wanted = {BRIDGE_KEY: bridge, AUTOBALLOON_KEY: "off"}
    ours = [f'{key}="{value}"' for key, value in wanted.items()]
    said = ", ".join(ours)
    if text is None:
        created = [
            "## Global XL config file ##",
            "# Written by xenwizard (see xl.conf(5)) because the file was missing.",
            "",
            BEGIN_MARK,
            *ours,
            END_MARK,
        ]
        return EditResult("\n".join(created) + "\n", (f"created with {said}: xl.conf was missing",))
    doc = Doc.parse(text)
    block = find_block(doc.lines, WHAT)
    inside = range(block.begin, block.end + 1) if block else range(0)
    notes: list[str] = []
    active: dict[str, list[int]] = {key: [] for key in wanted}
    disable: set[int] = set()
    for i, line in enumerate(doc.lines):
        if i in inside:
            continue
        setting = _setting(line)
        if setting is None:
            continue
        key, value = setting
        if key in wanted:
            active[key].append(i)
        elif key == SCRIPT_KEY and _script_name(value) != "vif-bridge":
            disable.add(i)
            notes.append(
                f"{where(line)} `{line.body.strip()}` commented out: guests' vifs must go "
                f"through vif-bridge to join {bridge}"
            )
    if (
        block is None
        and not disable
        and all(
            len(found) == 1 and _setting(doc.lines[found[0]]) == (key, wanted[key])
            for key, found in active.items()
        )
    ):
        where_set = "; ".join(
            f"{doc.lines[i].body.strip()} ({where(doc.lines[i])})" for i, *_ in active.values()
        )
        return EditResult(text, (f"already set: {where_set}",))
    for i in sorted(i for found in active.values() for i in found):
        disable.add(i)
        line = doc.lines[i]
        notes.append(
            f"{where(line)} `{line.body.strip()}` commented out: xenwizard's block sets {said}"
        )
    lines = [comment_out(line) if i in disable else line for i, line in enumerate(doc.lines)]
    new_block = block_lines(doc, ours)
    if block is not None:
        old = [line.body for line in lines[block.begin : block.end + 1]]
        if old != [line.body for line in new_block]:
            notes.append(f"updated xenwizard's block ({where(doc.lines[block.begin])}): {said}")
        lines = lines[: block.begin] + new_block + lines[block.end + 1 :]
    else:
        anchor = next(
            (i for i, line in enumerate(doc.lines) if _COMMENTED_DEFAULT.match(line.body)), None
        )
        if anchor is not None:
            lines = lines[: anchor + 1] + new_block + lines[anchor + 1 :]
            notes.append(f"added {said} under the commented default ({where(doc.lines[anchor])})")
        else:
            lines = append_lines(doc, lines, new_block)
            notes.append(f"added {said} at the end")
    out = doc.render(lines)
    if out == text:
        return EditResult(text, (f"already set: {said}",))
    if not out.strip():
        raise EditError(f"{WHAT}: the edit produced an empty file")
    return EditResult(out, tuple(notes))
