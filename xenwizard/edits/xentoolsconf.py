"""/etc/xen-tools/xen-tools.conf: the defaults `xen-create-image` makes guests with.

xen-tools reads the file as `key = value` lines: a line whose first non-blank is `#` is a
comment, anything after a `#` is dropped, and a key set twice keeps the last value
(Xen::Tools::Common::readConfigurationFile). The shipped file sets `dist` to
`xt-guess-suite-and-mirror --suite` and leaves `bridge`, `dhcp` and the storage (`dir`, `lvm`,
`zpool`) commented out, so a guest made with no options gets no bridge, asks for `--dhcp` or
`--ip`, and has nowhere to go. xenwizard adds a managed block at the end of the file:

    # BEGIN xenwizard
    bridge = br0
    dhcp = 1
    dist = bookworm
    dir = /srv/xen
    memory = 512M
    role = xenwizard-net
    # END xenwizard

`dir` is left out when the file already names a storage of the operator's (an active `dir`,
`lvm`, `zpool`, `evms` or `image-dev` line outside the block): that choice is kept.
xen-create-image makes `DIR/domains/HOSTNAME` itself (mkpath), so the directory needs no step.
`role` is given on profiles that ship xenwizard's role script (see xentoolsrole); roles the
operator had already named are kept in front of it.

`memory` is given on the current releases: the shipped `memory = 256M` is too little for their
guests, whose kernel unpacks an initramfs of all modules (Debian 12's: about 36 MB compressed)
and deadlocks doing it ("System is deadlocked on memory", seen in the real-Xen test). An
operator's own `memory` of at least that size, or in a form xenwizard does not read, is kept.

Competing active lines for the keys the block sets are commented out with a note, so the file
says in one place what `xen-create-image` will use.
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

WHAT = "xen-tools.conf"
CONF_PATH = "etc/xen-tools/xen-tools.conf"
PACKAGE = "xen-tools"
DEFAULT_DIR = "/srv/xen"
BRIDGE_KEY = "bridge"
DHCP_KEY = "dhcp"
DIST_KEY = "dist"
DIR_KEY = "dir"
ROLE_KEY = "role"
MEMORY_KEY = "memory"
# xen-create-image's storage choices (--dir, --lvm, --zpool, --evms, --image-dev): one wins
STORAGE_KEYS = ("dir", "lvm", "zpool", "evms", "image-dev")
# every key the block may write
KEYS = (BRIDGE_KEY, DHCP_KEY, DIST_KEY, DIR_KEY, MEMORY_KEY, ROLE_KEY)
_SETTING = re.compile(r"^(?P<key>[^=]+)=(?P<value>.+)$")
# xt-create-xen-config's reading of `memory` for the guest's xl config: `^(\d+)Gb?.*$` (i) is
# GiB, `^(\d+)Mb?.*$` (i) MiB; anything else reaches the config as written
_SIZE = re.compile(r"^(?P<number>\d+)(?P<unit>[GgMm])")
_MIB_PER_UNIT = {"g": 1024, "m": 1}


def setting(line: Line) -> tuple[str, str] | None:
    """(key, value) of an active line, read as xen-tools reads it; None for anything else."""
    body = line.body
    if re.match(r"^[ \t]*#", body) or not body:
        return None
    body = body.split("#", 1)[0]
    match = _SETTING.match(body)
    if not match:
        return None
    key, value = match["key"].strip(), match["value"].strip()
    return (key, value) if key else None


def active_settings(text: str | None) -> dict[str, str]:
    """Every active key with the value xen-tools ends up with (the last one wins)."""
    found: dict[str, str] = {}
    for line in Doc.parse(text or "").lines:
        pair = setting(line)
        if pair:
            found[pair[0]] = pair[1]
    return found


def size_mib(value: str) -> int | None:
    """A xen-tools `memory` (`256M`, `1G`, `512Mb`) in MiB as xt-create-xen-config reads it;
    None when it does not read it as a size."""
    match = _SIZE.match(value.strip())
    if not match:
        return None
    return int(match["number"]) * _MIB_PER_UNIT[match["unit"].lower()]


def _memory_kept(value: str, wanted: str) -> bool:
    """Whether the operator's `memory` stays: at least `wanted`, or a form not read here."""
    have, need = size_mib(value), size_mib(wanted)
    return have is None or need is None or have >= need


