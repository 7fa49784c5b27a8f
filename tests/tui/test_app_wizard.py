"""Pilot tests: the whole wizard by keyboard on a copy of the fixture root, files checked on disk.

The real engine applies the real plan to the copy; the package step is skipped (simulated).
Injected steps: a failing edit, and file steps whose update-grub the gallery's runner plays
(one that blocks, one that floods the log).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import itertools
import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from tests.kits import gallery
from tests.kits.helpers import FIXTURES, PRECISE_ROOT
from xenwizard.tui.screens.apply import ApplyScreen
from xenwizard.tui.screens.bridge import BridgeScreen
from xenwizard.tui.screens.modals import HelpScreen

pytestmark = pytest.mark.usefixtures("pinned_run_id")

BRIDGE_KEYS = ("enter", "end", "backspace", "backspace", "backspace", *"xenbr1", "enter")
# Bridge, subnet, DHCP and dom0 memory as they come, the toolstack ticked, the preview applied.
WALK = (*BRIDGE_KEYS, "ctrl+u", *"172.16.5.1/24", "enter", "enter", "enter")
WALK = (*WALK, "space", "enter", "a", "y")


IF = ipaddress.IPv4Interface


def sync(test):  # type: ignore[no-untyped-def]
    """Run an async test in its own event loop (no pytest asyncio plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """The screen as plain text at the app's size (what an operator reads, colours dropped)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        record=True,
        file=open(os.devnull, "w"),  # noqa: SIM115
        color_system=None,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def tree(root: Path) -> dict[str, object]:
    """Every path under the root (but xenwizard's own state and log) with bytes, mode, link."""
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("var/lib/xenwizard", "var/log")):
            continue
        st = path.lstat()
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_file():
            out[rel] = ("file", st.st_mode, path.read_bytes())
        else:
            out[rel] = ("dir", st.st_mode)
    return out


async def run(app, runner, keys, svg: list[str] | None = None):  # type: ignore[no-untyped-def]
    async with app.run_test(size=gallery.SIZE) as pilot:
        await gallery.drive(pilot, keys, runner)
        if svg is not None:
            svg.append(app.export_screenshot())
        return screen_text(app)


class TestWholeWizard:
    @sync
    async def test_skip_packages_applies_the_files_and_says_the_package_step_was_skipped(
        self, tmp_path: Path
    ) -> None:
        """`xenwizard --skip-packages`: the preview says the package step is skipped, apply is
        not refused for the missing apt-get, and the apply page marks the step skipped."""

        def skip(ctx) -> None:  # type: ignore[no-untyped-def]
            ctx.simulate_packages = False
            ctx.skip_packages = True

        item = gallery.Scenario("skip", "skip packages", setup=skip)
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (*gallery.TO_PREVIEW, "down"), runner)
            preview = screen_text(app)
            # The step's text whole, as the wrapped lines beside the step list read it.
            head = " ".join(str(app.screen.query_one("#detail-head").content).split())
            await gallery.drive(pilot, ("a", "y", "@apply"), runner)
            applied = screen_text(app)
        assert "SKIPPED (--skip-packages): nothing will" in preview, preview
        assert "SKIPPED (--skip-packages): nothing will be installed, and the steps" in head, head
        assert "APPLIED" in applied and "[-] skipped" in applied, applied
        assert "iface br0:0 inet static" in (tmp_path / "root/etc/network/interfaces").read_text()

    @sync
    async def test_preview_marks_the_steps_that_wait_for_skipped_packages(
        self, tmp_path: Path
    ) -> None:
        """`xenwizard --skip-packages` on Debian 12: the preview's detail of xl.conf's deferred
        edit says the apply skips it, with the engine's own reason (failed before: only the
        package step said anything)."""

        def skip(ctx) -> None:  # type: ignore[no-untyped-def]
            ctx.simulate_packages = False
            ctx.skip_packages = True

        item = gallery.Scenario("skip", "skip packages", setup=skip, root="debian-12")
        app, runner = gallery.build_app(item, tmp_path)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (*gallery.XL_TO_PREVIEW, "down", "down", "down"), runner)
            detail = str(app.screen.query_one("#detail-head").content).splitlines()
        assert detail[0].startswith("3. xl: "), detail
        assert (
            "SKIPPED: etc/xen/xl.conf comes with xen-system-amd64, and packages were skipped"
            in detail
        ), detail

    def test_suggested_commands_carry_a_quoted_root(self, tmp_path: Path) -> None:
        from xenwizard.cli import build_parser
        from xenwizard.tui.launch import context_from_args

        root = tmp_path / "a root"
        root.mkdir()
        ctx = context_from_args(build_parser().parse_args(["--root", str(root)]))
        assert ctx.command("rollback", "RUN") == f"xenwizard rollback --root '{root}' RUN"
        assert ctx.command("confirm", "--anyway") == f"xenwizard confirm --root '{root}' --anyway"
        live = context_from_args(build_parser().parse_args(["--root", "/"]))
        assert live.command("verify") == "xenwizard verify"

    def test_the_wizard_takes_skip_packages(self, tmp_path: Path) -> None:
        from xenwizard.cli import build_parser
        from xenwizard.tui.launch import context_from_args

        root = tmp_path / "root"
        root.mkdir()
        args = build_parser().parse_args(["--root", str(root), "--skip-packages"])
        assert context_from_args(args).skip_packages
        plain = build_parser().parse_args(["--root", str(root)])
        assert not context_from_args(plain).skip_packages

    @sync
    async def test_apply_is_refused_up_front_when_the_target_has_no_apt_get(
        self, tmp_path: Path
    ) -> None:
        """The fixture root has no apt-get: Apply is disabled with the reason the CLI gives,
        and `a` asks for no confirmation (before: the apply started and rolled back)."""

        def real_packages(ctx) -> None:  # type: ignore[no-untyped-def]
            ctx.simulate_packages = False

        item = gallery.Scenario("no-apt", "no apt-get", setup=real_packages)
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (*gallery.TO_PREVIEW, "a"), runner)
            text = screen_text(app)
            preview = app.screen
        assert "has no apt-get to install dnsmasq ebtables" in " ".join(text.split()), text
        # the wizard takes --skip-packages only at its start: it says so (issue 26)
        assert preview.apply_blocked.endswith(  # type: ignore[attr-defined]
            "apply with --skip-packages (quit, and start the wizard again with it)"
        )
        assert "Apply the plan?" not in text
        footer = text.rstrip().splitlines()[-1]
        assert "Save plan" in footer and "Apply" not in footer, footer  # no key that is refused
        assert type(preview).__name__ == "PreviewScreen"

    @sync
    async def test_keyboard_walk_applies_typed_answers(self, tmp_path: Path) -> None:
        """Typed bridge and subnet end up in every file; the done page names run and answers."""
        app, runner = gallery.build_app(gallery.Scenario("walk", "walk"), tmp_path, PRECISE_ROOT)
        root = tmp_path / "root"
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (*WALK, "@apply"), runner)
            applying = screen_text(app)
            await pilot.press("enter")
            await pilot.pause()
            done = screen_text(app)
            # the rest of the page (precise's skipped GRUB step lengthens the outcome line)
            app.screen.query_one("#done-scroll").scroll_end(animate=False)
            await pilot.pause()
            done += screen_text(app)
            await pilot.press("enter")
        assert "APPLIED" in applying and "[*] done" in applying
        assert "ip addr show xenbr1" in done
        assert f"xenwizard rollback --root / {gallery.RUN_ID}" in done
        assert "xenwizard verify --root /" in done  # every suggested command names the root
        assert f"/var/lib/xenwizard/runs/{gallery.RUN_ID}/answers.toml" in done
        assert app.return_value == 0 and app.crashed is None
        interfaces = (root / "etc/network/interfaces").read_text()
        assert "iface xenbr1:0 inet static" in interfaces
        assert "\nauto xenbr1:0" not in interfaces
        assert "address 172.16.5.1" in interfaces
        assert 'ifup "xenbr1:0"' in (root / "etc/rc.local").read_text()
        assert "bridge=xenbr1" in (root / "etc/xen/xend-config.sxp").read_text()
        dropin = (root / "etc/dnsmasq.d/xenwizard.conf").read_text()
        assert "interface=xenbr1" in dropin and "dhcp-range=172.16.5.10,172.16.5.100,12h" in dropin
        assert os.readlink(root / "usr/lib/xen-tools/precise.d") == "karmic.d"
        answers = root / f"var/lib/xenwizard/runs/{gallery.RUN_ID}/answers.toml"
        assert 'bridge = "xenbr1"' in answers.read_text()

    @sync
    async def test_failing_step_leaves_files_unchanged(self, tmp_path: Path) -> None:
        """A step failing last: once the page says ROLLED BACK the tree is byte-identical."""
        item = gallery.Scenario("fail", "fail", setup=gallery.injected(-1, gallery.FAIL_STEP))
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        before = tree(tmp_path / "root")
        text = await run(app, runner, (*WALK, "@apply"))
        assert "ROLLED BACK" in text and "[!] FAILED" in text and "[<] rolled back" in text
        assert tree(tmp_path / "root") == before

    @sync
    async def test_back_keeps_answers(self, tmp_path: Path) -> None:
        """Esc goes back a page; the typed bridge name is still there."""
        app, runner = gallery.build_app(gallery.Scenario("back", "back"), tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (*BRIDGE_KEYS, "escape"), runner)
            assert isinstance(app.screen, BridgeScreen)
            assert app.screen.bridge_row.value == "xenbr1"

    @sync
    async def test_invalid_field_refuses_next(self, tmp_path: Path) -> None:
        """Enter on an invalid bridge name stays on the page and says why."""
        app, runner = gallery.build_app(gallery.Scenario("bad", "bad"), tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter", "ctrl+u", *"br 0", "enter"), runner)
            assert isinstance(app.screen, BridgeScreen)
            text = screen_text(app)
        assert "invalid: may contain only letters" in text
        assert "Next is refused: fix bridge name first." in text

    @sync
    async def test_help_on_every_page(self, tmp_path: Path) -> None:
        """F1 opens the page's help and Esc closes it, on each question page."""
        app, runner = gallery.build_app(gallery.Scenario("help", "help"), tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (), runner)
            for _ in range(5):
                page = app.screen
                await pilot.press("f1")
                await pilot.pause()
                assert isinstance(app.screen, HelpScreen) and app.screen.page == page.PAGE
                await pilot.press("escape")
                await pilot.pause()
                assert app.screen is page
                await pilot.press("enter")
                await pilot.pause()

    @sync
    async def test_save_plan(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """'s' asks for a path; the file holds the plan text with every diff, and says why
        the profile was chosen (detected, not --profile)."""
        monkeypatch.chdir(tmp_path)  # a short relative path to type
        target = tmp_path / "saved.diff"
        app, runner = gallery.build_app(gallery.Scenario("s", "s"), tmp_path, PRECISE_ROOT)
        keys = (*gallery.TO_PREVIEW, "s", "ctrl+u", *"saved.diff", "enter")
        await run(app, runner, keys)
        text = target.read_text()
        assert text.startswith("xenwizard plan: profile ubuntu-precise (detected Ubuntu precise")
        assert "+iface br0:0 inet static" in text

    @sync
    async def test_quit_refused_while_applying(self, tmp_path: Path) -> None:
        """Ctrl-Q during the apply changes nothing; after it, Ctrl-Q quits."""
        item = gallery.scenario("apply-running")
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, item.keys, runner)
            footer = screen_text(app).splitlines()[-1]
            assert "Quit" not in footer and "Back" not in footer, footer  # both refused now
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert isinstance(app.screen, ApplyScreen) and app.is_running
            assert any("Quitting is refused" in str(n.message) for n in app._notifications)
            runner.release.set()
            await gallery.drive(pilot, ("@apply",), runner)
            text = screen_text(app)
            assert "APPLIED" in text
            footer = text.splitlines()[-1]
            assert "^q Quit" in footer and "Back" not in footer, footer  # applied: no way back

    @sync
    async def test_unfinished_run_rolled_back_from_welcome(self, tmp_path: Path) -> None:
        """A killed run is offered on the welcome page; 'r' rolls it back and it is gone."""
        item = gallery.Scenario("kill", "kill", setup=gallery.injected(3, gallery.FAIL_STEP))
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        root = tmp_path / "root"
        before = tree(root)
        # Leave a journal with intents and no outcome, as a killed apply does.
        from xenwizard.engine.executor import Engine

        ctx = app.ctx
        plan = ctx.make_plan(ctx.config)
        # step 4 fails, and no rollback follows: the journal a kill there leaves
        engine = Engine(plan, ctx.fs, gallery.GalleryRunner(), None, skip_packages=True)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                "xenwizard.engine.executor.Engine._undo", lambda self, j, r, reason: ("x", "")
            )
            mp.setattr("xenwizard.engine.executor.Engine._finish", lambda *a: None)
            engine.apply()
        from xenwizard.engine.journal import unfinished_runs

        assert unfinished_runs(ctx.fs) == [gallery.RUN_ID]
        assert tree(root) != before
        ctx.unfinished = tuple(unfinished_runs(ctx.fs))
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("r", "@apply"), runner)
            text = screen_text(app)
            assert "[<] rolled back" in text
            await pilot.press("escape")
            await pilot.pause()
            assert "UNFINISHED" not in screen_text(app)
        assert tree(root) == before


