"""The layers are import-linter's contracts in pyproject.toml (docs/layout.md explains them):
imports run one way, from each layer to the layers below it, and only `tui/` imports textual
or rich. These tests run the real `lint-imports` and show that it catches a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits.helpers import REPO

PACKAGE = REPO / "xenwizard"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the package in `project`, with that project's pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), str(project / "pyproject.toml"), "--no-cache"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
    )


def test_the_contracts_hold() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The package and its pyproject.toml in a scratch project, to break on purpose."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(PACKAGE, tmp_path / "xenwizard", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def add_import(project: Path, module: str, line: str) -> None:
    path = project / module
    path.write_text(f"{path.read_text()}\n{line}\n")


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        (  # answers/ is the bottom layer of the three: planning sits above it
            "xenwizard/answers/model.py",
            "from xenwizard.planning import plan",
            "xenwizard.answers is not allowed to import xenwizard.planning",
        ),
        (  # a type-only import counts: it was how the old cycles hid
            "xenwizard/edits/netplan.py",
            "if TYPE_CHECKING:\n    from xenwizard.target.rootfs import RootFS",
            "xenwizard.edits is not allowed to import xenwizard.target",
        ),
        (
            "xenwizard/answers/file.py",
            "import textual",
            "xenwizard.answers is not allowed to import textual",
        ),
        (  # lazily, and through another module: target/ reaches it by way of edits.text
            "xenwizard/edits/text.py",
            "def _lazy() -> None:\n    import rich",
            "xenwizard.target is not allowed to import rich",
        ),
        (  # a page tells the app by a message (tui/messages.py); it never imports the app
            "xenwizard/tui/screens/base.py",
            "if TYPE_CHECKING:\n    from xenwizard.tui.app import XenWizardApp",
            "xenwizard.tui.screens is not allowed to import xenwizard.tui.app",
        ),
    ],
)
def test_a_breach_is_caught(project_copy: Path, module: str, line: str, broken: str) -> None:
    assert lint_imports(project_copy).returncode == 0  # the copy holds, as the package does
    add_import(project_copy, module, line)
    done = lint_imports(project_copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert broken in done.stdout


def test_every_folder_says_what_lives_there() -> None:
    """Each package's docstring opens with one line naming what it holds."""
    for init in sorted(PACKAGE.rglob("__init__.py")):
        text = init.read_text()
        assert text.startswith('"""'), init
        first = text[3:].split("\n", 1)[0].removesuffix('"""')
        assert len(first) > 20 and first.endswith((".", "?")), (init, first)


def test_the_top_level_holds_a_handful_of_modules() -> None:
    """Everything else lives in a layer's folder."""
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(modules) <= 8, modules
