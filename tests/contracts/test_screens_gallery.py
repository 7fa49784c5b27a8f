"""The gallery in screens/ is the snapshots: every SVG is a byte copy of the snapshot of the same
screen, which the snapshot tests (tests/tui/test_screens_snapshots.py) check against the live
app. When this fails, run the snapshot tests (with `--snapshot-update` after reviewing a
change), then `.venv/bin/python scripts/make-screens`, and commit screens/.
"""

from __future__ import annotations

from tests.kits.gallery import SCENARIOS, SNAPSHOTS, snapshot_files
from tests.kits.helpers import REPO

GALLERY = REPO / "screens"


def test_every_scenario_has_a_picture() -> None:
    """One SVG per gallery scenario in screens/ and no leftovers; each scenario drawn by exactly
    one snapshot test, and every snapshot file belonging to one of them."""
    names = sorted(s.name for s in SCENARIOS)
    assert sorted(p.name for p in GALLERY.glob("*.svg")) == sorted(f"{n}.svg" for n in names)
    files = snapshot_files()
    assert sorted(files) == names
    assert sorted(p.name for p in files.values()) == sorted(p.name for p in SNAPSHOTS.glob("*.svg"))


def test_gallery_is_a_copy_of_the_snapshots() -> None:
    """Each screens/NAME.svg is byte-identical to the snapshot of scenario NAME."""
    stale = sorted(
        name
        for name, snapshot in snapshot_files().items()
        if not (GALLERY / f"{name}.svg").is_file()
        or (GALLERY / f"{name}.svg").read_bytes() != snapshot.read_bytes()
    )
    assert not stale, f"stale gallery pictures (run scripts/make-screens): {stale}"
