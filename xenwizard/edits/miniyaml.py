"""A reader and writer for the YAML that netplan files are written in, with line spans.

netplan configurations written by installers (subiquity, cloud-init) and by people use a small
part of YAML: block mappings and sequences, short flow collections (`[eno1]`, `{config:
disabled}`), plain and quoted scalars, comments. This module reads exactly that part and refuses
the rest (anchors, aliases, tags, block scalars) with a message, instead of guessing.

Two things a general YAML library would not give us:
- every mapping entry remembers the lines it spans, so an edit can comment out exactly the lines
  of one key and leave every other byte of the file alone;
- scalars stay text (a quoted one is a `Quoted`), so a value copied from one file into another
  keeps its meaning: `true` stays a plain `true`, `"52:54:00:12:34:56"` stays quoted.

PyYAML is not a dependency of xenwizard, and netplan itself validates the result
(`netplan generate`), so a narrow reader that says "not understood" is the safe choice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from xenwizard.edits import EditError


class YamlError(EditError):
    """The text is not YAML in the shape this reader understands; says where and why."""


class Quoted(str):
    """A scalar that was quoted in the source (or must be quoted when written)."""

    __slots__ = ()


@dataclass
class Node:
    """A value with the lines it spans (0-based `start`, exclusive `end`)."""

    value: object  # dict[str, Entry] | list[Node] | str | None
    start: int
    end: int
    flow: bool = False


@dataclass
class Entry:
    """One `key: value` of a mapping: the key's line and the end of its value's lines."""

    key: str
    node: Node
    start: int
    end: int


@dataclass
class _Line:
    index: int  # 0-based line number in the file
    indent: int
    text: str  # content without indentation and comment


@dataclass
class Document:
    """A parsed file: the root node and the raw lines it came from."""

    root: Node | None
    lines: list[str] = field(default_factory=list)

    def data(self) -> object:
        return plain(self.root) if self.root is not None else None


_SPLIT = re.compile(r"[^\n]*\n|[^\n]+\Z")

_UNSUPPORTED = {
    "&": "anchors (&)",
    "*": "aliases (*)",
    "!": "tags (!)",
    "|": "block scalars (|)",
    ">": "folded scalars (>)",
    "%": "directives (%)",
    "@": "reserved '@'",
    "`": "reserved '`'",
}


def _strip_comment(raw: str) -> str:
    """The line without a trailing comment (a `#` at the start or after a blank, unquoted)."""
    quote: str | None = None
    for i, char in enumerate(raw):
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                continue
        elif char in "\"'" and (i == 0 or raw[i - 1] in " \t[{,:-"):
            quote = char
        elif char == "#" and (i == 0 or raw[i - 1] in " \t"):
            return raw[:i].rstrip()
    return raw.rstrip()


def _content_lines(lines: list[str]) -> list[_Line]:
    out: list[_Line] = []
    for index, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        stripped = body.lstrip(" ")
        if stripped.startswith("\t") or (stripped and "\t" in body[: len(body) - len(stripped)]):
            raise YamlError(f"line {index + 1}: tab in indentation; YAML indents with spaces")
        text = _strip_comment(stripped)
        if not text:
            continue
        if text in ("---", "...") and len(body) - len(stripped) == 0:
            if out:
                raise YamlError(f"line {index + 1}: several YAML documents in one file")
            continue
        out.append(_Line(index, len(body) - len(stripped), text))
    return out


def _key_split(text: str, where: int) -> tuple[str, str] | None:
    """`key: rest` -> (key, rest); None when the line is not a mapping entry."""
    if text[0] in "\"'":
        quote = text[0]
        end = 1
        while end < len(text):
            if text[end] == "\\" and quote == '"':
                end += 2
                continue
            if text[end] == quote:
                if quote == "'" and end + 1 < len(text) and text[end + 1] == "'":
                    end += 2
                    continue
                break
            end += 1
        else:
            raise YamlError(f"line {where + 1}: unterminated quoted key")
        after = text[end + 1 :]
        if after.startswith(":") and (len(after) == 1 or after[1] == " "):
            return _scalar(text[: end + 1], where), after[1:].strip()
        return None
    match = re.match(r"^([^\s#:\[\]{},][^:]*?|[^\s#\[\]{},]*?):(?: +(.*)|)$", text)
    if not match:
        return None
    return match.group(1).rstrip(), (match.group(2) or "").strip()


def _scalar(text: str, where: int) -> str:
    text = text.strip()
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise YamlError(f"line {where + 1}: unterminated double-quoted string")
        try:
            return Quoted(json.loads(text))
        except json.JSONDecodeError:
            raise YamlError(
                f"line {where + 1}: double-quoted string with escapes this reader does not know"
            ) from None
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YamlError(f"line {where + 1}: unterminated single-quoted string")
        return Quoted(text[1:-1].replace("''", "'"))
    if text and text[0] in _UNSUPPORTED:
        raise YamlError(f"line {where + 1}: {_UNSUPPORTED[text[0]]} are not supported here")
    return text


class _Flow:
    """Recursive descent over one flow collection (`[a, b]`, `{k: v, ...}`)."""

    def __init__(self, text: str, where: int):
        self.text = text
        self.pos = 0
        self.where = where

    def error(self, what: str) -> YamlError:
        return YamlError(f"line {self.where + 1}: {what} in flow collection {self.text!r}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def value(self) -> object:
        self.skip()
        if self.pos >= len(self.text):
            raise self.error("unexpected end")
        char = self.text[self.pos]
        if char == "[":
            return self.sequence()
        if char == "{":
            return self.mapping()
        return self.scalar()

    def scalar(self) -> str | None:
        start = self.pos
        if self.text[self.pos] in "\"'":
            quote = self.text[self.pos]
            self.pos += 1
            while self.pos < len(self.text):
                if self.text[self.pos] == "\\" and quote == '"':
                    self.pos += 2
                    continue
                if self.text[self.pos] == quote:
                    if quote == "'" and self.text[self.pos + 1 : self.pos + 2] == "'":
                        self.pos += 2
                        continue
                    break
                self.pos += 1
            else:
                raise self.error("unterminated string")
            self.pos += 1
            return _scalar(self.text[start : self.pos], self.where)
        while self.pos < len(self.text) and self.text[self.pos] not in ",]}":
            if self.text[self.pos] == ":" and self.text[self.pos + 1 : self.pos + 2] in (" ", ""):
                break
            self.pos += 1
        raw = self.text[start : self.pos].strip()
        return _null(_scalar(raw, self.where)) if raw else None

    def sequence(self) -> list[object]:
        self.pos += 1
        items: list[object] = []
        while True:
            self.skip()
            if self.text[self.pos : self.pos + 1] == "]":
                self.pos += 1
                return items
            items.append(self.value())
            self.skip()
            char = self.text[self.pos : self.pos + 1]
            if char == ",":
                self.pos += 1
            elif char != "]":
                raise self.error("expected ',' or ']'")

    def mapping(self) -> dict[str, object]:
        self.pos += 1
        items: dict[str, object] = {}
        while True:
            self.skip()
            if self.text[self.pos : self.pos + 1] == "}":
                self.pos += 1
                return items
            key = self.scalar()
            self.skip()
            if self.text[self.pos : self.pos + 1] != ":":
                raise self.error("expected ':' after a key")
            self.pos += 1
            if key is None or key in items:
                raise self.error(f"empty or repeated key {key!r}")
            items[key] = self.value()
            self.skip()
            char = self.text[self.pos : self.pos + 1]
            if char == ",":
                self.pos += 1
            elif char != "}":
                raise self.error("expected ',' or '}'")

    def parse(self) -> object:
        result = self.value()
        self.skip()
        if self.pos != len(self.text):
            raise self.error("unexpected text after the collection")
        return result


def _null(value: str | None) -> str | None:
    if value is None or (not isinstance(value, Quoted) and value in ("~", "null", "Null", "NULL")):
        return None
    return value


class _Parser:
    def __init__(self, lines: list[_Line]):
        self.lines = lines
        self.i = 0

    def peek(self) -> _Line | None:
        return self.lines[self.i] if self.i < len(self.lines) else None

    def block(self, indent: int) -> Node:
        line = self.lines[self.i]
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(line.indent)
        if _key_split(line.text, line.index) is not None:
            return self.mapping(line.indent)
        return self.inline_value(line)

    def inline_value(self, line: _Line, text: str | None = None) -> Node:
        """A scalar or flow collection on one line (flow may continue on following lines)."""
        text = line.text if text is None else text
        start = line.index
        self.i += 1
        if text[0] in "[{":
            depth = _depth(text)
            while depth > 0:
                more = self.peek()
                if more is None:
                    raise YamlError(f"line {start + 1}: unterminated flow collection")
                text += " " + more.text
                depth = _depth(text)
                self.i += 1
            value = _wrap(_Flow(text, start).parse(), start, self.lines[self.i - 1].index + 1)
            return Node(value, start, self.lines[self.i - 1].index + 1, flow=True)
        value = _null(_scalar(text, start))
        nxt = self.peek()
        if nxt is not None and nxt.indent > line.indent and not nxt.text.startswith("- "):
            raise YamlError(
                f"line {nxt.index + 1}: a scalar continued on the next line is not supported; "
                "write it on one line"
            )
        return Node(value, start, start + 1)

    def mapping(self, indent: int) -> Node:
        entries: dict[str, Entry] = {}
        start = self.lines[self.i].index
        end = start + 1
        while (line := self.peek()) is not None and line.indent >= indent:
            if line.indent > indent:
                raise YamlError(f"line {line.index + 1}: unexpected indentation")
            split = _key_split(line.text, line.index)
            if split is None:
                if line.text.startswith("- "):
                    break  # the parent's sequence continues at this indentation
                raise YamlError(f"line {line.index + 1}: expected 'key: value'")
            key, rest = split
            if key in entries:
                raise YamlError(f"line {line.index + 1}: key {key!r} appears twice")
            if rest:
                node = self.inline_value(line, rest)
            else:
                self.i += 1
                nxt = self.peek()
                if nxt is not None and (
                    nxt.indent > indent
                    or (nxt.indent == indent and (nxt.text == "-" or nxt.text.startswith("- ")))
                ):
                    node = self.block(nxt.indent)
                else:
                    node = Node(None, line.index, line.index + 1)
            entries[key] = Entry(key, node, line.index, max(node.end, line.index + 1))
            end = entries[key].end
        return Node(entries, start, end)

    def sequence(self, indent: int) -> Node:
        items: list[Node] = []
        start = self.lines[self.i].index
        end = start + 1
        while (line := self.peek()) is not None and line.indent == indent:
            if not (line.text == "-" or line.text.startswith("- ")):
                break
            rest = line.text[1:].lstrip(" ")
            if not rest:
                self.i += 1
                nxt = self.peek()
                if nxt is not None and nxt.indent > indent:
                    node = self.block(nxt.indent)
                else:
                    node = Node(None, line.index, line.index + 1)
            else:
                offset = len(line.text) - len(rest)
                inner = _Line(line.index, indent + offset, rest)
                self.lines[self.i] = inner
                if rest.startswith("- ") or _key_split(rest, line.index) is not None:
                    node = self.block(inner.indent)
                else:
                    node = self.inline_value(inner)
            items.append(node)
            end = max(node.end, line.index + 1)
        return Node(items, start, end)


def _depth(text: str) -> int:
    depth = 0
    quote: str | None = None
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth


def _wrap(value: object, start: int, end: int) -> object:
    """Flow values as Nodes/Entries too, so callers walk one structure."""
    if isinstance(value, dict):
        return {
            k: Entry(k, Node(_wrap(v, start, end), start, end, True), start, end)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [Node(_wrap(v, start, end), start, end, True) for v in value]
    return value


def parse(text: str) -> Document:
    """Parse a netplan-style YAML file; YamlError says which line is not understood."""
    raw_lines = _SPLIT.findall(text)  # on "\n" only, as edits.text.Doc does
    content = _content_lines(raw_lines)
    if not content:
        return Document(None, raw_lines)
    parser = _Parser(content)
    first = content[0]
    if first.indent != 0:
        raise YamlError(f"line {first.index + 1}: the top level must not be indented")
    root = parser.block(0)
    leftover = parser.peek()
    if leftover is not None:
        raise YamlError(f"line {leftover.index + 1}: unexpected text after the document")
    return Document(root, raw_lines)


def plain(node: Node) -> object:
    """The node as dicts, lists and strings (Quoted where the source quoted)."""
    value = node.value
    if isinstance(value, dict):
        return {k: plain(e.node) for k, e in value.items()}
    if isinstance(value, list):
        return [plain(n) for n in value]
    return value


def entry_at(doc: Document, *path: str) -> Entry | None:
    """The mapping entry at a key path, or None when some key is missing."""
    node = doc.root
    found: Entry | None = None
    for key in path:
        if node is None or not isinstance(node.value, dict) or key not in node.value:
            return None
        found = node.value[key]
        node = found.node
    return found


# --- writing ------------------------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:+-]*$")
_SPECIAL_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def scalar_text(value: object) -> str:
    """A scalar as YAML text: plain where that keeps the meaning, double-quoted otherwise."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if isinstance(value, Quoted):
        return json.dumps(text)
    if _PLAIN_SAFE.match(text) and not (":" in text and re.fullmatch(r"[0-9:]+", text)):
        return text  # (digits and colons only would read as a YAML 1.1 base-60 number)
    if text.lower() in _SPECIAL_WORDS or re.fullmatch(r"-?[0-9.]+", text):
        return text  # a plain word from the source keeps its (boolean/number) meaning
    return json.dumps(text)


def dump(value: object, indent: int = 0, step: int = 2) -> list[str]:
    """Block-style lines for dicts, lists and scalars (lists of scalars as flow `[a, b]`)."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = scalar_text(key)
            nested = isinstance(item, list) and any(isinstance(i, (dict, list)) for i in item)
            if (isinstance(item, dict) and item) or nested:
                out.append(f"{pad}{key_text}:")
                out.extend(dump(item, indent + step, step))
            elif isinstance(item, list):
                out.append(f"{pad}{key_text}: [{', '.join(scalar_text(i) for i in item)}]")
            elif isinstance(item, dict):
                out.append(f"{pad}{key_text}: {{}}")
            else:
                out.append(f"{pad}{key_text}: {scalar_text(item)}")
        return out
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = dump(item, indent + step, step)
                out.append(f"{pad}- {inner[0].lstrip()}")
                out.extend(inner[1:])
            else:
                out.append(f"{pad}- {scalar_text(item)}")
        return out
    return [f"{pad}{scalar_text(value)}"]
