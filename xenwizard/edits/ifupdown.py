"""interfaces(5): the one reader of ifupdown's configuration.

The probe (configured addresses), the seed's alias stanza (interfaces.py) and the bridge of the
current releases (ifupdown_bridge.py) all read the file through `read`, so they agree on where a
stanza starts and ends. A stanza starts at one of `STARTERS` (or any `allow-*`), and every other
non-comment line belongs to the `iface` stanza above it, if any. Only lines starting with `#` are
comments: ifupdown has no end-of-line comments. Line continuations (`\\`) are recorded, not
joined; each edit says whether it can work with them.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xenwizard.edits import EditError, Tree

if TYPE_CHECKING:
    from typing import Protocol

    class _HasBody(Protocol):
        @property
        def body(self) -> str: ...


# Every keyword that opens a new stanza in ifupdown 0.8 (interfaces(5)), as its own ifquery
# reads a file (tests/contracts/test_real_world_facts.py); `allow-*` too. No "template":
# ifupdown has none (templates are `iface ... inherits`), and inside a stanza it is an ordinary
# option.
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
    }
)
SOURCE_KEYWORDS = ("source", "source-directory", "source-dir")


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


@dataclass(slots=True)
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


@dataclass(slots=True)
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


# --- the files: /etc/network/interfaces and what it sources -------------------------------------

INTERFACES = "etc/network/interfaces"
MAX_CHARS = 1_000_000  # an interfaces file is a few KB; more is not a configuration
MAX_FILES = 256
_RUN_PARTS_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _expand(tree: Tree, pattern: str) -> list[str]:
    """Root-relative paths matching a shell pattern, each component matched in sorted order."""
    paths = [""]
    for part in [p for p in pattern.split("/") if p]:
        if not any(c in part for c in "*?["):
            paths = [f"{p}/{part}" if p else part for p in paths]
            continue
        paths = [
            f"{p}/{name}" if p else name
            for p in paths
            for name in tree.listdir(p or ".")
            if not name.startswith(".") and fnmatch.fnmatchcase(name, part)
        ]
    return paths


def _targets(tree: Tree, path: str, keyword: str, args: list[str]) -> list[str]:
    """The files a `source`/`source-directory` line of `path` names (relative to its dir)."""
    if not args:
        return []
    arg = args[0]
    base = posixpath.dirname(path)
    rel = arg.lstrip("/") if arg.startswith("/") else posixpath.normpath(f"{base}/{arg}")
    if keyword == "source":
        return [p for p in _expand(tree, rel) if not tree.is_dir(p)]
    return [
        f"{d}/{name}"
        for d in _expand(tree, rel)
        if tree.is_dir(d)
        for name in tree.listdir(d)
        if _RUN_PARTS_NAME.fullmatch(name) and not tree.is_dir(f"{d}/{name}")
    ]


def load(tree: Tree, path: str = INTERFACES) -> dict[str, str]:
    """`path` and every file it sources, in the order ifupdown reads them (root-relative path ->
    text); {} when `path` does not exist. A source loop, more than MAX_FILES files or a file
    over MAX_CHARS is an EditError of one line."""
    from xenwizard.edits.text import Doc, where

    texts: dict[str, str] = {}
    stack: list[tuple[str, list[str]]] = [(path, [])]  # (file, the files sourcing it)
    while stack:
        current, chain = stack.pop()
        if current in chain:
            raise EditError(
                f"{current}: sources itself again (through {' -> '.join([*chain, current])}); "
                "expected no source loops"
            )
        if current in texts:
            continue
        text = tree.read_text(current)
        if text is None:
            continue
        if len(text) > MAX_CHARS:
            raise EditError(
                f"{current}: {len(text)} characters; expected an interfaces file under {MAX_CHARS}"
            )
        texts[current] = text
        if len(texts) > MAX_FILES:
            raise EditError(f"{path}: sources more than {MAX_FILES} files; expected fewer")
        lines = Doc.parse(text).lines
        found: list[str] = []
        for index, keyword, args in read(lines).sources:
            try:
                found += _targets(tree, current, keyword, args)
            except OSError as exc:
                raise EditError(f"{current}: {where(lines[index])}: {exc}") from None
        stack += [(name, [*chain, current]) for name in reversed(found)]
    return texts