class TestFlood:
    @sync
    async def test_twenty_thousand_lines(self, tmp_path: Path) -> None:
        """All 20,000 lines reach the log (last one visible) and F1 is answered mid-stream."""
        item = gallery.Scenario(
            "flood", "flood", setup=gallery.injected(-1, gallery.flood_step(20_000), "flood 20000")
        )
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, gallery.TO_APPLY, runner)
            await gallery.wait_for(
                pilot,
                lambda: isinstance(app.screen, ApplyScreen) and app.screen.output_lines > 0,
                "the first lines",
            )
            page = app.screen
            await pilot.press("f1")
            await gallery.wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
            assert not runner.resume.is_set()  # the command is still mid-stream
            assert page.output_lines < 20_000
            runner.resume.set()
            await pilot.press("escape")
            await gallery.drive(pilot, ("@apply",), runner)
            text = screen_text(app)
            log = page.query_one("#log")
        log_file = (tmp_path / "root/var/log/xenwizard.log").read_text()
        # the flood and its "$ flood 20000" echo, and the package step's simulated apt-get:
        # the screen shows every output line the log has
        apt = [line for line in log_file.splitlines() if "| (simulated, not run) apt-get" in line]
        assert len(apt) == 3, apt  # update, download (the copy is not `/`), install
        # precise's GRUB step (dom0's memory) runs update-grub simulated; the flood step's is
        # the played one
        grub = [
            line for line in log_file.splitlines() if "| (simulated, not run) update-grub" in line
        ]
        assert len(grub) == 1, grub
        output = [line for line in log_file.splitlines() if "     | " in line]
        # "$ flood 20000"; apt-get update, the download and the install; "$ update-grub" and its
        # simulated line
        assert len(output) - 20_000 == 1 + 8 + 2, [x for x in output if "output line" not in x]
        assert page.output_lines == len(output)
        assert "output line 20000 of 20000" in text
        # 12 of 12: the package step is played on the copy, a change there like the others
        assert log.lines[-1].endswith("applied: 12 steps applied (log: /var/log/xenwizard.log)")
        assert log_file.count("| output line ") == 20_000
        assert "| output line 20000 of 20000" in log_file


