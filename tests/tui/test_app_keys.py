"""Typing fast: bursts of keys (as a terminal delivers them over SSH, or tmux send-keys in one
call) never crash the wizard, never land on a page that is going away, and never lose what the
operator typed; Back keeps a page's typing; a refusal line goes once its field is fixed.

`burst` hands the keys to the driver in one go, with no waiting between them, the way one read
of the terminal does; `pilot.press` waits for the app to go idle after every key (slow typing).
"""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events
from textual.app import _character_to_key, _get_unicode_name_from_key
from textual.keys import REPLACED_KEYS
from textual.widgets import Input
from textual.widgets.input import Selection

from tests.kits import gallery
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.tui.screens.bridge import BridgeScreen
from xenwizard.tui.screens.dhcp import DhcpScreen
from xenwizard.tui.screens.modals import ErrorScreen
from xenwizard.tui.screens.subnet import SubnetScreen


def key_event(key: str) -> events.Key:
    """The Key event a terminal read produces for `key` (pilot's own translation)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    name = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(name))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until every typed key has been handed on and handled, and no page is still
    building its plan (the preview builds it in a worker)."""
    app = pilot.app
    for _ in range(2000):
        await pilot.pause()
        typing = getattr(app, "_typing", None)
        keys_done = not getattr(app, "_typed", None) and (typing is None or typing.done())
        if keys_done and not getattr(app.screen, "building", False):
            break
        await asyncio.sleep(0.005)
    await pilot.pause()


async def burst(pilot, *keys: str | events.Paste) -> None:  # type: ignore[no-untyped-def]
    """Send keys (and pastes) to the app in one go, as one read of the terminal does."""
    app = pilot.app
    for key in keys:
        event = events.Paste(key.text) if isinstance(key, events.Paste) else key_event(key)
        event.set_sender(app)
        app._driver.send_message(event)
    await settle(pilot)


async def start(pilot, runner, keys: Sequence[str] = ()) -> None:  # type: ignore[no-untyped-def]
    await gallery.drive(pilot, keys, runner)
    await settle(pilot)


def field(app, field_id: str) -> Input:  # type: ignore[no-untyped-def]
    return app.screen.query_one(f"#{field_id}", Input)


def state(app) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """What the operator sees: the page, every field's text, the focus and the status."""
    screen = app.screen
    values = tuple((w.id, w.value) for w in screen.query(Input))
    ticks = tuple((w.id, w.value) for w in screen.query("TickBox"))
    status = str(screen.query_one("#page-status").render()) if screen.query("#page-status") else ""
    focused = app.focused.id if app.focused is not None else None
    return type(screen).__name__, values, ticks, focused, status, app.crashed


