"""The preview builds its plan in a worker thread: on the live root the real validators
(`ifup --no-act`, `netplan generate`) take from half a second up to 30 s, and the UI must stay
responsive meanwhile. A plan factory that waits for the test to let it go stands in for them
(a fake: this is a test of the UI's responsiveness, not of the validators)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.kits import gallery
from tests.kits.helpers import PRECISE_ROOT
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.tui.screens.modals import ConfirmScreen, HelpScreen
from xenwizard.tui.screens.preview import PreviewScreen
from xenwizard.tui.screens.toolstack import ToolstackScreen

SLOW = 5.0  # the longest the fake validators take if the test never lets them go


class SlowPlans:
    """A plan factory that blocks until `go` is set (at most SLOW s); records its threads."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.threads: list[threading.Thread] = []

    def setup(self, ctx) -> None:  # type: ignore[no-untyped-def]
        def factory(config):  # type: ignore[no-untyped-def]
            self.threads.append(threading.current_thread())
            self.go.wait(SLOW)
            return ctx.profile_plan(config)

        ctx.plan_factory = factory


async def to_building_preview(pilot, runner) -> PreviewScreen:  # type: ignore[no-untyped-def]
    """Walk to the preview (its last Enter pressed here, not by `drive`, which waits for the
    plan) and wait until the page says it is building."""
    app = pilot.app
    await gallery.drive(pilot, gallery.TO_PREVIEW[:-1], runner)
    await pilot.press("enter")
    await gallery.wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen), "the preview")
    page = app.screen
    assert getattr(page, "building", False), "the plan was built before the preview came up"
    await gallery.wait_for(pilot, lambda: "Building the plan" in screen_text(app), "the text")
    return page


@sync
async def test_the_preview_answers_keys_while_the_plan_is_built(tmp_path: Path) -> None:
    """F1 opens the help within a second while the plan takes seconds; Apply (a) typed
    meanwhile waits for the plan and then asks for confirmation as usual."""
    slow = SlowPlans()
    item = gallery.Scenario("slow-plan", "slow plan", setup=slow.setup)
    app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
    async with app.run_test(size=gallery.SIZE) as pilot:
        page = await to_building_preview(pilot, runner)
        text = screen_text(app)
        assert "Apply" not in text.rstrip().splitlines()[-1]  # the footer offers no Apply yet
        pressed = time.monotonic()
        await pilot.press("f1")
        await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        assert time.monotonic() - pressed < 1.0
        assert page.building and not slow.go.is_set()
        await pilot.press("escape")
        await gallery.wait_for(pilot, lambda: app.screen is page, "the preview again")
        await pilot.press("a")  # waits for the plan: it is not refused
        await pilot.pause(0.2)
        assert page.building and "Apply is disabled" not in screen_text(app)
        slow.go.set()
        await gallery.wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
        assert page.plan is not None and not page.building
        assert "Apply the plan?" in screen_text(app)
    assert slow.threads and threading.main_thread() not in slow.threads
    assert app.crashed is None


@sync
async def test_escape_while_the_plan_is_built_goes_back(tmp_path: Path) -> None:
    """Esc leaves the building preview at once; the late plan is dropped, and the next
    preview builds its own."""
    slow = SlowPlans()
    item = gallery.Scenario("slow-plan", "slow plan", setup=slow.setup)
    app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
    async with app.run_test(size=gallery.SIZE) as pilot:
        first = await to_building_preview(pilot, runner)
        await pilot.press("escape")
        await gallery.wait_for(pilot, lambda: isinstance(app.screen, ToolstackScreen), "back")
        assert not slow.go.is_set()
        slow.go.set()
        await pilot.pause(0.1)
        assert isinstance(app.screen, ToolstackScreen) and first.plan is None
        assert app.screen.query_one("#ack").value  # the acknowledgement is kept (issue 26)
        await pilot.press("enter")
        await gallery.wait_for(
            pilot,
            lambda: isinstance(app.screen, PreviewScreen) and app.screen.plan is not None,
            "the second preview's plan",
        )
        assert app.screen is not first
        assert "steps change something" in screen_text(app)
    assert len(slow.threads) == 2 and app.crashed is None


@sync
async def test_the_plan_arriving_under_the_help_is_shown_after_it(tmp_path: Path) -> None:
    slow = SlowPlans()
    item = gallery.Scenario("slow-plan", "slow plan", setup=slow.setup)
    app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
    async with app.run_test(size=gallery.SIZE) as pilot:
        page = await to_building_preview(pilot, runner)
        await pilot.press("f1")
        await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        slow.go.set()
        await gallery.wait_for(pilot, lambda: not page.building, "the plan")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen) and app.crashed is None
        await pilot.press("escape")
        await gallery.wait_for(pilot, lambda: app.screen is page, "the preview again")
        assert "steps change something" in screen_text(app)
    assert app.crashed is None


@sync
async def test_a_plan_arriving_as_the_app_closes_is_dropped_quietly(tmp_path: Path) -> None:
    """The plan comes while the app shuts down (Textual then composes the page only partly):
    no error page, no error log."""
    slow = SlowPlans()
    item = gallery.Scenario("slow-plan", "slow plan", setup=slow.setup)
    app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
    with gallery.pinned():  # the validators pinned: the plan comes within milliseconds
        async with app.run_test(size=gallery.SIZE) as pilot:
            await to_building_preview(pilot, runner)
            await pilot.press("f1")
            await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            slow.go.set()
    assert app.crashed is None


@sync
async def test_keys_typed_during_a_ten_second_plan_all_arrive(tmp_path: Path) -> None:
    """Issue 26 item 6: keys typed while the plan takes 10 s (past the old 5 s limit) are
    held, none dropped, and arrive in order once it is there; F1 typed among them opens the
    help at once, the help's Esc closes it, and the held keys still wait for the plan (failed
    before: after 5 s the keys went to the building page and were lost)."""
    slow = SlowPlans()
    item = gallery.Scenario("slow-plan", "slow plan", setup=slow.setup)
    app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)

    def factory(config):  # type: ignore[no-untyped-def]
        slow.go.wait(10)  # the validators of a slow live root: 10 s
        return app.ctx.profile_plan(config)

    async with app.run_test(size=gallery.SIZE) as pilot:
        app.ctx.plan_factory = factory
        page = await to_building_preview(pilot, runner)
        started = time.monotonic()
        await pilot.press("down", "down", "down")
        await pilot.press("f1")  # jumps the held keys
        await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        assert page.building and time.monotonic() - started < 5
        await pilot.press("escape")  # the help's: closes it
        await gallery.wait_for(pilot, lambda: app.screen is page, "the preview again")
        await pilot.press("down", "down", "f")
        await pilot.pause(6)  # past the old TYPE_AHEAD_WAIT of 5 s
        assert page.building
        await gallery.wait_for(pilot, lambda: not page.building, "the plan")
        await gallery.wait_for(pilot, lambda: not app._typed and not app._held, "the keys")
        await pilot.pause()
        waited = time.monotonic() - started
        steps = page.query_one("#steps")
        highlighted, full = steps.highlighted, page.full_width
    assert waited >= 9.5, waited  # the plan really took its 10 s
    assert (highlighted, full) == (5, True), (highlighted, full)  # 5 Downs, then f