SCREENS_WORDS = {
    "welcome": ("Release", "Profile", "root (apply possible)"),
    "bridge-invalid": ("invalid:",),
    "subnet-overlap": ("REFUSED: subnet 192.168.1.0/24 overlaps",),
    "dom0-memory": ("Default  1102 MiB:", "Left for guests"),
    "toolstack": ("[ ] I understand",),
    "preview": ("+ change", "+iface br0:0 inet static"),
    "apply-running": ("[>] running", "[ ] pending", "[*] done"),
    "apply-failed": ("[!] FAILED", "[<] rolled back", "ROLLED BACK"),
    "done": ("APPLIED", "xenwizard rollback"),
    "error": ("ERROR:", "Details (traceback)"),
}


class TestPlainTerminals:
    @pytest.mark.parametrize(
        "env", [{"TERM": "linux"}, {"NO_COLOR": "1"}], ids=["linux", "nocolor"]
    )
    @pytest.mark.parametrize("name", sorted(SCREENS_WORDS))
    @sync
    async def test_renders_with_words(self, tmp_path, monkeypatch, env, name) -> None:
        """Each screen renders on the Linux console's 16 colours and with NO_COLOR; words tell
        the state."""
        monkeypatch.delenv("NO_COLOR", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        item = gallery.scenario(name)
        app, runner = gallery.build_app(item, tmp_path)
        svg: list[str] = []
        try:
            text = await run(app, runner, item.keys, svg)
        finally:
            runner.release.set()
        assert svg[0].startswith("<svg")
        for word in SCREENS_WORDS[name]:
            assert word in text, (word, text)
        if "TERM" in env:
            assert app.theme == "ansi-dark"
        else:
            assert app.no_color
        if name != "error":
            assert app.crashed is None


class TestDemo:
    def test_demo_root_is_a_throwaway_copy(self) -> None:
        """--demo works on a copy of the packaged Debian 12 sample that is deleted afterwards;
        its screens name the copy by its real path (the operator may look at it)."""
        from xenwizard.tui.demo import demo_context, demo_root

        with demo_root() as root:
            ctx = demo_context(root)
            assert (root / "etc/network/interfaces").is_file()
            assert ctx.may_write and ctx.simulate_packages and ctx.demo
            assert ctx.profile is not None and ctx.profile.name == "debian-12"
            assert ctx.show_path(root / "var/log/xenwizard.log") == str(
                root / "var/log/xenwizard.log"
            )
            assert ctx.root_text == str(root)
        assert not root.exists()

    def test_the_ubuntu_12_04_sample_stays_a_choice(self) -> None:
        from xenwizard.tui.demo import demo_context, demo_root

        with demo_root("ubuntu-12.04") as root:
            ctx = demo_context(root)
            assert ctx.profile is not None and ctx.profile.name == "ubuntu-precise"
        assert not root.exists()

    def test_sample_roots_match_fixtures(self) -> None:
        """The packaged sample systems are plain copies of the fixture roots."""
        from xenwizard.tui.demo import SAMPLES_DIR

        assert tree(SAMPLES_DIR / "ubuntu-12.04") == tree(PRECISE_ROOT)
        assert tree(SAMPLES_DIR / "debian-12") == tree(FIXTURES / "debian-12-root")


class TestAnswersThroughTheCore:
    @sync
    async def test_the_welcome_page_says_when_no_nic_can_be_bridged(self, tmp_path: Path) -> None:
        """Only a Wi-Fi NIC is configured: the welcome page says so before the first question
        (before, nothing was said until the Bridge page refused Next)."""

        def wifi_only(ctx) -> None:  # type: ignore[no-untyped-def]
            interfaces = ctx.fs.path("etc/network/interfaces")
            interfaces.write_text(interfaces.read_text().replace("eno1", "wlan0"))

        from xenwizard.target.probe import DefaultRoute

        facts = {
            "interfaces": gallery.lan_interfaces("wlan0", "52:54:00:8a:1c:03"),
            "default_route": DefaultRoute("192.168.1.1", "wlan0"),
        }
        item = gallery.Scenario("wifi", "", facts=facts, root="debian-12", setup=wifi_only)
        app, runner = gallery.build_app(item, tmp_path)
        with gallery.pinned():
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, (), runner)
                text = " ".join(screen_text(app).split())
        assert (
            "WARNING: no NIC of this system can be bridged: wlan0 is a wireless interface" in text
        ), text
        plain, runner = gallery.build_app(
            gallery.Scenario("eno1", "", root="debian-12"), tmp_path / "b"
        )
        with gallery.pinned():
            async with plain.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, (), runner)
                assert "can be bridged" not in screen_text(plain)

    @sync
    async def test_the_ssh_warning_can_be_read_whole_by_keyboard(self, tmp_path: Path) -> None:
        """Four interfaces, SSH and an unfinished run do not fit 80x24: PgDn scrolls the page
        whatever has focus (Start has it), and the footer offers it only then. Before, the end
        of the SSH warning could not be reached without a mouse."""
        from xenwizard.target.probe import InterfaceInfo

        more = tuple(
            InterfaceInfo(f"eno{n}", (IF(f"192.168.{n}.10/24"),), f"52:54:00:8a:1c:0{n}")
            for n in (2, 3, 4)
        )
        facts = {
            "ssh_connection": gallery.SSH_CLIENT,
            "interfaces": (*gallery.CURRENT_INTERFACES, *more),
        }
        item = gallery.Scenario(
            "ssh", "", facts=facts, root="ubuntu-24.04", unfinished=("20260101T000000-aaaa",)
        )
        app, runner = gallery.build_app(item, tmp_path)
        with gallery.pinned():
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, (), runner)
                await pilot.pause()
                first = screen_text(app)
                await pilot.press("pagedown")
                await pilot.pause()
                scrolled = screen_text(app)
        last = "hand before rebooting."
        assert last not in first and "PgDn" in first.rstrip().splitlines()[-1], first
        assert last in scrolled and "or start anyway." in scrolled, scrolled
        plain = gallery.scenario("ubuntu-24.04-welcome-ssh")  # it fits: no PgDn offered
        app, runner = gallery.build_app(plain, tmp_path / "plain")
        with gallery.pinned():
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, (), runner)
                await pilot.pause()
                assert "PgDn" not in screen_text(app)

    @staticmethod
    def lan_on_the_default_subnet() -> dict[str, object]:
        from xenwizard.target.probe import DefaultRoute, InterfaceInfo

        lan = (
            InterfaceInfo("eno1", (IF("10.0.0.5/24"),), "52:54:00:8a:1c:02", is_physical=True),
            InterfaceInfo("lo", (IF("127.0.0.1/8"),)),
        )
        return {"interfaces": lan, "default_route": DefaultRoute("10.0.0.254", "eno1")}

    @sync
    async def test_the_wizard_starts_on_a_free_subnet_like_the_cli(self, tmp_path: Path) -> None:
        """The LAN is 10.0.0.0/24 here: the Subnet page starts on 10.0.1.1/24 with the CLI's
        note (before, the taken 10.0.0.1/24 was prefilled, and the flow crashed on it)."""
        facts = self.lan_on_the_default_subnet()
        item = gallery.Scenario("free", "free subnet", facts=facts, root="debian-12")
        app, runner = gallery.build_app(item, tmp_path)
        with gallery.pinned():
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, ("enter", "enter"), runner)
                text = " ".join(screen_text(app).split())
        assert "10.0.1.1/24" in text and "REFUSED" not in text, text
        assert "note: guest subnet 10.0.1.0/24: the default 10.0.0.0/24 is taken" in text, text
        assert app.ctx.config.dhcp_start == "10.0.1.10"

    @sync
    async def test_a_clashing_answer_is_refused_on_its_page_not_a_crash(
        self, tmp_path: Path
    ) -> None:
        """An answered address that clashes is kept (never moved) and the Subnet page refuses
        it. Before, the Bridge page's Next judged the whole config against the target, and the
        address clash ended the wizard on the error page, losing every answer."""

        def answered(ctx) -> None:  # type: ignore[no-untyped-def]
            ctx.answered = frozenset({"address"})

        facts = self.lan_on_the_default_subnet()
        item = gallery.Scenario("kept", "", facts=facts, root="debian-12", setup=answered)
        app, runner = gallery.build_app(item, tmp_path)
        with gallery.pinned():
            async with app.run_test(size=gallery.SIZE) as pilot:
                await gallery.drive(pilot, ("enter", "enter"), runner)
                text = " ".join(screen_text(app).split())
        assert "10.0.0.1/24" in text and "REFUSED" in text and "note:" not in text, text
        assert app.crashed is None

    @sync
    async def test_overlap_refused_then_allowed_by_the_switch(self, tmp_path: Path) -> None:
        """A subnet overlapping eth0's LAN is refused as typed (failed before: a warning and
        Next went on); the switch allows it, the config records it, the preview says so."""
        item = gallery.Scenario("o", "o", ("enter", "enter", "ctrl+u", *"192.168.1.1/24", "enter"))
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, item.keys, runner)
            from xenwizard.tui.screens.subnet import SubnetScreen

            assert isinstance(app.screen, SubnetScreen)
            assert "Next is refused: fix host address first." in screen_text(app)
            app.screen.allow.value = True
            await gallery.drive(pilot, ("enter",), runner)
            assert not isinstance(app.screen, SubnetScreen)
            assert app.ctx.config.allow_overlap is True
            assert app.ctx.config.address == "192.168.1.1/24"
            assert app.ctx.config.dhcp_range == "192.168.1.10-192.168.1.100"

    @sync
    async def test_netmask_form_is_normalised_by_the_core(self, tmp_path: Path) -> None:
        item = gallery.Scenario(
            "n", "n", ("enter", "enter", "ctrl+u", *"172.16.5.1/255.255.0.0", "enter")
        )
        app, runner = gallery.build_app(item, tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, item.keys, runner)
            assert app.ctx.config.address == "172.16.5.1/16"
            assert app.ctx.config.dhcp_range == "172.16.0.10-172.16.0.100"


