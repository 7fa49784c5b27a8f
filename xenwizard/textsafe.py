"""Text from the target root or from commands, made safe for a terminal and a log.

A name or a line read from a hostile root (or printed by apt-get) may hold escape sequences
(an OSC title, colours, a cursor move); shown raw they would act on the operator's terminal.
Every control character but tab becomes a visible `\\xNN` escape, so the log keeps what was
there and the terminal shows it without obeying it.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def escape_control(text: str) -> str:
    """`text` with every control character (C0 but tab, DEL, C1) as a `\\xNN` escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def terminal_text(text: str) -> str:
    """Multi-line text for a terminal: each line escaped, the line breaks kept."""
    return "\n".join(escape_control(line) for line in text.split("\n"))
