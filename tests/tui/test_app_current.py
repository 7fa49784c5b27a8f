"""The wizard on current releases (Debian 12, Ubuntu 24.04): a keyboard walk with the files
checked on disk, the NIC field (prefilled from the profile's own choice), the xl toolstack text,
and how the apply page shows skipped steps and what a package purge leaves behind.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from tests.kits import gallery
from tests.kits.helpers import FIXTURES
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.engine.events import (
    ApplyFinished,
    LeftBehind,
    RollbackProgress,
    RunStarted,
    StepFailed,
    StepFinished,
    StepStarted,
)
from xenwizard.engine.executor import RunResult
from xenwizard.target.netlayout import NicChoice
from xenwizard.target.probe import SystemFacts
from xenwizard.tui.screens.apply import ApplyScreen
from xenwizard.tui.screens.bridge import BridgeScreen
from xenwizard.tui.screens.preview import PreviewScreen
from xenwizard.tui.screens.state import toolstack_text
from xenwizard.tui.screens.subnet import SubnetScreen

pytestmark = pytest.mark.usefixtures("pinned_run_id")

WALK_XL = ("enter", "enter", "enter", "enter", "enter", "enter", "a", "y", "@apply")


def scenario(root: str, **kwargs) -> gallery.Scenario:  # type: ignore[no-untyped-def]
    return gallery.Scenario("current", "current", root=root, **kwargs)


class TestWalk:
    @sync
    async def test_debian_12_keyboard_walk(self, tmp_path: Path) -> None:
        """Enter through every page on Debian 12: the bridge is in etc/network/interfaces, the
        drop-in written, xl.conf (it comes with the packages, whose install is simulated on the
        copy: issue 26) edited after them, and the answers file leaves the NIC to detection."""
        app, runner = gallery.build_app(scenario("debian-12"), tmp_path)
        root = tmp_path / "root"
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, WALK_XL, runner)
            text = screen_text(app)
            steps = str(app.screen.query_one("#step-rows").render())  # scrolled: not all shown
        assert "APPLIED" in text
        assert "[*] done         3. xl: guests' vifs join br0" in steps
        assert "[*] done" in steps and "[~] simulated    1. Install packages" in steps
        interfaces = (root / "etc/network/interfaces").read_text()
        assert "iface eno1 inet manual" in interfaces
        assert "auto br0\niface br0 inet dhcp" in interfaces
        assert "bridge_ports eno1" in interfaces
        assert "bridge_hw 52:54:00:8a:1c:02" in interfaces
        assert "address 10.0.0.1" in interfaces
        assert "interface=br0" in (root / "etc/dnsmasq.d/xenwizard.conf").read_text()
        assert 'vif.default.bridge="br0"' in (root / "etc/xen/xl.conf").read_text()
        answers = (root / f"var/lib/xenwizard/runs/{gallery.RUN_ID}/answers.toml").read_text()
        # detected, not chosen: neither the profile nor the NIC is pinned for the next host
        assert "profile" not in answers and "nic" not in answers

    @sync
    async def test_ubuntu_24_04_preview_says_why(self, tmp_path: Path) -> None:
        """The preview summary gives the plan's reason (detected, the bridge goes into netplan)
        and the cloud-init warning; the saved plan says "detected", not "--profile"."""
        target = tmp_path / "plan.diff"
        app, runner = gallery.build_app(scenario("ubuntu-24.04"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter",) * 6, runner)
            assert isinstance(app.screen, PreviewScreen)
            summary = app.screen.summary_text()
            app.save_plan_dialog(app.screen.plan)
            await pilot.pause()
            app.screen.query_one("Input").value = str(target)
            await pilot.press("enter")
            await pilot.pause()
        assert "detected Ubuntu 24.04.2 LTS (ubuntu-24.04)" in summary
        assert "the bridge goes into netplan" in summary
        assert "WARNING: etc/netplan/50-cloud-init.yaml belongs to cloud-init" in summary
        saved = target.read_text()
        assert "(detected Ubuntu 24.04.2 LTS" in saved and "--profile" not in saved.split("\n")[0]


def two_nic_root(tmp_path: Path) -> Path:
    """Debian 12 with two configured NICs: nothing to detect without a default route."""
    source = tmp_path / "source"
    import shutil

    shutil.copytree(FIXTURES / "debian-12-root", source, symlinks=True)
    path = source / "etc/network/interfaces"
    path.write_text(path.read_text() + "\nallow-hotplug eno2\niface eno2 inet dhcp\n")
    return source


class TestNicField:
    @sync
    async def test_typed_nic_is_checked_against_the_target(self, tmp_path: Path) -> None:
        """lo, a wireless name and an unknown name are refused as typed, with the reason
        (failed before: any well-formed name passed until the plan)."""
        app, runner = gallery.build_app(scenario("debian-12"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter", "tab", "ctrl+u", *"lo"), runner)
            assert "invalid: lo is the loopback" in screen_text(app)
            await gallery.drive(pilot, ("ctrl+u", *"wlan0"), runner)
            assert "invalid: wlan0 is a wireless" in screen_text(app)
            await gallery.drive(pilot, ("ctrl+u", *"eth9", "enter"), runner)
            assert "invalid: eth9 is not an interface of" in screen_text(app)
            assert isinstance(app.screen, BridgeScreen)

    @sync
    async def test_prefilled_from_primary_nic_not_the_route(self, tmp_path: Path) -> None:
        """The field holds what the profile's `primary_nic` chose, whatever the route says."""
        app, runner = gallery.build_app(scenario("debian-12"), tmp_path)
        choice = NicChoice("eno2", "the one NIC with addresses in etc/network/interfaces")
        profile_class = type(app.ctx.profile)
        with mock.patch.object(profile_class, "primary_nic", return_value=choice) as chooser:
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, ("enter",), runner)
                assert isinstance(app.screen, BridgeScreen)
                assert app.screen.nic_row is not None
                assert app.screen.nic_row.value == "eno2"  # the route is via eno1
                text = screen_text(app)
        assert "detected: eno2, the one NIC with addresses in etc/network/interfaces" in text
        assert chooser.call_args.args[0].nic is None  # asked what it detects on its own

    @sync
    async def test_detected_nic_stays_detected(self, tmp_path: Path) -> None:
        """Accepting the prefilled NIC leaves `nic` unset (the plan says why it was chosen);
        a typed one is kept (eno2: configured too, not the route's)."""
        app, runner = gallery.build_app(scenario(""), tmp_path, two_nic_root(tmp_path))
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter", "enter"), runner)
            assert isinstance(app.screen, SubnetScreen)
            assert app.ctx.config.nic is None
            await gallery.drive(pilot, ("escape", "tab", "ctrl+u", *"eno2", "enter"), runner)
            assert isinstance(app.screen, SubnetScreen)
            assert app.ctx.config.nic == "eno2"

    @sync
    async def test_not_detected_must_be_typed(self, tmp_path: Path) -> None:
        """Two configured NICs and no route: the field is empty, the hint says why and lists
        them, Next is refused until a NIC is typed."""
        item = scenario("", facts={"default_route": None})
        app, runner = gallery.build_app(item, tmp_path, two_nic_root(tmp_path))
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter", "enter"), runner)
            assert isinstance(app.screen, BridgeScreen)
            text = screen_text(app)
            assert app.screen.nic_row is not None and app.screen.nic_row.value == ""
            await gallery.drive(pilot, (*"eno2", "enter"), runner)  # focus is on the NIC
            assert isinstance(app.screen, SubnetScreen)
        assert "not detected: several NICs are configured" in text
        assert "(configured: eno1, eno2)" in text
        assert "Next is refused: fix NIC to bridge first." in text
        assert app.ctx.config.nic == "eno2"


