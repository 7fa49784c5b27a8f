"""Pure, idempotent text transforms, one module per file format.

Each edit takes the file's current text and returns the new text plus notes that tell the
operator what was done (competing lines commented out, stanzas updated, ...). Edits never touch
the disk; profiles read files and the engine writes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EditResult:
    """New file text and the human-readable notes on what changed and why."""

    text: str
    notes: tuple[str, ...] = ()


class EditError(ValueError):
    """The file is not in a shape the edit understands; the message says what was expected."""
