"""A deferred edit's file known before the install: the package's .deb in the target's apt cache
(apt-get keeps what it downloads) gives the preview the change xl.conf will get.

The .debs are built with the real `dpkg-deb --build` (xz, as Debian builds them; gzip and a
zstd-compressed one as Ubuntu builds them when `zstd` is installed).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.kits import gallery, programs
from tests.kits.helpers import FIXTURES, copy_root, plan_for
from tests.tui.test_app_wizard import screen_text, sync
from tests.unit.test_edit_xlconf import BLOCK, XL_CONF
from xenwizard.target.rootfs import RootFS
from xenwizard.target.shippedfile import APT_CACHE, from_apt_cache
from xenwizard.tui.screens.preview import PreviewScreen

pytestmark = pytest.mark.usefixtures("pinned_run_id")

DEB_NAME = "xen-utils-common_4.17.5+23-ga4e5191dc0-1_all.deb"


def build_deb(where: Path, text: str, compression: str = "xz", name: str = DEB_NAME) -> Path:
    """A minimal xen-utils-common .deb holding etc/xen/xl.conf, built by dpkg-deb."""
    tree = where / f"tree-{compression}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        "Package: xen-utils-common\nVersion: 4.17.5+23-ga4e5191dc0-1\nArchitecture: all\n"
        "Maintainer: tests <tests@localhost>\nDescription: test package\n"
    )
    (tree / "etc/xen").mkdir(parents=True)
    (tree / "etc/xen/xl.conf").write_text(text)
    deb = where / name
    done = subprocess.run(
        ["dpkg-deb", f"-Z{compression}", "--root-owner-group", "--build", str(tree), str(deb)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return deb


def root_with_cached_deb(tmp_path: Path, compression: str = "xz") -> Path:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    cache = root / APT_CACHE
    cache.mkdir(parents=True)
    shutil.move(build_deb(tmp_path, XL_CONF, compression), cache / DEB_NAME)
    return root


def xl_step(root: Path):  # type: ignore[no-untyped-def]
    (step,) = [s for s in plan_for(root).steps if s.id == "xl-default-bridge"]
    return step


def test_the_plan_carries_the_change_against_the_cached_package_file(tmp_path: Path) -> None:
    root = root_with_cached_deb(tmp_path)
    step = xl_step(root)
    assert step.deferred and step.expected is not None
    assert step.expected.source == f"{APT_CACHE}/{DEB_NAME}"
    assert step.expected.before == XL_CONF
    assert BLOCK in step.expected.after
    diff = step.expected_diff()
    assert '+vif.default.bridge="br0"' in diff and '+autoballoon="off"' in diff
    assert any(DEB_NAME in note and "preview shows" in note for note in step.notes)
    assert step.diff() == ""  # no patch for a file the target does not have yet


def test_without_a_cached_package_the_step_stays_deferred_as_before(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    step = xl_step(root)
    assert step.deferred and step.expected is None


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_other_compressions(tmp_path: Path, compression: str) -> None:
    if compression == "zstd":
        programs.require("zstd")
    root = root_with_cached_deb(tmp_path, compression)
    shipped = from_apt_cache(RootFS(root), "etc/xen/xl.conf", ("xen-utils-common",))
    assert shipped is not None and shipped.text == XL_CONF


def test_a_broken_or_foreign_deb_is_not_known(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    cache = root / APT_CACHE
    cache.mkdir(parents=True)
    (cache / DEB_NAME).write_bytes(b"!<arch>\nnot really a package")
    (cache / "xen-utils-common_4.17.6-1_all.deb").write_bytes(b"garbage")
    assert from_apt_cache(RootFS(root), "etc/xen/xl.conf", ("xen-utils-common",)) is None
    assert xl_step(root).expected is None


@sync
async def test_the_preview_shows_the_change_to_come(tmp_path: Path) -> None:
    """Before, a deferred xl.conf showed only "computed right after installation"."""
    scenario = gallery.Scenario("shipped", "shipped", root="debian-12")
    app, runner = gallery.build_app(scenario, tmp_path)
    cache = tmp_path / "root" / APT_CACHE
    cache.mkdir(parents=True)
    shutil.move(build_deb(tmp_path, XL_CONF), cache / DEB_NAME)
    async with app.run_test(size=gallery.SIZE) as pilot:
        await gallery.drive(pilot, ("enter",) * 6, runner)
        assert isinstance(app.screen, PreviewScreen)
        await pilot.press("f", "n", "n", "n")  # full width, step 3: xl.conf
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        text = screen_text(app)
        detail = str(app.screen.query_one("#detail-head").render())
        assert f"The change to come, against {APT_CACHE}/{DEB_NAME}:" in " ".join(detail.split())
        assert '+vif.default.bridge="br0"' in text, text