class TestStaleValidation:
    @sync
    async def test_two_edits_before_the_page_looks(self, tmp_path: Path) -> None:
        """The field changes twice before the page handles the first Changed (a burst): the
        page judges the text it reads, not the first change's verdict. Before: the valid
        verdict for 10.0.0.1/16 met the text 10.0.0.1/ and ended in NetmaskValueError."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "enter"))
            address = field(app, "address")
            address.value = "10.0.0.1/16"
            address.value = "10.0.0.1/"
            await settle(pilot)
            assert app.crashed is None and isinstance(app.screen, SubnetScreen)
            reason = str(app.screen.row.reason.render())
            text = screen_text(app)
        assert reason.startswith("invalid: expected an IPv4 address with prefix length")
        assert "Netmask" not in text

    @pytest.mark.parametrize(
        ("page_keys", "field_id", "first", "last"),
        [
            (("enter",), "bridge", "br1", "br 1"),
            (("enter", "enter", "enter"), "lease", "1h", "1x"),
            (("enter", "enter", "enter"), "dhcp-start", "10.0.0.20", "10.0.0."),
        ],
        ids=["bridge", "lease", "dhcp-start"],
    )
    @sync
    async def test_other_fields_judge_the_latest_text(
        self, tmp_path: Path, page_keys, field_id, first, last
    ) -> None:
        """The same race on the other fields: the reason beside the field is the latest
        text's."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, page_keys)
            widget = field(app, field_id)
            widget.value = first
            widget.value = last
            await settle(pilot)
            assert app.crashed is None
            reason = widget.parent.query_one(".reason")
            assert str(reason.render()).startswith("invalid:")

    @sync
    async def test_end_and_fourteen_backspaces(self, tmp_path: Path) -> None:
        """The operators' burst on the subnet field: the field is empty and says why."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "enter"))
            await burst(pilot, "end", *["backspace"] * 14)
            assert app.crashed is None and isinstance(app.screen, SubnetScreen)
            assert field(app, "address").value == ""
            await pilot.press("end", *["backspace"] * 14)
            assert app.crashed is None and isinstance(app.screen, SubnetScreen)


class TestTypeAhead:
    async def _compare(self, tmp_path: Path, before: Sequence[str], keys: Sequence[str]):  # type: ignore[no-untyped-def]
        """The state after `keys` sent as one burst, and after the same keys typed slowly."""
        out = []
        for name, fast in (("fast", True), ("slow", False)):
            app, runner = gallery.build_app(gallery.Scenario(name, name), tmp_path / name)
            async with app.run_test(size=gallery.SIZE) as pilot:
                await start(pilot, runner, before)
                if fast:
                    await burst(pilot, *keys)
                else:
                    for key in keys:
                        await pilot.press(key)
                        await settle(pilot)
                out.append((state(app), app.ctx.config))
        return out

    @sync
    async def test_tabs_after_enter_reach_the_dhcp_page(self, tmp_path: Path) -> None:
        """Enter on the subnet page, then at once Tab Tab Tab Tab Space: the keys act on the
        DHCP page as if typed after it showed. Before: the Tabs went round the subnet page,
        the Space replaced its address and Next was refused."""
        fast, slow = await self._compare(
            tmp_path, ("enter", "enter"), ("enter", "tab", "tab", "tab", "tab", "space")
        )
        assert fast == slow
        page, values, _ticks, _focused, _status, crashed = fast[0]
        assert page == "DhcpScreen" and crashed is None
        assert dict(values)["dhcp-start"] == "10.0.0.10"

    @sync
    async def test_keys_wait_for_a_slow_next_page(self, tmp_path: Path) -> None:
        """A slow machine: the next page comes 0.3 s after Enter. The keys typed meanwhile
        wait for it (without the wait they went to the empty screen between the pages)."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        push_screen_wait = app.push_screen_wait

        async def slowly(screen):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.3)
            return await push_screen_wait(screen)

        app.push_screen_wait = slowly  # type: ignore[method-assign]
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "enter"))
            await burst(pilot, "enter", "tab", "tab", "ctrl+u", *"1h")
            assert isinstance(app.screen, DhcpScreen) and app.crashed is None
            assert field(app, "lease").value == "1h"
            assert field(app, "dhcp-start").value == "10.0.0.10"

    @sync
    async def test_typing_through_three_pages(self, tmp_path: Path) -> None:
        """A whole walk typed ahead in one go, new bridge and subnet included."""
        keys = ("enter", "end", *["backspace"] * 3, *"xenbr1", "enter")
        keys += ("ctrl+u", *"172.16.5.1/24", "enter", "end", "backspace", "backspace", *"30")
        fast, slow = await self._compare(tmp_path, (), keys)
        assert fast == slow
        assert fast[0][0] == "DhcpScreen"
        assert fast[1].bridge == "xenbr1" and fast[1].address == "172.16.5.1/24"

    @sync
    async def test_characters_keep_their_place_among_edit_keys(self, tmp_path: Path) -> None:
        """Printable characters do not overtake the Backspaces and End before them.
        Before: 16 replaced the selected address and the Backspaces then ate it."""
        fast, slow = await self._compare(
            tmp_path, ("enter", "enter"), ("end", "backspace", "backspace", *"16")
        )
        assert fast == slow
        assert dict(fast[0][1])["address"] == "10.0.0.1/16"

    @sync
    async def test_escape_then_keys(self, tmp_path: Path) -> None:
        """Esc and keys at once: they act on the page gone back to."""
        fast, slow = await self._compare(
            tmp_path, ("enter", "enter"), ("escape", "end", "backspace", "2")
        )
        assert fast == slow
        assert fast[0][0] == "BridgeScreen" and dict(fast[0][1])["bridge"] == "br2"