def _roles(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def set_defaults(
    text: str | None, bridge: str, dist: str, role: str | None, memory: str | None = None
) -> EditResult:
    """xen-tools.conf whose guests join `bridge` by DHCP, install `dist` into a storage that
    exists, with `memory` at least and, with `role`, run that role script; creates the file
    when missing."""
    if text is None:
        ours = _block_bodies(bridge, dist, role, other_roles=[], storage=None, memory=memory)
        created = [
            "# xen-tools configuration (see xen-create-image(8)).",
            "# Written by xenwizard because the file was missing.",
            "",
            BEGIN_MARK,
            *ours,
            END_MARK,
        ]
        return EditResult("\n".join(created) + "\n", (f"created: {WHAT} was missing",))
    doc = Doc.parse(text)
    block = find_block(doc.lines, WHAT)
    inside = range(block.begin, block.end + 1) if block else range(0)
    competing: dict[int, str] = {}  # line index -> the key it sets
    other_roles: list[str] = []
    storage: tuple[str, str] | None = None
    memory_lines: dict[int, str] = {}  # the operator's `memory` lines: the last one wins
    for i, line in enumerate(doc.lines):
        pair = setting(line)
        if pair is None:
            continue
        key, value = pair
        if i in inside:
            if key == ROLE_KEY:
                other_roles += [r for r in _roles(value) if r != role]
            continue
        if key in STORAGE_KEYS:
            storage = (key, value)  # the operator's storage: kept as it is
        elif key == MEMORY_KEY and memory:
            memory_lines[i] = value
        elif key in (BRIDGE_KEY, DHCP_KEY, DIST_KEY) or (key == ROLE_KEY and role):
            competing[i] = key
            if key == ROLE_KEY:
                other_roles += [r for r in _roles(value) if r != role]
    other_roles = list(dict.fromkeys(other_roles))
    kept_memory = None
    if memory_lines and memory:
        last = memory_lines[max(memory_lines)]
        if _memory_kept(last, memory):
            kept_memory = last
        else:
            competing.update(dict.fromkeys(memory_lines, MEMORY_KEY))
            competing = dict(sorted(competing.items()))
    ours = _block_bodies(
        bridge, dist, role, other_roles, storage, None if kept_memory is not None else memory
    )
    said = ", ".join(body for body in ours if not body.startswith("#"))
    notes: list[str] = []
    for i, key in competing.items():
        line = doc.lines[i]
        notes.append(
            f"{where(line)} `{line.body.strip()}` commented out: xenwizard's block sets {key}"
        )
    if storage is not None:
        notes.append(f"storage kept: the file already says `{storage[0]} = {storage[1]}`")
    if kept_memory is not None:
        notes.append(f"memory kept: the file already gives guests `memory = {kept_memory}`")
    elif memory and MEMORY_KEY in competing.values():
        notes.append(
            f"memory = {memory}: a guest of this release deadlocks unpacking its initramfs in "
            'less ("System is deadlocked on memory"); --memory=SIZE still sets one guest\'s'
        )
    if other_roles and role:
        notes.append(f"roles kept: {', '.join(other_roles)} run before {role}")
    lines = [comment_out(line) if i in competing else line for i, line in enumerate(doc.lines)]
    new_block = block_lines(doc, ours)
    if block is not None:
        old = [line.body for line in doc.lines[block.begin : block.end + 1]]
        if old != [line.body for line in new_block]:
            notes.append(f"updated xenwizard's block ({where(doc.lines[block.begin])}): {said}")
        lines = lines[: block.begin] + new_block + lines[block.end + 1 :]
    else:
        lines = append_lines(doc, lines, new_block)
        notes.append(f"added at the end (xen-tools keeps a key's last value): {said}")
    out = doc.render(lines)
    if out == text:
        return EditResult(text, (f"already set: {said}",))
    if not out.strip():
        raise EditError(f"{WHAT}: the edit produced an empty file")
    return EditResult(out, tuple(notes))


def _block_bodies(
    bridge: str,
    dist: str,
    role: str | None,
    other_roles: list[str],
    storage: tuple[str, str] | None,
    memory: str | None = None,
) -> list[str]:
    bodies = [
        "# xen-create-image's defaults: guests join the bridge and lease from its dnsmasq",
        f"{BRIDGE_KEY} = {bridge}",
        f"{DHCP_KEY} = 1",
        f"{DIST_KEY} = {dist}",
    ]
    if storage is None:
        bodies.append(f"{DIR_KEY} = {DEFAULT_DIR}")
    if memory:
        bodies.append(f"{MEMORY_KEY} = {memory}")
    if role:
        bodies.append(f"{ROLE_KEY} = {','.join([*other_roles, role])}")
    return bodies
