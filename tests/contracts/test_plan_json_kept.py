"""`xenwizard plan --json` on the five fixture roots stays byte for byte what
tests/fixtures/plan-json/ROOT.json holds: a refactor that changes a plan shows up here as a diff
to read. When a change is meant to change a plan, `scripts/refresh-plan-json` rewrites the files;
commit them with the change."""

from __future__ import annotations

import difflib

import pytest

from tests.kits.planjson import KEPT, ROOTS, plan_json


@pytest.mark.parametrize("name", ROOTS)
def test_the_plan_of_each_fixture_root_is_kept(name: str) -> None:
    kept = (KEPT / f"{name}.json").read_text()
    made = plan_json(name)
    diff = difflib.unified_diff(
        kept.splitlines(), made.splitlines(), f"kept/{name}.json", "now", lineterm="", n=2
    )
    assert made == kept, "\n".join(diff) + "\n(meant? scripts/refresh-plan-json)"
