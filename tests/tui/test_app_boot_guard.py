"""The wizard on a host whose boot guard is pending: the boot guard page first, with verify's
result; Confirm (c), refused while verify fails; Roll back now (r); keys shown in the footer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import gallery
from tests.kits.enginekit import FakeRunner
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.edits import grubenv
from xenwizard.engine.journal import list_runs
from xenwizard.target.rootfs import RootFS
from xenwizard.tui.screens.guard import GuardScreen
from xenwizard.tui.screens.welcome import WelcomeScreen
from xenwizard.verify import bootguard
from xenwizard.verify.hostcheck.canary import CanaryResult

pytestmark = pytest.mark.usefixtures("pinned_run_id")

XEN = "Debian GNU/Linux, with Xen hypervisor"
SCENARIO = gallery.scenario("debian-12-boot-guard")


async def verified(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await gallery.drive(pilot, ("@verified",), gallery.GalleryRunner())


@sync
async def test_confirm_from_the_guard_page(tmp_path: Path) -> None:
    app, _ = gallery.build_app(SCENARIO, tmp_path)
    root = RootFS(tmp_path / "root")
    async with app.run_test(size=gallery.SIZE) as pilot:
        await verified(pilot, app)
        assert isinstance(app.screen, GuardScreen)
        text = screen_text(app)
        assert "installed a boot guard" in text and "verify: no check failed" in text
        assert "c Confirm" in text and "r Roll back now" in text
        await pilot.press("c")
        await pilot.pause()
        text = screen_text(app)
        assert "Confirmed" in text
        assert "c Confirm" not in text and "r Roll back now" not in text  # both done with
        assert bootguard.pending(root) is None
        assert grubenv.read(root.read_bytes(grubenv.PATH)) == {"saved_entry": XEN}
        await pilot.press("enter")
        await gallery.wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen), "welcome")


@sync
async def test_check_with_a_guest_from_the_guard_page(tmp_path: Path) -> None:
    """g runs the canary in a worker: its progress, then its verdict and what it left."""
    app, _ = gallery.build_app(SCENARIO, tmp_path)
    calls: list[str] = []

    def canary(on_progress):  # type: ignore[no-untyped-def]
        calls.append("started")
        on_progress("waiting for dnsmasq to lease 00:16:3e:00:00:01")
        return CanaryResult(
            False, "no lease for 00:16:3e:00:00:01 from dnsmasq on br0 within 120 s",
            mac="00:16:3e:00:00:01", left_behind=("a lease of 00:16:3e:00:00:01",),
        )  # fmt: skip

    app.ctx.guard_canary = canary
    async with app.run_test(size=gallery.SIZE) as pilot:
        await verified(pilot, app)
        assert "g Check with a guest" in screen_text(app)
        await pilot.press("g")
        await gallery.wait_for(pilot, lambda: "FAIL guest" in screen_text(app), "the verdict")
        text = screen_text(app)
        assert "no lease for 00:16:3e:00:00:01" in text
        assert "left behind: a lease of 00:16:3e:00:00:01" in text
        await pilot.press("g")  # once more: a new run, not a second one at the same time
        await gallery.wait_for(pilot, lambda: len(calls) == 2, "the second run")
    assert bootguard.pending(RootFS(tmp_path / "root")) is not None  # nothing confirmed


@sync
async def test_confirm_is_refused_while_verify_fails(tmp_path: Path) -> None:
    app, _ = gallery.build_app(SCENARIO, tmp_path)
    dropin = tmp_path / "root/etc/dnsmasq.d/xenwizard.conf"
    dropin.write_text(dropin.read_text() + "# edited by hand\n")
    async with app.run_test(size=gallery.SIZE) as pilot:
        await verified(pilot, app)
        text = screen_text(app)
        assert "1 check(s) FAILED" in text
        assert "Confirm refused: verify failed" in text  # said at once, before any key
        assert "c Confirm" not in text  # the footer offers no key that is refused
        assert "r Roll back now" in text
        await pilot.press("c")
        await pilot.pause()
        assert "Confirm refused: verify failed" in screen_text(app)
    assert bootguard.pending(RootFS(tmp_path / "root")) is not None


@sync
async def test_roll_back_now_from_the_guard_page(tmp_path: Path) -> None:
    app, runner = gallery.build_app(SCENARIO, tmp_path)
    root = RootFS(tmp_path / "root")
    app.ctx.runner = FakeRunner(tmp_path / "root")  # the purge really takes the packages back
    async with app.run_test(size=gallery.SIZE) as pilot:
        await verified(pilot, app)
        await pilot.press("r")
        await gallery.drive(pilot, ("@apply",), runner)
    assert bootguard.pending(root) is None
    (info,) = list_runs(root)
    assert info.state == "rolled-back"


@sync
async def test_done_page_says_reboot_and_confirm_within_the_deadline(tmp_path: Path) -> None:
    item = gallery.Scenario("guarded-walk", "", root="debian-12")
    app, runner = gallery.build_app(item, tmp_path)
    app.ctx.runner = FakeRunner(tmp_path / "root")  # packages really "installed": the guard is
    app.ctx.simulate_packages = False
    apt_get = tmp_path / "root/usr/bin/apt-get"  # what FakeRunner plays, as a real target has it
    apt_get.parent.mkdir(parents=True, exist_ok=True)
    apt_get.touch(mode=0o755)
    with gallery.pinned():
        async with app.run_test(size=gallery.SIZE) as pilot:
            keys = (*gallery.XL_TO_PREVIEW, "a", "y", "@apply", "enter")
            await gallery.drive(pilot, keys, runner)
            text = str(app.screen.query_one("#done-text").content)  # the page scrolls
    assert "Reboot, log in again within 10 minutes and run `xenwizard confirm --root /`;" in text
    assert "otherwise the boot guard rolls this run back and the host comes back as it was." in text
    assert bootguard.pending(RootFS(tmp_path / "root")) is not None
