"""Start-up on the live root: the first page comes up before the live probe (psutil, netifaces)
has run; the probe runs in a worker once that page takes input, and its facts fill the page in.

The probes here are fakes that wait on an event, so what the page shows while detecting and
after is deterministic; the real `with_live_facts` is checked once on this machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest

from tests.kits import gallery
from tests.kits.helpers import PRECISE_ROOT, REPO, copy_root
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.target.probe import SystemFacts
from xenwizard.tui.screens.bridge import BridgeScreen
from xenwizard.tui.screens.modals import ErrorScreen, HelpScreen
from xenwizard.tui.screens.state import WizardContext
from xenwizard.tui.screens.welcome import WelcomeScreen


class SlowProbe:
    """A live probe that waits for `release`, then adds the gallery's interfaces and route."""

    def __init__(self, error: Exception | None = None):
        self.release = threading.Event()
        self.started = threading.Event()
        self.ready_when_started: bool | None = None
        self.app = None
        self.error = error

    def __call__(self, facts: SystemFacts) -> SystemFacts:
        self.ready_when_started = bool(self.app and self.app._ready_signalled)
        self.started.set()
        if not self.release.wait(20):
            raise TimeoutError("the test never released the probe")
        if self.error is not None:
            raise self.error
        return replace(
            facts,
            interfaces=gallery.SAMPLE_INTERFACES,
            default_route=gallery.SAMPLE_ROUTE,
            live=True,
        )

    def setup(self, ctx: WizardContext) -> None:
        """As `xenwizard` on `/` starts: file facts only, the live part still to come."""
        ctx.facts = replace(ctx.facts, interfaces=(), default_route=None, live=False)
        ctx.live_probe = self


def app_with(probe: SlowProbe, tmp_path: Path, facts: dict | None = None, root: str = ""):  # type: ignore[no-untyped-def]
    item = gallery.Scenario("live", "live", facts=facts or {}, setup=probe.setup, root=root)
    app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
    probe.app = app
    return app, runner


async def wait_started(pilot, probe: SlowProbe) -> None:  # type: ignore[no-untyped-def]
    await gallery.wait_for(pilot, probe.started.is_set, "the live probe to start")


class TestDeferredProbe:
    @sync
    async def test_page_first_then_probe_then_facts(self, tmp_path: Path) -> None:
        """Welcome is up with 'detecting...' before the probe starts; its facts fill it in."""
        probe = SlowProbe()
        app, runner = app_with(probe, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (), runner)
            await wait_started(pilot, probe)
            assert probe.ready_when_started is True  # started only once the page took input
            text = screen_text(app)
            assert "Interfaces    detecting..." in text
            assert "Default route detecting..." in text
            assert "Xen           detecting..." in text  # the packages come with the probe
            assert "Release       Ubuntu precise" in text  # file facts are there at once
            probe.release.set()
            await gallery.wait_for(pilot, lambda: not app.ctx.detecting, "the facts")
            text = screen_text(app)
        assert "detecting..." not in text
        assert "Xen           installed" in text
        assert "eth0: 192.168.1.10/24" in text
        assert "via 192.168.1.1 dev eth0" in text

    @sync
    async def test_keys_work_while_detecting_and_start_waits(self, tmp_path: Path) -> None:
        """F1 answers while the probe runs; Start waits for the facts, then goes on by itself."""
        probe = SlowProbe()
        app, runner = app_with(probe, tmp_path)
        try:
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, (), runner)
                await wait_started(pilot, probe)
                await pilot.press("f1")
                await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
                await pilot.press("escape")
                await pilot.press("enter")
                await pilot.pause()
                assert isinstance(app.screen, WelcomeScreen)
                assert "Start goes on as soon as they are known" in screen_text(app)
                probe.release.set()
                await gallery.wait_for(
                    pilot, lambda: isinstance(app.screen, BridgeScreen), "the bridge page"
                )
                text = screen_text(app)
        finally:
            probe.release.set()
        assert "eth0: 192.168.1.10/24" in text  # the bridge page lists the detected interfaces

    @sync
    async def test_ssh_warning_arrives_with_the_facts(self, tmp_path: Path) -> None:
        """Ubuntu 24.04 over SSH: the warning needs the NIC that carries the session, so it
        appears once the interfaces are known, not before."""
        probe = SlowProbe()
        facts = {"ssh_connection": gallery.SSH_CLIENT}
        app, runner = app_with(probe, tmp_path, facts, root="ubuntu-24.04")
        original = probe.__call__

        def current(facts_in: SystemFacts) -> SystemFacts:
            out = original(facts_in)
            return replace(
                out, interfaces=gallery.CURRENT_INTERFACES, default_route=gallery.CURRENT_ROUTE
            )

        app.ctx.live_probe = current
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (), runner)
            await wait_started(pilot, probe)
            assert "WARNING" not in screen_text(app)
            probe.release.set()
            await gallery.wait_for(pilot, lambda: not app.ctx.detecting, "the facts")
            await pilot.pause()
            text = screen_text(app)
        assert "WARNING: You are connected over SSH through eno1" in text
        assert "before" in text and "rebooting." in text  # the whole warning fits

    @sync
    async def test_probe_failure_ends_on_the_error_page(self, tmp_path: Path) -> None:
        """An exception in the probe is an error page with the message, not a traceback."""
        probe = SlowProbe(error=OSError("no /proc/net"))
        app, runner = app_with(probe, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (), runner)
            await wait_started(pilot, probe)
            probe.release.set()
            await gallery.wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen), "error")
            text = screen_text(app)
        assert "OSError: no /proc/net" in text


