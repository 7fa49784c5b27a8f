"""Line handling shared by the edits.

A file is read into `Line`s that remember their own line ending, so lines an edit does not touch
are rendered byte-identically (CRLF, LF, even a mix). Lines an edit adds use the file's dominant
ending, and a file without a final newline still has none after the edit.

xenwizard marks what it adds with a managed block, as Ansible's blockinfile does:

    # BEGIN xenwizard
    ...
    # END xenwizard
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from xenwizard.edits import EditError

BEGIN_MARK = "# BEGIN xenwizard"
END_MARK = "# END xenwizard"

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


@dataclass(frozen=True, slots=True)
class Line:
    """One line: its text without the ending, and the ending it had ('' for a last bare line)."""

    body: str
    end: str = "\n"
    number: int | None = None  # 1-based line number in the input; None for added lines

    def with_body(self, body: str) -> Line:
        return Line(body, self.end, self.number)


@dataclass(slots=True)
class Doc:
    """A file as `Line`s plus how new lines end and whether the file ends with a newline."""

    lines: list[Line]
    eol: str
    final_newline: bool

    @classmethod
    def parse(cls, text: str) -> Doc:
        lines: list[Line] = []
        for number, match in enumerate(_LINE.finditer(text), start=1):
            raw = match.group()
            if raw.endswith("\r\n"):
                lines.append(Line(raw[:-2], "\r\n", number))
            elif raw.endswith("\n"):
                lines.append(Line(raw[:-1], "\n", number))
            else:
                lines.append(Line(raw, "", number))
        crlf = text.count("\r\n")
        eol = "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"
        return cls(lines, eol, text == "" or text.endswith("\n"))

    def new(self, body: str) -> Line:
        """A line the edit adds, ending like the rest of the file."""
        return Line(body, self.eol)

    def new_lines(self, bodies: Iterable[str]) -> list[Line]:
        return [self.new(body) for body in bodies]

    def render(self, lines: list[Line] | None = None) -> str:
        lines = self.lines if lines is None else lines
        out: list[str] = []
        last = len(lines) - 1
        for i, line in enumerate(lines):
            if i < last:
                end = line.end or self.eol  # a former last line that now has lines after it
            elif self.final_newline:
                end = line.end or self.eol
            else:
                end = ""
            out.append(line.body + end)
        return "".join(out)


def where(line: Line) -> str:
    """'line N' for a line of the input, for notes and errors."""
    return f"line {line.number}" if line.number is not None else "an added line"


@dataclass(frozen=True, slots=True)
class Block:
    """Index of the BEGIN and END marker lines of a managed block (END inclusive)."""

    begin: int
    end: int

    def inner(self, lines: list[Line]) -> list[Line]:
        return lines[self.begin + 1 : self.end]


def find_blocks(lines: list[Line], what: str = "the file") -> list[Block]:
    """Every managed block; EditError for a BEGIN without END or an END without BEGIN."""
    blocks: list[Block] = []
    start: int | None = None
    for i, line in enumerate(lines):
        mark = line.body.strip()
        if mark == BEGIN_MARK:
            if start is not None:
                raise EditError(
                    f"{what}: '{BEGIN_MARK}' at {where(line)} before the '{END_MARK}' of the "
                    f"block opened at {where(lines[start])}; fix the markers by hand"
                )
            start = i
        elif mark == END_MARK:
            if start is None:
                raise EditError(
                    f"{what}: '{END_MARK}' at {where(line)} without a '{BEGIN_MARK}' before it; "
                    "fix the markers by hand"
                )
            blocks.append(Block(start, i))
            start = None
    if start is not None:
        raise EditError(
            f"{what}: '{BEGIN_MARK}' at {where(lines[start])} has no '{END_MARK}'; "
            "fix the markers by hand"
        )
    return blocks


def find_block(lines: list[Line], what: str = "the file") -> Block | None:
    """The one managed block, if any; EditError when there are several."""
    blocks = find_blocks(lines, what)
    if len(blocks) > 1:
        numbers = ", ".join(where(lines[b.begin]) for b in blocks)
        raise EditError(
            f"{what}: several xenwizard blocks ({numbers}); expected at most one — "
            "remove the extra ones by hand"
        )
    return blocks[0] if blocks else None


def block_lines(doc: Doc, bodies: Iterable[str]) -> list[Line]:
    """A managed block with `bodies` between the markers, ending like the file."""
    return doc.new_lines([BEGIN_MARK, *bodies, END_MARK])


def same_bodies(a: Iterable[Line], b: Iterable[Line]) -> bool:
    return [line.body for line in a] == [line.body for line in b]


def comment_out(line: Line) -> Line:
    """The line disabled with '# ' in front, original text kept."""
    return line.with_body("# " + line.body)


def append_lines(doc: Doc, lines: list[Line], new: list[Line]) -> list[Line]:
    """`new` appended after `lines`, with one blank line between when the last line is text."""
    if lines and lines[-1].body.strip():
        return [*lines, doc.new(""), *new]
    return [*lines, *new]


def remove_block(text: str, what: str = "the file") -> tuple[str, tuple[str, ...]]:
    """The text without xenwizard's managed block (for a file xenwizard no longer manages)."""
    doc = Doc.parse(text)
    block = find_block(doc.lines, what)
    if block is None:
        return text, ()
    lines = doc.lines[: block.begin] + doc.lines[block.end + 1 :]
    note = f"removed xenwizard's old block ({where(doc.lines[block.begin])})"
    return doc.render(lines), (note,)
