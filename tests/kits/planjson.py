"""`xenwizard plan --json` on the five fixture roots, and where the kept copies of it live."""

from __future__ import annotations

from tests.kits.helpers import REPO, run_cli

ROOTS = ("precise", "debian-12", "debian-13", "ubuntu-22.04", "ubuntu-24.04")
KEPT = REPO / "tests/fixtures/plan-json"


def plan_json(name: str) -> str:
    """The plan of tests/fixtures/NAME-root with the default answers, as the CLI prints it (the
    root as a path relative to the checkout, so that the output is the same in every clone)."""
    done = run_cli("plan", "--root", f"tests/fixtures/{name}-root", "--json")
    assert done.returncode == 0, f"xenwizard plan on {name}-root failed:\n{done.stderr}"
    return done.stdout