class TestLiveContext:
    @staticmethod
    def start_up(root: str) -> list[str]:
        """What `xenwizard --root ROOT` has done and loaded when its first page is built."""
        code = (
            "import argparse, sys\n"
            "from xenwizard.tui.launch import context_from_args\n"
            "import xenwizard.tui.app\n"
            "ns = argparse.Namespace(root=sys.argv[1], profile=None, answers=None, demo=False)\n"
            "ctx = context_from_args(ns)\n"
            "print(ctx.detecting, ctx.facts.live, *(m in sys.modules for m in sys.argv[2:]))\n"
        )
        modules = ["psutil", "netifaces", "xenwizard.engine.journal"]
        out = subprocess.run(
            [sys.executable, "-c", code, root, *modules],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        )
        return out.stdout.split()

    def test_live_root_defers_the_kernel_probe(self) -> None:
        """`xenwizard` on / reads files only before the first page: psutil and netifaces are
        not even imported yet."""
        detecting, live, psutil, netifaces, _journal = self.start_up("/")
        assert (detecting, live, psutil, netifaces) == ("True", "False", "False", "False")

    def test_fixture_root_has_nothing_to_detect(self) -> None:
        """A root that is not / is never probed live; without runs no journal code loads."""
        assert self.start_up(str(PRECISE_ROOT)) == ["False", "False", "False", "False", "False"]
        from xenwizard.engine import journal
        from xenwizard.tui import launch

        assert launch.RUNS_DIR == journal.RUNS_DIR

    def test_unfinished_runs_still_found(self, tmp_path: Path) -> None:
        """The light check only skips the journal when there is no runs directory at all."""
        from xenwizard.target.rootfs import RootFS
        from xenwizard.tui.launch import unfinished

        root = copy_root(PRECISE_ROOT, tmp_path / "root")
        assert unfinished(RootFS(root)) == ()
        (root / "var/lib/xenwizard/runs").mkdir(parents=True)
        with mock.patch("xenwizard.engine.journal.unfinished_runs", return_value=["RUN"]) as runs:
            assert unfinished(RootFS(root)) == ("RUN",)
        runs.assert_called_once()

    def test_with_live_facts_on_this_machine(self) -> None:
        """The real deferred part on /: the dpkg status, interfaces from psutil (lo at
        least), marked live; the file facts read before the first page are kept."""
        pytest.importorskip("psutil")
        from xenwizard.target.probe import installed_packages, probe
        from xenwizard.target.rootfs import RootFS
        from xenwizard.tui.launch import context_from_args

        ctx = context_from_args(
            argparse.Namespace(root="/", profile=None, answers=None, demo=False)
        )
        assert ctx.live_probe is not None and not ctx.facts.installed_packages
        facts = ctx.live_probe(ctx.facts)
        assert facts.live and any(i.name == "lo" for i in facts.interfaces)
        assert facts.installed_packages == installed_packages(RootFS("/"))
        assert facts.os_id == ctx.facts.os_id
        now = probe(RootFS("/"))  # the one-shot probe finds the same (kernel facts aside)
        assert facts == replace(now, interfaces=facts.interfaces, default_route=facts.default_route)


class TestFirstFrame:
    @sync
    async def test_footer_follows_the_first_frame(self, tmp_path: Path) -> None:
        """The welcome page takes keys from its first frame; its footer (key hints) is built
        right after it and shows F1 and Ctrl-Q."""
        app, runner = gallery.build_app(gallery.scenario("welcome"), tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (), runner)
            keys = {key.key for key in app.screen.query("FooterKey")}
            assert {"f1", "ctrl+q"} <= keys
            assert len(app.screen.query("Footer")) == 1
            await pilot.press("f1")
            await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            text = screen_text(app)
        assert "Welcome" in text
