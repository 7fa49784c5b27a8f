"""The wizard's Dom0 memory page by keys: the default, a chosen size, refusals with the reason,
fast typing into the page the moment it appears, and the answer reaching the plan."""

from __future__ import annotations

from pathlib import Path

from tests.kits import gallery
from tests.tui.test_app_keys import burst, field, settle, start
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.answers import dom0mem
from xenwizard.tui.screens.dhcp import DhcpScreen
from xenwizard.tui.screens.dom0mem import Dom0MemScreen
from xenwizard.tui.screens.toolstack import ToolstackScreen

TO_DOM0 = gallery.TO_DOM0
RAM = 3931  # the fixture roots' proc/meminfo (the gallery pins no RAM: the probe reads it)


def reason(app) -> str:  # type: ignore[no-untyped-def]
    return str(field(app, "dom0-mem").parent.query_one(".reason").render())


class TestDom0Page:
    @sync
    async def test_shows_ram_rule_and_what_guests_keep(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, TO_DOM0)
            assert isinstance(app.screen, Dom0MemScreen)
            text = screen_text(app)
            assert app.focused is field(app, "dom0-mem")
            assert field(app, "dom0-mem").value == "1102M"
        assert "[5/9] Dom0 memory" in text
        assert f"RAM      {RAM} MiB" in text
        assert f"Default  1102 MiB: {dom0mem.RULE}" in text  # one line
        assert f"Left for guests: {RAM - 1102} MiB of {RAM} MiB" in text

    @sync
    async def test_the_default_stays_the_rules(self, tmp_path: Path) -> None:
        """Enter on the default: nothing is pinned, the next host gets its own default."""
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, (*TO_DOM0, "enter"))
            assert isinstance(app.screen, ToolstackScreen)
            assert app.ctx.config.dom0_mem is None
            assert "dom0-mem" not in app.ctx.config.to_answers()

    @sync
    async def test_a_chosen_size_goes_into_the_config_and_the_plan(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, TO_DOM0)
            await pilot.press("ctrl+u", *"2GiB")
            await settle(pilot)
            assert reason(app) == "ok"
            assert f"Left for guests: {RAM - 2048} MiB of {RAM} MiB" in screen_text(app)
            await pilot.press("enter", "space", "enter")
            await settle(pilot)
            assert app.ctx.config.dom0_mem == 2048
            plan = app.screen.plan  # the preview's
        assert plan.answers["dom0-mem"] == "2048M"
        sxp = next(s for s in plan.steps if s.id == "xend-bridge")
        assert "+(dom0-min-mem 2048)" in sxp.diff()

    @sync
    async def test_too_much_is_refused_with_the_reason(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, (*TO_DOM0, "ctrl+u", *"8G"))
            expected = f"invalid: 8192 MiB is more than the machine has ({RAM} MiB of RAM)"
            assert reason(app) == expected
            assert "Left for guests" not in screen_text(app)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, Dom0MemScreen)
            assert "Next is refused: fix dom0 memory first." in screen_text(app)
            await pilot.press("ctrl+u", *"3584M")  # fixed: the refusal goes, a warning comes
            await settle(pilot)
            text = screen_text(app)
            assert "Next is refused" not in text
            assert f"Left for guests: {RAM - 3584} MiB of {RAM} MiB" in text
            assert "WARNING: too little for a guest (at least 512 MiB)" in text

    @sync
    async def test_bad_shapes_and_too_little_are_refused(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, TO_DOM0)
            await pilot.press("ctrl+u", *"1.5G")
            await settle(pilot)
            assert reason(app) == (
                "invalid: expected a size in MiB or GiB like 1024, 1024M, 1024MiB, 2G or 2GiB"
            )
            await pilot.press("ctrl+u", *"256")
            await settle(pilot)
            assert reason(app) == (
                "invalid: 256 MiB is too little for dom0; it needs at least 512 MiB"
            )
            assert app.crashed is None

    @sync
    async def test_fast_typing_lands_in_the_new_pages_field(self, tmp_path: Path) -> None:
        """Enter on the DHCP page and a size at once, as one read of the terminal: the keys
        wait for the Dom0 memory page and edit its field, then its Enter goes on."""
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, TO_DOM0[:-1])
            assert isinstance(app.screen, DhcpScreen)
            await burst(pilot, "enter", "ctrl+u", *"1536M")
            assert isinstance(app.screen, Dom0MemScreen)
            assert field(app, "dom0-mem").value == "1536M"
            await burst(pilot, "enter")
            assert isinstance(app.screen, ToolstackScreen) and app.crashed is None
            assert app.ctx.config.dom0_mem == 1536
            assert app.ctx.config.dhcp_start == "10.0.0.10"  # the DHCP page kept its range

    @sync
    async def test_back_keeps_what_was_typed(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, (*TO_DOM0, "ctrl+u", *"1600", "escape"))
            assert isinstance(app.screen, DhcpScreen)
            await burst(pilot, "enter")
            assert isinstance(app.screen, Dom0MemScreen)
            assert field(app, "dom0-mem").value == "1600"

    @sync
    async def test_under_xen_the_ram_is_unknown_and_nothing_is_refused_against_it(
        self, tmp_path: Path
    ) -> None:
        """On a host already running Xen, MemTotal is dom0's share: the page says so, the
        default is 1 GiB and a size above dom0's share is accepted."""
        item = gallery.Scenario("x", "x", facts={"hypervisor": "xen"})
        app, runner = gallery.build_app(item, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, (*TO_DOM0, "ctrl+u", *"8G"))
            text = screen_text(app)
            assert reason(app) == "ok"
        assert (
            f"RAM      unknown (this host runs Xen: /proc/meminfo shows dom0's {RAM} MiB)" in text
        )
        assert "Default  1024 MiB, as the RAM is unknown" in text
        assert f"Rule     {dom0mem.RULE}" in text
        assert "Left for guests: the RAM less 8192 MiB (RAM unknown here)" in text


