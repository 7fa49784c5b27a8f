"""interfaces(5): the one reader of ifupdown's configuration.

The probe (configured addresses), the seed's alias stanza (interfaces.py) and the bridge of the
current releases (ifupdown_bridge.py) all read the file through `read`, so they agree on where a
stanza starts and ends. A stanza starts at one of `STARTERS` (or any `allow-*`), and every other
non-comment line belongs to the `iface` stanza above it, if any. Only lines starting with `#` are
comments: ifupdown has no end-of-line comments. Line continuations (`\\`) are recorded, not
joined; each edit says whether it can work with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Every keyword that opens a new stanza: what the three readers before this one knew, together.
STARTERS = frozenset(
    {
        "iface",
        "mapping",
        "auto",
        "source",
        "source-directory",
        "source-dir",
        "rename",
        "no-auto-down",
        "no-scripts",
        "template",
    }
)
SOURCE_KEYWORDS = ("source", "source-directory", "source-dir")


class _HasBody(Protocol):
    @property
    def body(self) -> str: ...


def is_starter(word: str) -> bool:
    return word in STARTERS or word.startswith("allow-")


def is_mark(word: str) -> bool:
    """`auto` and `allow-*`: the lines that say when an interface is brought up."""
    return word == "auto" or word.startswith("allow-")


def words(line: _HasBody) -> list[str]:
    """The words of a line; none for a blank line or a comment."""
    stripped = line.body.strip()
    if not stripped or stripped.startswith("#"):
        return []
    return stripped.split()


@dataclass
class Stanza:
    """An `iface NAME FAMILY METHOD` line and its option lines (indices into the line list).

    `words` is the whole head line; an incomplete head (`iface eth0`) has '' for what is
    missing, and callers decide whether that is an error."""

    head: int
    name: str
    family: str
    method: str
    words: list[str]
    options: list[int] = field(default_factory=list)

    @property
    def last(self) -> int:
        return self.options[-1] if self.options else self.head

    @property
    def complete(self) -> bool:
        return len(self.words) >= 4


@dataclass
class Parsed:
    """The stanzas, `auto`/`allow-*` lines, `source*` lines and continued lines of a file."""

    stanzas: list[Stanza]
    marks: list[tuple[int, str, list[str]]]  # (index, keyword, names)
    sources: list[tuple[int, str, list[str]]]  # (index, keyword, arguments)
    continued: list[int]  # indices of lines ending in '\'


def read(lines: Sequence[_HasBody], skip: range = range(0)) -> Parsed:
    """ifupdown stanzas of `lines`, ignoring the indices in `skip` (xenwizard's block)."""
    parsed = Parsed([], [], [], [])
    current: Stanza | None = None
    for i, line in enumerate(lines):
        if i in skip:
            current = None
            continue
        ws = words(line)
        if not ws:
            continue
        if line.body.rstrip().endswith("\\"):
            parsed.continued.append(i)
        if is_starter(ws[0]):
            current = None
            if ws[0] == "iface":
                padded = [*ws[1:4], "", "", ""]
                current = Stanza(i, padded[0], padded[1], padded[2], ws)
                parsed.stanzas.append(current)
            elif is_mark(ws[0]):
                parsed.marks.append((i, ws[0], ws[1:]))
            elif ws[0] in SOURCE_KEYWORDS:
                parsed.sources.append((i, ws[0], ws[1:]))
        elif current is not None:
            current.options.append(i)
    return parsed


def option(line: _HasBody) -> tuple[str, str]:
    """(name, value) of an option line: its first word and the rest."""
    body = line.body.strip()
    name, _, value = body.partition(" ")
    if "\t" in name:
        name, _, value = body.partition("\t")
    return name, value.strip()
