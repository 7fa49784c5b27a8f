"""Line handling shared by the edits: keep line endings and a missing final newline as found."""

from __future__ import annotations

from dataclasses import dataclass

BEGIN_MARK = "# BEGIN xenwizard"
END_MARK = "# END xenwizard"


@dataclass(frozen=True)
class Lines:
    """A file as bare lines plus how to join them back byte-identically."""

    lines: list[str]
    eol: str
    final_newline: bool

    @classmethod
    def parse(cls, text: str) -> Lines:
        eol = "\r\n" if "\r\n" in text and text.count("\r\n") * 2 >= text.count("\n") else "\n"
        final_newline = text.endswith("\n") or text == ""
        body = text[: -len(eol)] if text.endswith(eol) else text.rstrip("\n") if final_newline else text
        lines = body.split(eol) if body else []
        return cls(lines, eol, final_newline)

    def render(self, lines: list[str] | None = None) -> str:
        lines = self.lines if lines is None else lines
        if not lines:
            return ""
        text = self.eol.join(lines)
        return text + self.eol if self.final_newline else text


def find_block(lines: list[str], begin: str = BEGIN_MARK, end: str = END_MARK) -> tuple[int, int] | None:
    """Index of the BEGIN and END marker lines of xenwizard's managed block, if present."""
    start = next((i for i, line in enumerate(lines) if line.strip() == begin), None)
    if start is None:
        return None
    stop = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == end), None)
    if stop is None:
        return None
    return start, stop