class TestToolstackText:
    @pytest.mark.parametrize("value", [None, "", "xl", "xm"])
    def test_xl_releases_never_read_as_xm(self, value: str | None) -> None:
        """On xl profiles the line never calls xm the default, whatever /etc/default/xen has."""
        for packages in (frozenset(), frozenset({"xen-system-amd64"})):
            facts = SystemFacts(root="/", toolstack=value, installed_packages=packages)
            text = toolstack_text(facts, "xl")
            assert "xm, the default" not in text and "xl" in text

    def test_xl_wording(self) -> None:
        facts = SystemFacts(root="/")
        assert (
            toolstack_text(facts, "xl") == "xl, the only toolstack here (Xen is not installed yet)"
        )
        installed = replace(facts, installed_packages=frozenset({"xen-system-amd64"}))
        assert "no TOOLSTACK line" in toolstack_text(installed, "xl")
        assert toolstack_text(replace(facts, toolstack="xm"), "xl") == (
            "TOOLSTACK=xm, but xl is the only toolstack here"
        )

    def test_xm_wording_unchanged(self) -> None:
        """The Precise reading stays: an empty or missing TOOLSTACK means xm."""
        facts = SystemFacts(root="/")
        assert (
            toolstack_text(facts, "xm") == "no TOOLSTACK line in /etc/default/xen (xm, the default)"
        )
        assert (
            toolstack_text(replace(facts, toolstack=""), "xm")
            == "TOOLSTACK= (empty: xm, the default)"
        )


