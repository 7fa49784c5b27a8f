"""The README's map of the rooms is the contract: every module sits in one room, and imports run
one way, from a room to its own or one above it (lazy imports inside functions count too;
`if TYPE_CHECKING:` blocks do not, they never run)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import REPO, package_modules


def rooms_from_readme(text: str) -> list[list[str]]:
    """The layout table's first column, a list of names per row: `x.py` a module, `x/` a
    package, as the README writes them (the first may carry the `xenwizard/` prefix)."""
    section = text[text.index("- Layout (the rooms") :]
    rows = []
    for line in section.splitlines()[1:]:
        if rows and not line.strip():
            break
        if not line.strip().startswith("| `"):
            continue
        first_cell = line.strip().split("|")[1]
        rows.append(
            [name.removeprefix("xenwizard/") for name in re.findall(r"`([^`]+)`", first_cell)]
        )
    return rows


def room_of(module: str, rooms: list[list[str]]) -> int | None:
    """The row holding `module`: a package row holds everything under it."""
    inside = module.removeprefix("xenwizard").lstrip(".")
    for index, names in enumerate(rooms):
        for name in names:
            if name.endswith("/"):
                package = name.rstrip("/").replace("/", ".")
                if inside == package or inside.startswith(package + "."):
                    return index
            elif name.endswith(".py"):
                stem = name.removesuffix(".py").replace("/", ".")
                if inside == stem or (stem == "__init__" and inside == ""):
                    return index
    return None


def runtime_imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the package that can run, lazy ones
    included; what only a type checker reads is left out."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for branch in child.orelse:
                    visit(branch)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".")
                    if path.name != "__init__.py":
                        package = package[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, base] if base else package)
                found.append((child.lineno, base))
                found.extend((child.lineno, f"{base}.{alias.name}") for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return [(line, name) for line, name in found if name.split(".")[0] == "xenwizard"]


MODULES = package_modules()
ROOMS = rooms_from_readme((REPO / "docs" / "development.md").read_text(encoding="utf-8"))


def resolve(name: str) -> str:
    """An imported name as the module that holds it (`from x import f` names x.f)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def test_the_table_is_read() -> None:
    assert len(ROOMS) >= 8
    assert ["tui/"] in ROOMS
    assert ROOMS[0][0] == "__init__.py"


def test_every_module_sits_in_one_room() -> None:
    unplaced = [name for name in MODULES if room_of(name, ROOMS) is None]
    assert not unplaced, f"add these to README's layout table: {unplaced}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module: str) -> None:
    mine = room_of(module, ROOMS)
    assert mine is not None
    against = [
        f"{MODULES[module].relative_to(REPO)}:{line} imports {target} ({ROOMS[theirs]})"
        for line, name in runtime_imports(MODULES[module], module)
        if (target := resolve(name)) in MODULES
        and (theirs := room_of(target, ROOMS)) is not None
        and theirs > mine
    ]
    assert not against, f"{module} is in {ROOMS[mine]}, below what it imports: {against}"


def test_an_import_against_the_direction_is_found(tmp_path: Path) -> None:
    """The check can fail: an engine module importing the wizard's screens is caught."""
    path = tmp_path / "executor.py"
    path.write_text(
        "TYPE_CHECKING = False\n"
        "if TYPE_CHECKING:\n"
        "    from xenwizard.tui.app import WizardApp\n"
        "def show() -> None:\n"
        "    from xenwizard.tui.screens.base import PAGES\n",
        encoding="utf-8",
    )
    found = runtime_imports(path, "xenwizard.engine.executor")
    assert found == [(5, "xenwizard.tui.screens.base"), (5, "xenwizard.tui.screens.base.PAGES")]
    engine, tui = (room_of(name, ROOMS) for name in ("xenwizard.engine.executor", "xenwizard.tui"))
    assert engine is not None and tui is not None and tui > engine
