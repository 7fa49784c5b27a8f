"""GRUB's environment block (boot/grub/grubenv): read and set variables as grub-editenv does.

The file is exactly 1024 bytes: "# GRUB Environment Block\\n" (Debian adds a warning comment),
then one `name=value` line per variable, then '#' up to the end. In a value a backslash and a
newline are written with a backslash before them. Setting a variable that is there replaces its
line in place; a new one goes after the last line; every other line is kept byte for byte, so
what GRUB itself wrote (its `save_env` at boot) survives. Written from Python so fixture roots
and chroots need no grub-editenv; the real tool is the spec (tests/unit/test_boot_guard.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from xenwizard.edits import EditError

PATH = "boot/grub/grubenv"
SIZE = 1024
HEADER = b"# GRUB Environment Block\n"

Line = tuple[str, str] | bytes  # a variable, or a line kept as it is (a comment)


def _escape(value: str) -> bytes:
    return value.replace("\\", "\\\\").replace("\n", "\\\n").encode()


def _lines(data: bytes) -> list[Line]:
    """The block's lines up to the padding; a variable's value unescaped."""
    if not data.startswith(HEADER):
        raise EditError(f"not a GRUB environment block; expected it to start with {HEADER!r}")
    body = data[len(HEADER) :]
    body = body[: len(body.rstrip(b"#"))]
    out: list[Line] = []
    i = 0
    while i < len(body):
        end = i
        while end < len(body) and body[end] != 0x0A:
            end += 2 if body[end] == 0x5C else 1  # a backslash takes the next byte with it
        raw = body[i : min(end, len(body))]
        i = end + 1
        if raw.startswith(b"#") or b"=" not in raw:
            out.append(raw)
            continue
        name, _, value = raw.partition(b"=")
        text, chars, j = value.decode("utf-8", "replace"), [], 0
        while j < len(text):
            if text[j] == "\\" and j + 1 < len(text):
                j += 1
            chars.append(text[j])
            j += 1
        out.append((name.decode("utf-8", "replace"), "".join(chars)))
    return out


def read(data: bytes | None) -> dict[str, str]:
    """The variables of a block (none when the file does not exist)."""
    if data is None:
        return {}
    return {line[0]: line[1] for line in _lines(data) if isinstance(line, tuple)}


def is_empty(data: bytes | None) -> bool:
    """A whole block without a variable: what `grub-editenv FILE list` creates when FILE is
    missing (Debian's has a warning comment under the header, upstream's has not)."""
    if data is None or len(data) != SIZE:
        return False
    try:
        return not any(isinstance(line, tuple) for line in _lines(data))
    except EditError:
        return False


def set_vars(data: bytes | None, values: Mapping[str, str | None]) -> bytes:
    """The block with `values` set (None: the variable removed), padded to 1024 bytes.

    A missing file becomes the block grub-editenv creates. EditError when the result would not
    fit in 1024 bytes or the input is not a block."""
    lines = _lines(data) if data is not None else []
    for name, value in values.items():
        if not name or "=" in name or "\n" in name:
            raise EditError(f"{name!r} is not a GRUB variable name")
        spot = next(
            (n for n, line in enumerate(lines) if isinstance(line, tuple) and line[0] == name),
            None,
        )
        if value is None:
            if spot is not None:
                del lines[spot]
        elif spot is None:
            lines.append((name, value))
        else:
            lines[spot] = (name, value)
    body = b"".join(
        (line if isinstance(line, bytes) else line[0].encode() + b"=" + _escape(line[1])) + b"\n"
        for line in lines
    )
    block = HEADER + body
    if len(block) > SIZE:
        raise EditError(f"the variables need {len(block)} bytes; a GRUB environment block has 1024")
    return block + b"#" * (SIZE - len(block))