class FakeEngine:
    """Stands in for the engine on the apply page: replays a fixed list of events."""

    events: tuple = ()

    def __init__(self, plan, fs, runner, on_event, skip_packages=False):  # type: ignore[no-untyped-def]
        self.on_event = on_event

    def apply(self) -> RunResult:
        for event in self.events:
            self.on_event(event)
        last = self.events[-1]
        return RunResult(last.run_id, last.outcome, last.log_path, last.message)

    rollback = apply


class TestApplyEvents:
    @sync
    async def test_skipped_and_left_behind(self, tmp_path: Path) -> None:
        """A skipped step reads '[-] skipped'; after a rollback whose purge left things behind,
        the page lists them in the log and does not claim that nothing is changed."""
        FakeEngine.events = (
            RunStarted("RUN", "/", ("Install packages", "xl.conf", "check")),
            StepStarted(0, "packages", "Install packages"),
            StepFinished(0, "packages", True),
            StepStarted(1, "xlconf", "xl.conf"),
            StepFinished(
                1,
                "xlconf",
                False,
                ("skipped: etc/xen/xl.conf comes with xen",),
                "etc/xen/xl.conf comes with xen",
            ),
            StepStarted(2, "check", "check"),
            StepFailed(2, "check", "br0 not found"),
            RollbackProgress(0, "packages", "Install packages", "undoing"),
            RollbackProgress(0, "packages", "Install packages", "undone"),
            LeftBehind(0, "packages", "user", "dnsmasq", "user dnsmasq (created by dnsmasq)"),
            ApplyFinished(
                "RUN",
                "rolled-back",
                "/var/log/xenwizard.log",
                "every change was undone; the package purge left 1 thing behind (listed above)",
            ),
        )
        app, runner = gallery.build_app(scenario("debian-12"), tmp_path)
        with mock.patch("xenwizard.tui.screens.apply.Engine", FakeEngine):
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, WALK_XL, runner)
                page = app.screen
                assert isinstance(page, ApplyScreen)
                text = screen_text(app)
                log = "\n".join(page.query_one("#log").lines)
        assert "[-] skipped" in text
        assert "ROLLED BACK: every change was undone; the package purge left 1 thing" in text
        assert "nothing is changed" not in text
        assert "left behind: user dnsmasq (created by dnsmasq)" in log
        assert [e.name for e in page.left_behind] == ["dnsmasq"]
