"""Every profile's plan on its fixture root goes through the engine and back exactly.

The current-release plans edit xl.conf only after the package brings it (a deferred edit); the
fake apt-get brings a file shaped like the shipped one, and the rollback removes both the edit
and the package again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kits.enginekit import FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, plan_for
from xenwizard.edits import nftconfine
from xenwizard.engine.executor import Engine
from xenwizard.target.rootfs import RootFS

ROOTS = sorted(p.name for p in FIXTURES.glob("*-root") if p.is_dir())


@pytest.mark.parametrize("name", ROOTS)
def test_round_trip_on_each_fixture_root(tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, symlinks=True)
    original = manifest(root)
    plan = plan_for(root)
    runner = FakeRunner(root)
    result = Engine(plan, RootFS(root), runner).apply()
    assert result.outcome == "applied", result.message
    assert runner.calls[0] == ["apt-get", "update"]
    assert runner.calls[1][:3] == ["apt-get", "install", "--download-only"]
    assert runner.calls[2][:3] == ["apt-get", "install", "-y"]

    again = plan_for(root)
    assert [s.id for s in again.steps if s.changed] == []
    applied = manifest(root)
    if name != "precise-root":  # the DHCP confinement's files, which the rollback removes
        assert applied[nftconfine.UNIT_LINK][:2] == ("link", "/" + nftconfine.UNIT_PATH)
        assert {nftconfine.RULES_PATH, nftconfine.UNIT_PATH} <= set(applied)
    assert Engine(again, RootFS(root), FakeRunner(root)).apply().outcome == "nothing-to-do"
    assert manifest(root) == applied

    rolled = Engine(None, RootFS(root), runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(original, manifest(root)) == []
