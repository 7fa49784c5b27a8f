"""The Textual wizard: the page order in one place (`flow`), saving the plan, the live probe,
the terminal's size, and any unexpected exception turned into the error page.

Screens ask answers/, target/, planning/ and engine/ and tell the app by messages
(messages.py). The app's other jobs are its bases, one module each: quitting.py (Ctrl-Q and the
exit codes), terminalwatch.py (a terminal that goes away), typeahead.py (keys typed ahead) and
textual_private.py (the exception hook).
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.worker import Worker, WorkerState

from xenwizard.answers.model import ConfigError
from xenwizard.engine.privatefile import append_private, write_private
from xenwizard.tui.console import CONSOLE_TERMS, use_console_glyphs
from xenwizard.tui.messages import (
    ApplyStarted,
    ApplyStopped,
    FirstPageReady,
    SavePlanRequested,
)
from xenwizard.tui.quitting import EXIT_ERROR
from xenwizard.tui.screens.base import PAGES, WizardPage
from xenwizard.tui.screens.modals import (
    ErrorScreen,
    SavePlanScreen,
    TooSmallScreen,
)
from xenwizard.tui.screens.state import WizardContext
from xenwizard.tui.screens.welcome import RollbackRequest, WelcomeScreen
from xenwizard.tui.terminalwatch import TerminalWatchApp

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.driver import Driver

    from xenwizard.planning.plan import Plan
    from xenwizard.target.probe import SystemFacts

MIN_SIZE = (80, 24)  # every page fits this; below it the pages would hide fields
WIDE = 120  # from this width on the preview's step list takes what its titles need


# `flow` walks the pages of `PAGES` up to the preview, Back goes one up; the preview's
# request leads on to Apply and Done.
ORDER = tuple(page.lower() for page in PAGES[: PAGES.index("Preview") + 1])


def question_screens() -> dict[str, type[WizardPage[Any]]]:
    """The question pages by name, imported when the first is asked: the first page, which
    the operator reads before anything else, needs none of them (start-up time)."""
    from xenwizard.tui.screens.bridge import BridgeScreen
    from xenwizard.tui.screens.dhcp import DhcpScreen
    from xenwizard.tui.screens.dom0mem import Dom0MemScreen
    from xenwizard.tui.screens.subnet import SubnetScreen
    from xenwizard.tui.screens.toolstack import ToolstackScreen

    pages = (BridgeScreen, SubnetScreen, DhcpScreen, Dom0MemScreen, ToolstackScreen)
    return {page.PAGE.lower(): page for page in pages}


class XenWizardApp(TerminalWatchApp):
    """`xenwizard` without a subcommand."""

    CSS_PATH = "app.tcss"
    TITLE = "xenwizard"
    ENABLE_COMMAND_PALETTE = False
    # A file written once the first page takes input: set only by bench/wizard_ready.py (the
    # start-up benchmark), never from the environment of the installed product.
    ready_file: str | None = None

    def __init__(self, ctx: WizardContext):
        super().__init__()
        self.ctx = ctx
        self.crashed: BaseException | None = None
        self._showing_error = False
        self._ready_signalled = False
        self._restore_glyphs: Callable[[], None] = lambda: None  # console.py's, on TERM=linux

    def get_driver_class(self) -> type[Driver]:
        """Textual's Linux driver, made safe for a terminal that goes away (terminal.py)."""
        driver = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver

        if driver is LinuxDriver and not os.environ.get("TEXTUAL_DRIVER"):
            from xenwizard.tui.terminal import HangupSafeDriver

            return HangupSafeDriver
        return driver

    def on_unmount(self) -> None:
        self._restore_glyphs()  # Textual's glyph tables are class-wide: as they were

    def on_mount(self) -> None:
        if os.environ.get("TERM") in CONSOLE_TERMS:
            self.theme = "ansi-dark"  # the console's own 16 colours
            self.add_class("-console")  # and its font's glyphs (console.py)
            self._restore_glyphs = use_console_glyphs()
        self.catch_hangup()
        self.ctx.use_free_subnet()  # a root read whole already; the live one once detected
        self.flow()

    # --- terminal size ---------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.fit_terminal)

    def fit_terminal(self) -> None:
        """Below MIN_SIZE cover the pages with a notice (they would hide fields that still
        take keys) until the terminal is big enough; from WIDE columns on, the preview's
        step list may grow."""
        width, height = self.size
        self.set_class(width >= WIDE, "-wide")
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        screen = self.screen
        if isinstance(screen, TooSmallScreen):
            if small:
                screen.show_size(width, height)
            else:
                self.pop_screen()
        elif small and self._ready_signalled:
            self.push_screen(TooSmallScreen(MIN_SIZE))

    # --- the page order -------------------------------------------------------------------

    @work(exclusive=True, group="flow")
    async def flow(self) -> None:
        ctx = self.ctx
        await self.boot_guard_page()
        page = 0
        while True:
            name = ORDER[page]
            if name == "welcome":
                answer = await self.push_screen_wait(WelcomeScreen(ctx))
                if isinstance(answer, RollbackRequest):
                    from xenwizard.engine.journal import unfinished_runs
                    from xenwizard.tui.screens.apply import ApplyScreen

                    await self.push_screen_wait(ApplyScreen(ctx, None, answer.run_id))
                    ctx.unfinished = tuple(unfinished_runs(ctx.fs))
                    continue
                page += answer is not None
            elif name != "preview":
                from xenwizard.tui.screens.toolstack import ToolstackAnswers

                given = await self.push_screen_wait(question_screens()[name](ctx))
                if given is None:
                    page -= 1
                    continue
                if isinstance(given, ToolstackAnswers):
                    ctx.toolstack_acknowledged = given.acknowledged
                if hasattr(given, "apply"):
                    try:
                        ctx.config = given.apply(ctx.config, ctx.target)
                    except ConfigError:
                        # Another page's prefilled answer clashes with the target (this page
                        # judged its own fields already): that page refuses it when it comes.
                        ctx.config = given.apply(ctx.config)
                page += 1
            else:
                # The last pages (the engine, rich.syntax) load when first needed: start-up.
                from xenwizard.tui.screens.apply import ApplyScreen
                from xenwizard.tui.screens.done import DoneScreen
                from xenwizard.tui.screens.preview import PreviewScreen

                # The page builds the plan in a worker (the validators may take seconds).
                request = await self.push_screen_wait(PreviewScreen(ctx))
                if request is None:
                    page -= 1
                    continue
                outcome = await self.push_screen_wait(ApplyScreen(ctx, request.plan))
                if outcome is None:
                    continue  # failed or refused: back to a fresh preview
                self.applied = True
                await self.push_screen_wait(DoneScreen(ctx, outcome))
                return

    async def boot_guard_page(self) -> None:
        """A pending boot guard comes first: confirm it, roll its run back, or go on."""
        guard = self.ctx.pending_guard()
        if guard is None:
            return
        from xenwizard.tui.screens.guard import GuardRollback, GuardScreen

        answer = await self.push_screen_wait(GuardScreen(self.ctx, guard))
        if isinstance(answer, GuardRollback):
            from xenwizard.tui.screens.apply import ApplyScreen

            await self.push_screen_wait(ApplyScreen(self.ctx, None, answer.run_id))

    # --- apply bookkeeping (told by the apply page) ----------------------------------------

    def on_apply_started(self, _message: ApplyStarted) -> None:
        self.applying = True  # the page cleared apply_idle before its worker started
        self.start_watchdog()

    def on_apply_stopped(self, _message: ApplyStopped) -> None:
        self.applying = False
        self.apply_idle.set()

    def on_save_plan_requested(self, message: SavePlanRequested) -> None:
        self.save_plan_dialog(message.plan)

    # --- saving the plan --------------------------------------------------------------------

    def save_plan_dialog(
        self, plan: Plan, problem: str | None = None, default: str | None = None
    ) -> None:
        def chosen(path: str | None) -> None:
            if not path:
                return
            from xenwizard.planning.render import plan_text, root_only_files

            try:
                target = Path(path).expanduser()
                write_private(target, plan_text(plan).encode("utf-8", "surrogateescape"))
            except OSError as exc:
                reason = exc.strerror or str(exc)
                self.save_plan_dialog(plan, f"invalid: cannot write {path}: {reason}", path)
                return
            private = root_only_files(plan)
            note = (
                f" (mode 0600: its diffs hold lines of root-only {', '.join(private)})"
                if private
                else " (mode 0600)"
            )
            self.notify(f"Plan saved to {path}{note}", timeout=6)

        self.push_screen(SavePlanScreen(default or self.ctx.plan_default_path, problem), chosen)

    # --- readiness (bench) and errors ------------------------------------------------------

    def on_first_page_ready(self, message: FirstPageReady) -> None:
        """The first page is mounted: it takes input after this refresh. Only then does the
        live probe start, so detecting interfaces never delays the first screen; what the
        page put off (its footer) comes after the signal."""
        if not self._ready_signalled:
            self._ready_signalled = True
            path = self.ready_file
            if path:
                self.call_after_refresh(write_private, path, f"{time.time()}\n".encode())
            if self.ctx.live_probe is not None:
                self.call_after_refresh(self.detect_facts)
            self.call_after_refresh(self.start_watchdog)
            self.call_after_refresh(self.fit_terminal)
        if message.after is not None:
            self.call_after_refresh(message.after)

    # --- the live probe (interfaces, default route) ----------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="probe")
    def detect_facts(self) -> None:
        """Run the context's live probe in a thread; the result reaches the UI thread."""
        live_probe = self.ctx.live_probe
        if live_probe is None:
            return
        facts = live_probe(self.ctx.facts)
        if self.is_running:
            self.call_from_thread(self.facts_detected, facts)

    def facts_detected(self, facts: SystemFacts) -> None:
        self.ctx.facts_detected(facts)
        for screen in self.screen_stack:
            if isinstance(screen, WelcomeScreen):
                screen.facts_detected()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "probe" and event.state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, Exception):
                self.unexpected_error(error)

    def record_error(self, details: str) -> str:
        """Append the details of an unexpected error to the error log; returns its path."""
        path = self.ctx.error_log_path()
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            append_private(path, f"--- xenwizard error at {stamp}\n{details}\n")
        except OSError:
            pass
        return path

    def unexpected_error(self, error: Exception) -> None:
        """Any unexpected exception ends on the error page, never as a traceback."""
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        path = self.ctx.redact(self.record_error(details))
        if self.crashed is None:
            self.crashed = error
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if self._showing_error or not self.is_running:
            self.exit(EXIT_ERROR, message=f"xenwizard: error: {message} (details: {path})")
            return
        self._showing_error = True
        self.call_later(
            self.push_screen,
            ErrorScreen(message, path, self.ctx.demo, self.ctx.root_option),
        )