class TestBackKeepsTyping:
    @sync
    async def test_lease_survives_escape_enter(self, tmp_path: Path) -> None:
        """Esc from the DHCP page and Enter on the subnet page: the typed lease is still
        there. Before: it was 12h again."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "enter", "enter"))
            lease = field(app, "lease")
            lease.focus()
            await settle(pilot)
            await pilot.press("ctrl+u", *"1h", "tab", "space", "escape")
            await settle(pilot)
            assert isinstance(app.screen, SubnetScreen)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DhcpScreen)
            assert field(app, "lease").value == "1h"
            assert app.screen.xen_only.value is False  # the switch too

    @sync
    async def test_invalid_typing_survives_too(self, tmp_path: Path) -> None:
        """Back from a page with an unfinished (invalid) bridge name, and Start again: the
        text is as left, and still refused."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter",))
            await pilot.press("end", *" x", "escape")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, BridgeScreen)
            assert field(app, "bridge").value == "br0 x"
            assert "invalid:" in screen_text(app)

    @sync
    async def test_a_new_subnet_moves_the_range_typed_for_the_old(self, tmp_path: Path) -> None:
        """A range typed on the DHCP page, then Back and another subnet: the range follows
        the new subnet (the typing was over the old one), the lease typed stays."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "enter", "enter"))
            await pilot.press("end", "backspace", "1", "tab", "tab", "ctrl+u", *"2h", "escape")
            await settle(pilot)
            await pilot.press("ctrl+u", *"172.16.5.1/24", "enter")
            await settle(pilot)
            assert isinstance(app.screen, DhcpScreen)
            assert field(app, "dhcp-start").value == "172.16.5.10"
            assert field(app, "lease").value == "2h"

    @sync
    async def test_next_forgets_the_typing(self, tmp_path: Path) -> None:
        """What Next took is the answer; coming back shows the answer (no old typing)."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter",))
            await pilot.press("end", "backspace", "7", "escape", "enter")
            await settle(pilot)
            await pilot.press("end", "backspace", "5", "enter", "escape")
            await settle(pilot)
            assert isinstance(app.screen, BridgeScreen)
            assert field(app, "bridge").value == "br5"
            assert app.ctx.config.bridge == "br5"


class TestPreviewDiffScrolls:
    @sync
    async def test_a_diff_below_the_pane_always_has_its_scrollbar(self, tmp_path: Path) -> None:
        """Steps walked in bursts: whenever the detail's content reaches below the pane, the
        vertical scrollbar is there (else its last line hides under the horizontal bar, with
        nothing to show there is more). Before: both bars on "auto", Textual's guard against
        flickering bars kept only the horizontal one after some bursts (6 of 48 looks in 8
        runs), and CI's picture of step 6 lost its last line."""
        item = gallery.scenario("preview-summary")
        bursts = (["down"] * 6, ["up"] * 6, ["down"] * 3, ["down"] * 3, ["up"] * 6, ["down"] * 6)
        hidden = []
        for run in range(4):
            app, runner = gallery.build_app(item, tmp_path / str(run))
            async with app.run_test(size=gallery.SIZE) as pilot:
                await start(pilot, runner, item.keys)
                detail = app.screen.query_one("#detail")
                for number, keys in enumerate(bursts):
                    await burst(pilot, *keys)
                    for _ in range(5):
                        await pilot.pause()
                    below = detail.virtual_size.height > detail.scrollable_content_region.height
                    if below and not detail.show_vertical_scrollbar:
                        hidden.append((run, number, detail.virtual_size))
                runner.release.set()
                runner.resume.set()
        assert hidden == []


