"""netplan and cloud-init YAML, read with PyYAML's `compose` (libyaml when present, as netplan
itself uses), with line spans, and written back by splicing lines.

`compose` gives the node tree with each node's position and its scalars' original text, so:
- every mapping entry remembers the lines it spans, and an edit can comment out exactly the
  lines of one key and leave every other byte of the file alone;
- scalars stay text (a quoted one is a `Quoted`), so a value copied from one file into another
  keeps its meaning: `true` stays a plain `true`, `"52:54:00:12:34:56"` stays quoted (YAML 1.1
  would read it unquoted as a base-60 number).

Anchors, aliases, block scalars and tags are whatever YAML says they are. A file nested deeper
than MAX_DEPTH, bigger than MAX_CHARS, of more than MAX_NODES nodes once its aliases are expanded
(an alias bomb), with a duplicate key or with line breaks other than \\n
and \\r\\n (which would make YAML's line numbers differ from ours) is a one-line YamlError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xenwizard.edits import EditError

if TYPE_CHECKING:
    from typing import Any

MAX_DEPTH = 64  # netplan files nest about six levels
MAX_CHARS = 1_000_000
MAX_NODES = 100_000  # nodes once aliases are expanded; a netplan file has a few hundred
_ODD_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


class YamlError(EditError):
    """The text is not YAML in a shape this reader takes; says where and why."""


class Quoted(str):
    """A scalar that was quoted in the source (or must be quoted when written)."""

    __slots__ = ()


@dataclass(slots=True)
class Node:
    """A value with the lines it spans (0-based `start`, exclusive `end`)."""

    value: object  # dict[str, Entry] | list[Node] | str | None
    start: int
    end: int
    flow: bool = False


@dataclass(slots=True)
class Entry:
    """One `key: value` of a mapping: the key's line and the end of its value's lines."""

    key: str
    node: Node
    start: int
    end: int


@dataclass(slots=True)
class Document:
    """A parsed file: the root node and the raw lines it came from."""

    root: Node | None
    lines: list[str] = field(default_factory=list)

    def data(self) -> object:
        return plain(self.root) if self.root is not None else None


_SPLIT = re.compile(r"[^\n]*\n|[^\n]+\Z")
_NULL_TAG = "tag:yaml.org,2002:null"


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_depth(yaml: Any, text: str) -> None:
    """Nesting counted on the event stream (no recursion), before anything is composed."""
    depth = 0
    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlError(
                    f"line {event.start_mark.line + 1}: nested more than {MAX_DEPTH} levels "
                    "deep; expected a netplan-shaped file"
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _end(node: Any) -> int:
    """The exclusive end line of a node: a block collection ends with its last item (its own
    end mark is where the next key starts, after any comments in between)."""
    import yaml

    if not getattr(node, "flow_style", True) and node.value:
        last = node.value[-1]
        return _end(last[1] if isinstance(node, yaml.MappingNode) else last)
    mark = node.end_mark
    line: int = mark.line
    return line + 1 if mark.column > 0 else max(line, node.start_mark.line + 1)


def _convert(node: Any, seen: dict[int, Node], active: set[int]) -> Node:
    import yaml

    key = id(node)
    if key in seen:  # an alias: the anchored node again
        return seen[key]
    if key in active:
        raise YamlError(f"line {node.start_mark.line + 1}: an alias inside its own anchor")
    start, end = node.start_mark.line, _end(node)
    if isinstance(node, yaml.ScalarNode):
        value: object
        if node.style in ("'", '"'):
            value = Quoted(node.value)
        elif node.tag == _NULL_TAG:
            value = None
        else:
            value = node.value
        converted = Node(value, start, end)
    elif isinstance(node, yaml.SequenceNode):
        active.add(key)
        items = [_convert(item, seen, active) for item in node.value]
        converted = Node(items, start, end, bool(node.flow_style))
    else:
        active.add(key)
        entries: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(f"line {key_node.start_mark.line + 1}: expected a plain key")
            name = key_node.value
            if name in entries:
                raise YamlError(f"line {key_node.start_mark.line + 1}: key {name!r} appears twice")
            item = _convert(value_node, seen, active)
            line = key_node.start_mark.line
            entries[name] = Entry(name, item, line, max(item.end, line + 1))
        converted = Node(entries, start, end, bool(node.flow_style))
    active.discard(key)
    seen[key] = converted
    return converted


def parse(text: str) -> Document:
    """Parse a netplan-style YAML file; YamlError says which line is not understood."""
    raw_lines = _SPLIT.findall(text)  # on "\n" only, as edits.text.Doc does
    if len(text) > MAX_CHARS:
        raise YamlError(f"{len(text)} characters; expected a file under {MAX_CHARS}")
    odd = _ODD_BREAKS.search(text)
    if odd:
        line = text.count("\n", 0, odd.start()) + 1
        raise YamlError(f"line {line}: a line break other than \\n or \\r\\n; expected neither")
    import yaml

    try:
        _check_depth(yaml, text)
        root = yaml.compose(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "not YAML"
        raw = raw_lines[mark.line] if mark is not None and mark.line < len(raw_lines) else ""
        if "\t" in raw[: len(raw) - len(raw.lstrip(" \t"))]:
            problem += " (a tab in the indentation; YAML indents with spaces)"
        raise YamlError(f"{where}{problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "not YAML") from None
    if root is None:
        return Document(None, raw_lines)
    converted = _convert(root, {}, set())
    _check_expanded(converted)
    return Document(converted, raw_lines)


def _check_expanded(root: Node) -> None:
    """Refuse an alias bomb (anchors of lists of aliases of anchors...): the nodes a walk of
    the expanded tree would visit, counted on the shared graph (each node once, memoised), so
    neither the count nor the refusal ever expands anything."""
    sizes: dict[int, int] = {}

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        value = node.value
        children = (
            [e.node for e in value.values()] if isinstance(value, dict)
            else value if isinstance(value, list) else []
        )  # fmt: skip
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        sizes[id(node)] = total
        return total

    total = size(root)
    if total > MAX_NODES:
        raise YamlError(
            f"more than {MAX_NODES} nodes once its aliases are expanded (an alias bomb?); "
            "expected a netplan-shaped file"
        )


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
        return _double_quoted(text)
    if _PLAIN_SAFE.match(text) and not (":" in text and re.fullmatch(r"[0-9:]+", text)):
        return text  # (digits and colons only would read as a YAML 1.1 base-60 number)
    if text.lower() in _SPECIAL_WORDS or re.fullmatch(r"-?[0-9.]+", text):
        return text  # a plain word from the source keeps its (boolean/number) meaning
    return _double_quoted(text)


def _double_quoted(text: str) -> str:
    """A double-quoted YAML scalar: JSON's string syntax is YAML's, escapes included."""
    import json  # here, not at the top: only an edit writes a quoted scalar, not every plan

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
