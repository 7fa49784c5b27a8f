"""The gallery in screens/ is fresh: every SVG equals a current snapshot of the same screen.

`scripts/make-screens` takes its pictures exactly as the snapshot tests do, so each gallery SVG
must be byte-equal (after the random ids Rich puts into SVGs are normalised) to one snapshot;
and the snapshot tests prove the snapshots match the app as it is now. When this fails, run
`.venv/bin/python scripts/make-screens` and commit screens/.
"""

from __future__ import annotations

from pytest_textual_snapshot import normalize_svg

from tests.gallery import SCENARIOS
from tests.helpers import REPO

GALLERY = REPO / "screens"
SNAPSHOTS = REPO / "tests" / "__snapshots__" / "test_screens_snapshots"


def _svgs(folder):  # type: ignore[no-untyped-def]
    return {p.name: normalize_svg(p.read_text(encoding="utf-8")) for p in folder.glob("*.svg")}


def test_every_scenario_has_a_picture() -> None:
    """One SVG per gallery scenario, and no leftovers."""
    assert sorted(_svgs(GALLERY)) == sorted(f"{s.name}.svg" for s in SCENARIOS)


def test_gallery_matches_snapshots() -> None:
    """Each screens/*.svg equals a snapshot the snapshot tests check against the live app."""
    snapshots = set(_svgs(SNAPSHOTS).values())
    stale = sorted(name for name, svg in _svgs(GALLERY).items() if svg not in snapshots)
    assert not stale, f"stale gallery pictures (run scripts/make-screens): {stale}"
