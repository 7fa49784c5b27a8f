"""The wizard at the terminal sizes operators have: below 80x24 a notice instead of pages
with hidden fields, the preview's full-width diff at 80x24, and a wide terminal's room used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import gallery
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.tui.screens.modals import TooSmallScreen
from xenwizard.tui.screens.preview import PreviewScreen
from xenwizard.tui.screens.subnet import SubnetScreen

pytestmark = pytest.mark.usefixtures("pinned_run_id")

TO_PREVIEW = ("enter",) * 6


def scenario() -> gallery.Scenario:
    return gallery.Scenario("layout", "layout", root="debian-12")


def footer_keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(key.description) for key in app.screen.query("FooterKey")]


class TestTooSmall:
    @sync
    async def test_below_80x24_a_notice_covers_the_pages_and_keys_do_nothing(
        self, tmp_path: Path
    ) -> None:
        """Before, a 70x20 terminal showed the page with its buttons cut off, and Enter still
        went to the hidden fields."""
        app, runner = gallery.build_app(scenario(), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter", "enter"), runner)
            assert isinstance(app.screen, SubnetScreen)
            page = app.screen
            await pilot.resize_terminal(70, 20)
            await gallery.wait_for(
                pilot, lambda: isinstance(app.screen, TooSmallScreen), "the notice"
            )
            text = screen_text(app)
            assert "The terminal is too small: 70x20." in text, text
            assert "xenwizard needs at least 80x24." in text, text
            assert footer_keys(app) == ["Quit"]
            for key in ("backspace", "9", "enter", "escape", "tab"):
                await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, TooSmallScreen)
            await pilot.resize_terminal(80, 23)  # still a row short: the notice follows
            await gallery.wait_for(
                pilot, lambda: "80x23" in screen_text(app), "the notice's new size"
            )
            await pilot.resize_terminal(80, 24)
            await gallery.wait_for(pilot, lambda: app.screen is page, "the page again")
            assert page.query_one("#address").value == "10.0.0.1/24"  # nothing typed into it

    @sync
    async def test_a_quit_question_over_the_notice_still_works(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(scenario(), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (), runner)
            await pilot.resize_terminal(60, 20)
            await gallery.wait_for(
                pilot, lambda: isinstance(app.screen, TooSmallScreen), "the notice"
            )
            await pilot.press("ctrl+q")
            await gallery.wait_for(pilot, lambda: "Quit" in screen_text(app), "the quit question")
            await pilot.resize_terminal(80, 24)
            await pilot.press("n")  # not quitting: back to the welcome page, big enough now
            await gallery.wait_for(
                pilot, lambda: "[1/9] Welcome" in screen_text(app), "the welcome page"
            )
            assert not any(isinstance(s, TooSmallScreen) for s in app.screen_stack)


class TestPreviewWidth:
    @sync
    async def test_f_gives_the_diff_the_whole_width_with_nothing_cut(self, tmp_path: Path) -> None:
        """At 80x24 the step list left the diff 45 columns, and lines longer than that were
        cut; `f` hides the list, wraps long lines, and n / p step through the plan."""
        app, runner = gallery.build_app(scenario(), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, TO_PREVIEW, runner)
            assert isinstance(app.screen, PreviewScreen)
            assert "Full-width diff" in footer_keys(app)
            assert "Next step" not in footer_keys(app)
            await pilot.press("f")
            await pilot.pause()
            assert footer_keys(app)[-4:-1] == ["Step list", "Next step", "Prev step"]
            assert not app.screen.query_one("#step-pane").display
            await pilot.press("n", "n")  # the bridge in etc/network/interfaces
            await pilot.pause()
            text = screen_text(app)
            assert "2. bridge br0 on eno1 (ifupdown)" in text, text
            detail = app.screen.query_one("#detail")
            await pilot.press("end")  # scroll the diff by keyboard, the detail has focus
            await pilot.pause()
            assert detail.max_scroll_x == 0, "a diff line is still wider than the screen"
            assert "+iface br0 inet static" in screen_text(app)  # the diff's end, wrapped, shown
            await pilot.press("f")
            await pilot.pause()
            assert app.screen.query_one("#step-pane").display
            assert app.screen.query_one("#steps").has_focus
            assert "Full-width diff" in footer_keys(app)


class TestWide:
    @sync
    async def test_at_120x40_no_step_title_is_cut(self, tmp_path: Path) -> None:
        """Before, the step list stayed 34 columns wide whatever the terminal, and titles
        ended in an ellipsis at 120x40 too."""
        app, runner = gallery.build_app(scenario(), tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await gallery.drive(pilot, TO_PREVIEW, runner)
            assert isinstance(app.screen, PreviewScreen)
            text = screen_text(app)
            assert "…" not in text, text
            pane = app.screen.query_one("#step-pane")
            assert pane.size.width > 34
            assert app.screen.query_one("#detail").size.width >= 60  # the diff keeps its room