class TestRefusalLine:
    @sync
    async def test_refusal_goes_when_the_field_is_fixed(self, tmp_path: Path) -> None:
        """The line "Next is refused: fix bridge name first." goes once the name is valid.
        Before: it stayed."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "ctrl+u", *"br 0", "enter"))
            assert "Next is refused: fix bridge name first." in screen_text(app)
            await pilot.press("left", "backspace")
            await settle(pilot)
            text = screen_text(app)
        assert "Next is refused" not in text
        assert "invalid:" not in text

    @sync
    async def test_refusal_stays_while_still_invalid(self, tmp_path: Path) -> None:
        """The line stays while the field is still invalid, and goes once it is valid."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            keys = ("enter", "enter", "enter", "tab", "tab", "ctrl+u", "enter")
            await start(pilot, runner, keys)
            assert "Next is refused: fix lease time first." in screen_text(app)
            await pilot.press("1", "2")  # 12 seconds: below dnsmasq's minimum
            await settle(pilot)
            assert "Next is refused: fix lease time first." in screen_text(app)
            await pilot.press("0")
            await settle(pilot)
            assert "Next is refused" not in screen_text(app)

    @sync
    async def test_nic_refusal_goes_when_the_names_differ(self, tmp_path: Path) -> None:
        """Debian 12: the NIC named like the bridge is refused; the line goes once they
        differ."""
        app, runner = gallery.build_app(gallery.Scenario("k", "k", root="debian-12"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, ("enter", "tab", "ctrl+u", *"br0", "enter"))
            text = screen_text(app)
            assert "Next is refused: fix NIC to bridge first." in text
            assert "invalid: must differ from the bridge" in text  # the core's one rule
            await pilot.press("ctrl+u", *"eno1")
            await settle(pilot)
            assert "Next is refused" not in screen_text(app)
            assert "invalid:" not in screen_text(app)


# --- random bursts ------------------------------------------------------------------------------

TEXT = "0123456789abcxyz./-: "
EDIT_KEYS = ("backspace", "delete", "left", "right", "home", "end")


class Model:
    """What Textual's Input does with these keys: the text, the selection, the cursor."""

    def __init__(self, value: str, selected: bool):
        self.value = value
        self.start, self.end = (0, len(value)) if selected else (len(value), len(value))

    def put(self, text: str) -> None:
        lo, hi = sorted((self.start, self.end))
        self.value = self.value[:lo] + text + self.value[hi:]
        self.start = self.end = lo + len(text)

    def remove(self, lo: int, hi: int) -> None:
        lo, hi = sorted((max(0, lo), min(len(self.value), hi)))
        self.value = self.value[:lo] + self.value[hi:]
        self.start = self.end = lo

    def key(self, key: str | events.Paste) -> None:
        empty = self.start == self.end
        cursor, n = self.end, len(self.value)
        if isinstance(key, events.Paste):
            if key.text:
                self.put(key.text.splitlines()[0])
        elif key == "backspace":
            self.remove(cursor - 1, cursor) if empty else self.remove(self.start, self.end)
        elif key == "delete":
            self.remove(cursor, cursor + 1) if empty else self.remove(self.start, self.end)
        elif key in ("left", "right"):
            if empty:
                cursor += -1 if key == "left" else 1
            else:
                cursor = (min if key == "left" else max)(self.start, self.end)
            self.start = self.end = min(max(cursor, 0), n)
        elif key in ("home", "end"):
            self.start = self.end = 0 if key == "home" else n
        else:
            self.put(key)


keys_strategy = st.lists(
    st.one_of(
        st.sampled_from(TEXT),
        st.sampled_from(EDIT_KEYS),
        st.text(TEXT, min_size=1, max_size=12).map(events.Paste),
    ),
    min_size=1,
    max_size=30,
)

FIELDS = {  # field: (root, keys to its page)
    "bridge": ("", ("enter",)),
    "nic": ("debian-12", ("enter",)),
    "address": ("", ("enter", "enter")),
    "dhcp-start": ("", ("enter", "enter", "enter")),
    "dhcp-end": ("", ("enter", "enter", "enter")),
    "lease": ("", ("enter", "enter", "enter")),
    "dom0-mem": ("", gallery.TO_DOM0),
}


class AppThread:
    """One wizard running in its own thread's event loop; examples are run in it."""

    def __init__(self, tmp_path: Path, root: str, keys: Sequence[str]):
        self.app, self.runner = gallery.build_app(gallery.Scenario("p", "p", root=root), tmp_path)
        self.keys = keys
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pilot = None
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        async with self.app.run_test(size=gallery.SIZE) as pilot:
            self.pilot = pilot
            await start(pilot, self.runner, self.keys)
            self.ready.set()
            await self.stop.wait()

    def __enter__(self) -> AppThread:
        self.thread.start()
        assert self.ready.wait(60), "the wizard did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)

    def run(self, make: Callable[[], object]):  # type: ignore[no-untyped-def]
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(30)  # type: ignore[arg-type]


@pytest.mark.parametrize("field_id", sorted(FIELDS))
def test_random_bursts_keep_the_latest_text(tmp_path: Path, field_id: str) -> None:
    """Random bursts of characters, edit keys and pastes into every field of every page: the
    wizard stays on the page (never the error page) and the field holds exactly the text the
    keys imply."""
    root, page_keys = FIELDS[field_id]
    with AppThread(tmp_path, root, page_keys) as wizard:
        app, pilot = wizard.app, wizard.pilot
        page = type(app.screen)
        initial = field(app, field_id).value

        async def example(keys: list[str | events.Paste], selected: bool) -> tuple:  # type: ignore[type-arg]
            widget = field(app, field_id)
            widget.value = initial
            widget.focus()
            await settle(pilot)
            end = len(initial)
            widget.selection = Selection(0, end) if selected else Selection.cursor(end)
            await settle(pilot)
            await burst(pilot, *keys)
            return type(app.screen), widget.value, app.crashed

        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(keys=keys_strategy, selected=st.booleans())
        def check(keys: list[str | events.Paste], selected: bool) -> None:
            model = Model(initial, selected)
            for key in keys:
                model.key(key)
            shown, value, crashed = wizard.run(lambda: example(keys, selected))
            assert shown is page and shown is not ErrorScreen and crashed is None
            assert value == model.value

        check()
