"""Typing fast: bursts of keys (as a terminal delivers them over SSH, or tmux send-keys in one
call) never crash the wizard, never land on a page that is going away, and never lose what the
operator typed; Back keeps a page's typing; a refusal line goes once its field is fixed.

`burst` hands the keys to the driver in one go, with no waiting between them, the way one read
of the terminal does; `pilot.press` waits for the app to go idle after every key (slow typing).
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pytest
from textual import events
from textual.app import _character_to_key, _get_unicode_name_from_key
from textual.keys import REPLACED_KEYS
from textual.widgets import Input

from tests.test_app_wizard import screen_text, sync
from xenwizard.screens import gallery
from xenwizard.screens.pages import SubnetScreen


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
    """Wait until every typed key has been handed on and handled."""
    app = pilot.app
    for _ in range(2000):
        await pilot.pause()
        typing = getattr(app, "_typing", None)
        if not getattr(app, "_typed", None) and (typing is None or typing.done()):
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