DEBIAN_12 = gallery.Scenario("g", "g", root="debian-12")  # systemd: the guard is offered


class TestBootGuardFields:
    @sync
    async def test_on_with_its_deadline_by_default_and_a_new_deadline(self, tmp_path: Path) -> None:
        app, runner = gallery.build_app(DEBIAN_12, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, TO_DOM0)
            assert isinstance(app.screen, Dom0MemScreen)
            assert app.screen.query_one("#boot-guard").value is True
            assert field(app, "confirm-within").value == "10"
            await pilot.press("tab", "tab", "ctrl+u", *"25", "enter")
            await settle(pilot)
            assert isinstance(app.screen, ToolstackScreen)
        assert app.ctx.config.boot_guard is True and app.ctx.config.confirm_within == 25
        assert app.ctx.config.to_answers()["confirm-within"] == 25

    @sync
    async def test_a_deadline_out_of_bounds_is_refused_beside_the_field(
        self, tmp_path: Path
    ) -> None:
        app, runner = gallery.build_app(DEBIAN_12, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, (*TO_DOM0, "tab", "tab", "ctrl+u", *"0", "enter"))
            await settle(pilot)
            assert isinstance(app.screen, Dom0MemScreen)
            text = screen_text(app)
            row = field(app, "confirm-within").parent
            assert str(row.query_one(".reason").render()).startswith("invalid: ")
        assert "Next is refused: fix confirm within first." in text

    @sync
    async def test_off_by_space_hides_the_deadline_and_reaches_the_plan(
        self, tmp_path: Path
    ) -> None:
        app, runner = gallery.build_app(DEBIAN_12, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, (*TO_DOM0, "tab", "space"))
            await settle(pilot)
            assert field(app, "confirm-within").parent.display is False
            await pilot.press("enter", "enter")
            await settle(pilot)
            plan = app.screen.plan  # the preview's
        assert app.ctx.config.boot_guard is False
        assert plan.answers["boot-guard"] is False
        assert not any(step.id.startswith("boot-guard") for step in plan.steps)

    @sync
    async def test_without_systemd_the_page_says_there_is_none(self, tmp_path: Path) -> None:
        """The sample system (Ubuntu 12.04, upstart): no switch to pretend with."""
        app, runner = gallery.build_app(gallery.Scenario("d", "d"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await start(pilot, runner, TO_DOM0)
            text = screen_text(app)
            assert not app.screen.query("#boot-guard")
        assert "Boot guard: not available here (it needs systemd)" in text


def test_every_question_page_of_the_order_has_its_screen() -> None:
    """A page renamed in PAGES but not found among the screens was silently skipped."""
    from xenwizard.tui.app import ORDER, question_screens

    assert set(ORDER) - {"welcome", "preview"} == set(question_screens())
