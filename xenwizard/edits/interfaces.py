"""/etc/network/interfaces: the alias interface BR:0 that dnsmasq serves from (seed step 5).

The stanza is the seed's, indented two spaces:

    iface br0:0 inet static
      address 10.0.0.1
      netmask 255.255.255.0
      broadcast 10.0.0.255

and there must be no `auto br0:0` / `allow-hotplug br0:0`: br0 does not exist when networking
starts (xend's network-bridge makes it later), so /etc/rc.local brings the alias up instead.
A stanza for BR:0 the operator wrote is updated in place; otherwise xenwizard keeps its own in a
`# BEGIN xenwizard` / `# END xenwizard` block, which a re-run (for another bridge too) replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, EditResult, ifupdown
from xenwizard.edits.text import (
    Doc,
    Line,
    append_lines,
    block_lines,
    find_block,
    same_bodies,
    where,
)

WHAT = "/etc/network/interfaces"
OPTIONS = ("address", "netmask", "broadcast")


@dataclass(frozen=True, slots=True)
class _Stanza:
    """An `iface` stanza: the iface line's index and its option lines' indices."""

    head: int
    options: tuple[int, ...]
    name: str
    family: str
    method: str


_words = ifupdown.words


def _stanzas(lines: list[Line], skip: range) -> list[_Stanza]:
    return [
        _Stanza(s.head, tuple(s.options), s.name, s.family, s.method)
        for s in ifupdown.read(lines, skip).stanzas
        if s.name
    ]


def _stanza_bodies(config: WizardConfig, indent: str = "  ") -> list[str]:
    return [
        f"iface {config.alias} inet static",
        f"{indent}address {config.host_ip}",
        f"{indent}netmask {config.netmask}",
        f"{indent}broadcast {config.broadcast}",
    ]


def _block_bodies(config: WizardConfig) -> list[str]:
    return [
        f"# No 'auto {config.alias}': {config.bridge} does not exist yet when networking starts;",
        f"# xend creates it, and /etc/rc.local brings {config.alias} up afterwards.",
        *_stanza_bodies(config),
    ]


def _update_in_place(
    doc: Doc, lines: list[Line], stanza: _Stanza, config: WizardConfig, notes: list[str]
) -> tuple[dict[int, Line | None], dict[int, list[Line]]]:
    """Replacements (None = delete) and insertions-after for an existing alias stanza."""
    replace: dict[int, Line | None] = {}
    insert: dict[int, list[Line]] = {}
    head = lines[stanza.head]
    for i in stanza.options:
        if lines[i].body.rstrip().endswith("\\"):
            raise EditError(
                f"{WHAT}: the stanza for {config.alias} ({where(head)}) uses '\\' line "
                "continuations; expected one option per line — join them by hand"
            )
    if stanza.method != "static":
        indent = _indent(head.body)
        words = head.body.split()
        words[3:4] = ["static"]
        replace[stanza.head] = head.with_body(indent + " ".join(words))
        notes.append(f"{where(head)}: {config.alias} changed from '{stanza.method}' to 'static'")
    option_indent = "  "
    if stanza.options:
        option_indent = _indent(lines[stanza.options[0]].body) or "  "
    wanted = {
        "address": config.host_ip,
        "netmask": config.netmask,
        "broadcast": config.broadcast,
    }
    last_at = stanza.head
    missing: list[str] = []
    for option in OPTIONS:
        at = [i for i in stanza.options if _words(lines[i])[0] == option]
        if not at:
            missing.append(option)
            continue
        first = lines[at[0]]
        last_at = max(last_at, at[0])
        if _words(first)[1:] != [wanted[option]]:
            indent = _indent(first.body)
            replace[at[0]] = first.with_body(f"{indent}{option} {wanted[option]}")
            notes.append(f"{where(first)}: {config.alias} {option} set to {wanted[option]}")
        for extra in at[1:]:
            replace[extra] = None
            notes.append(f"{where(lines[extra])}: removed a second '{option}' line")
    if missing:
        insert[last_at] = doc.new_lines(f"{option_indent}{o} {wanted[o]}" for o in missing)
        notes.append(f"added {', '.join(missing)} to the {config.alias} stanza ({where(head)})")
    return replace, insert


def set_alias_stanza(text: str, config: WizardConfig) -> EditResult:
    """`iface BR:0 inet static` with the host address; no auto/allow-hotplug line for BR:0."""
    doc = Doc.parse(text)
    lines = doc.lines
    block = find_block(lines, WHAT)
    skip = range(block.begin, block.end + 1) if block else range(0)
    alias = config.alias
    notes: list[str] = []

    stanzas = [s for s in _stanzas(lines, skip) if s.name == alias]
    for s in stanzas:
        if not (s.family and s.method):
            raise EditError(
                f"{WHAT}: {where(lines[s.head])} `{lines[s.head].body.strip()}` is incomplete; "
                f"expected 'iface {alias} inet static'"
            )
    mine = [s for s in stanzas if s.family == "inet"]
    if len(mine) > 1:
        numbers = " and ".join(where(lines[s.head]) for s in mine)
        raise EditError(
            f"{WHAT}: two stanzas for {alias} ({numbers}); expected at most one — "
            "merge them by hand"
        )

    replace: dict[int, Line | None] = {}
    insert: dict[int, list[Line]] = {}

    # auto / allow-* lines naming the alias: drop the alias from them.
    parsed = ifupdown.read(lines, skip)
    for i, keyword, names in parsed.marks:
        line = lines[i]
        if alias not in names:
            continue
        words = [keyword, *names]
        rest = [w for w in words[1:] if w != alias]
        if rest:
            indent = _indent(line.body)
            replace[i] = line.with_body(indent + " ".join([words[0], *rest]))
        else:
            replace[i] = None
        notes.append(
            f"{where(line)}: removed '{words[0]} {alias}' — {config.bridge} does not exist when "
            "networking starts (xend makes it later); rc.local brings the alias up"
        )

    new_block: list[Line] = []
    if mine:
        r, ins = _update_in_place(doc, lines, mine[0], config, notes)
        replace.update(r)
        insert.update(ins)
        if block is not None:
            notes.append(
                f"removed xenwizard's block ({where(lines[block.begin])}): the {alias} stanza "
                f"at {where(lines[mine[0].head])} is used instead"
            )
    else:
        new_block = block_lines(doc, _block_bodies(config))
        if block is None:
            notes.append(f"added a stanza for {alias} ({config.address}) in xenwizard's block")
        elif not same_bodies(block.inner(lines), new_block[1:-1]):
            notes.append(f"updated xenwizard's block ({where(lines[block.begin])}) for {alias}")

    result: list[Line] = []
    for i, line in enumerate(lines):
        if block is not None and i == block.begin:
            result.extend(new_block)
        if i in skip:
            continue
        if i in replace:
            kept = replace[i]
            if kept is not None:
                result.append(kept)
        else:
            result.append(line)
        result.extend(insert.get(i, []))
    if block is None and new_block:
        result = append_lines(doc, result, new_block)

    for i, _keyword, _args in ifupdown.read(lines).sources:
        line = lines[i]
        notes.append(
            f"{where(line)} `{line.body.strip()}`: the files it includes were not checked "
            f"for {alias}"
        )

    out = doc.render(result)
    if out == text:
        notes.insert(0, f"already set: {alias} is {config.address}, brought up by rc.local")
    return EditResult(out, tuple(notes))


def _indent(text: str) -> str:
    """The line's leading whitespace."""
    return text[: len(text) - len(text.lstrip())]