class TestQuitting:
    @sync
    async def test_ctrl_q_after_applied_exits_0_without_nothing_changed(self, tmp_path: Path):
        """On the APPLIED page Ctrl-Q ends with 0 at once (failed before: it asked, said
        "Nothing on the system has been changed" and exited 2)."""
        app, runner = gallery.build_app(gallery.Scenario("walk", "walk"), tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, (*WALK, "@apply"), runner)
            assert "APPLIED" in screen_text(app)
            await pilot.press("ctrl+q")
            await pilot.pause()
        assert app.return_value == 0

    @sync
    async def test_ctrl_c_is_the_confirmed_quit(self, tmp_path: Path):
        """Ctrl-C asks as Ctrl-Q does (failed before: Textual's own ctrl+c handling)."""
        app, runner = gallery.build_app(gallery.Scenario("q", "q"), tmp_path, PRECISE_ROOT)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter",), runner)
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert "Quit xenwizard?" in screen_text(app)
            await pilot.press("y")
            await pilot.pause()
        assert app.return_value == 2


class TestPrefill:
    def test_answers_and_flags_prefill(self, tmp_path: Path) -> None:
        """--answers fills the pages; --profile picks the recipe."""
        import argparse

        from xenwizard.tui.launch import context_from_args

        answers = tmp_path / "a.toml"
        answers.write_text(
            'bridge = "xenbr0"\naddress = "10.9.0.1/24"\ndhcp-range = "10.9.0.20-10.9.0.30"\n'
        )
        args = argparse.Namespace(
            root=str(PRECISE_ROOT), profile="ubuntu-precise", answers=str(answers), demo=False
        )
        ctx = context_from_args(args)
        assert ctx.config.bridge == "xenbr0" and ctx.config.dhcp_start == "10.9.0.20"
        assert ctx.profile is not None and ctx.profile.name == "ubuntu-precise"
        assert not ctx.facts.live  # a fixture root is never probed live
        assert replace(ctx.config, bridge="br0").address == "10.9.0.1/24"


