"""Pure, idempotent text transforms, one module per file format.

Each edit takes the file's current text and returns the new text plus notes that tell the
operator what was done (competing lines commented out, stanzas updated, ...). Edits never touch
the disk; profiles read files and the engine writes them. A format spread over several files
(ifupdown's sources, netplan's directory) has one reader here, given the root as a `Tree`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Tree(Protocol):
    """What the readers need of the target root (`target.rootfs.RootFS` has these)."""

    def read_text(self, rel: str) -> str | None: ...
    def listdir(self, rel: str) -> list[str]: ...
    def is_dir(self, rel: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class EditResult:
    """New file text and the human-readable notes on what changed and why."""

    text: str
    notes: tuple[str, ...] = ()


class EditError(ValueError):
    """The file is not in a shape the edit understands; the message says what was expected."""
