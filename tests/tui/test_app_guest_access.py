"""The DHCP page asks how guests reach other networks (issue 12), by keyboard, at 80x24,
without moving the UDP switch the real-Xen VM test reaches with Tab Tab Tab Tab Space."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import gallery
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.tui.screens.dhcp import DhcpScreen
from xenwizard.tui.widgets import ChoiceSet, TickBox

pytestmark = pytest.mark.usefixtures("pinned_run_id")

DEBIAN12 = gallery.Scenario("current", "current", root="debian-12")


async def dhcp_page(pilot, runner) -> DhcpScreen:  # type: ignore[no-untyped-def]
    await gallery.drive(pilot, ("enter", "enter", "enter"), runner)  # welcome, bridge, subnet
    screen = pilot.app.screen
    assert isinstance(screen, DhcpScreen)
    return screen


@sync
async def test_vm_key_sequence_still_toggles_the_udp_switch(tmp_path: Path) -> None:
    """Exactly the VM test's keys after the Debian 12 DHCP page appears."""
    app, runner = gallery.build_app(DEBIAN12, tmp_path)
    async with app.run_test(size=gallery.SIZE) as pilot:
        screen = await dhcp_page(pilot, runner)
        udp = screen.query_one("#udp", TickBox)
        assert udp.value is False
        await gallery.drive(pilot, ("tab", "tab", "tab", "tab", "space"), runner)
        assert app.focused is udp and udp.value is True
        assert screen.query_one("#guest-access", ChoiceSet).value == "nat"


@sync
async def test_guest_access_by_keyboard_reaches_the_config(tmp_path: Path) -> None:
    app, runner = gallery.build_app(DEBIAN12, tmp_path)
    async with app.run_test(size=gallery.SIZE) as pilot:
        screen = await dhcp_page(pilot, runner)
        access = screen.query_one("#guest-access", ChoiceSet)
        assert access.value == "nat"
        text = screen_text(app)
        assert "Guests reach other networks:" in text and "NAT" in text and "host only" in text
        assert "Why: guests reach the LAN and beyond through this host's address" in text
        # after the UDP switch: one more Tab, then the arrows choose
        await gallery.drive(pilot, ("tab",) * 5, runner)
        assert app.focused is access
        await gallery.drive(pilot, ("right",), runner)
        assert access.value == "routed"
        assert "Why: the LAN router needs `route 10.0.0.0/24 via " in screen_text(app)
        await gallery.drive(pilot, ("right",), runner)
        assert access.value == "host-only"
        assert "DHCP names no router" in screen_text(app)
        # fits 80x24: the choice and its why are above the buttons, inside the screen
        why = screen.query_one("#guest-access-why")
        next_button = screen.query_one("#next")
        assert access.region.bottom <= why.region.y < next_button.region.y
        assert next_button.region.bottom <= 24
        await gallery.drive(pilot, ("enter",), runner)
        assert not isinstance(app.screen, DhcpScreen)
        assert app.ctx.config.guest_access == "host-only"