HELP_TEXT_WIDTH = 70  # the help dialog (76 wide) less its border, padding and scrollbar


def every_help() -> list[tuple[str, str]]:
    import inspect

    from xenwizard.tui.screens import (
        apply,
        bridge,
        dhcp,
        dom0mem,
        done,
        guard,
        preview,
        subnet,
        toolstack,
        welcome,
    )

    pages = (welcome, bridge, subnet, dhcp, dom0mem, toolstack, preview, guard, apply, done)
    return [
        (name, cls.HELP)
        for module in pages
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and isinstance(getattr(cls, "HELP", None), str)
    ]


@pytest.mark.parametrize(("page", "text"), every_help(), ids=[n for n, _ in every_help()])
def test_help_is_wrapped_once_by_the_dialog(page: str, text: str) -> None:
    """F1 help at 80x24: the source's line breaks inside a sentence are gone (before, each
    source line wrapped again in the narrower box, leaving orphan words), and the lines that
    keep their breaks (tables) fit the box."""
    from xenwizard.tui.screens.modals import reflow

    lines = reflow(text.strip()).splitlines()
    for line in lines:
        if line[:1].isspace():
            assert len(line) <= HELP_TEXT_WIDTH, (page, line)
    for before, line in itertools.pairwise(lines):
        if before and line and not before[0].isspace() and not line[0].isspace():
            assert before.rstrip().endswith((".", ":", "!", "?")), (page, before, line)
