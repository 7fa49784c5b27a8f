"""Textual's private API is used in one module only, `xenwizard/tui/textual_private.py`, which
says why for each use: a Textual release that renames one breaks one documented place."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import textual

TUI = Path(__file__).resolve().parents[2] / "xenwizard" / "tui"
SHIM = TUI / "textual_private.py"


def textual_private_names() -> set[str]:
    """Every `_name` Textual defines or sets on its own objects."""
    names: set[str] = set()
    for path in Path(textual.__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\b(?:self|cls)\.(_[a-z]\w*)", text))
        names |= set(re.findall(r"^\s*(?:async )?def (_[a-z]\w*)", text, re.M))
    return names


def from_textual(cls: type) -> bool:
    return any(base.__module__.split(".")[0] == "textual" for base in cls.__mro__)


def private_uses(path: Path, private: set[str]) -> list[str]:
    """`x._name` and `def _name` in `path` where `_name` is Textual's: on another object, or
    on `self` in a class that inherits from Textual."""
    module_name = ".".join(path.relative_to(TUI.parent.parent).with_suffix("").parts)
    module = importlib.import_module(module_name)
    found = []

    def visit(node: ast.AST, owner: type | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = owner
            if isinstance(child, ast.ClassDef):
                inner = getattr(module, child.name, None)
            name = None
            if isinstance(child, ast.Attribute) and child.attr in private:
                is_self = isinstance(child.value, ast.Name) and child.value.id in ("self", "cls")
                if not is_self or (owner is not None and from_textual(owner)):
                    name = child.attr
            elif (
                isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                and child.name in private
                and owner is not None
                and from_textual(owner)
            ):
                name = child.name
            if name is not None:
                found.append(f"{path.name}:{child.lineno} {name}")
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


def test_textual_private_api_is_used_in_the_shim_only() -> None:
    private = textual_private_names()
    outside = [
        use
        for path in sorted(TUI.rglob("*.py"))
        if path != SHIM
        for use in private_uses(path, private)
    ]
    assert outside == []
    # the check sees the uses the shim documents (so it would see them elsewhere)
    shim = {use.split()[1] for use in private_uses(SHIM, private)}
    assert {"_handle_exception", "_message_queue", "_button", "_selected", "_file", "_app"} <= shim
