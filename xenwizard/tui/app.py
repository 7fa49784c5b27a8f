"""The Textual wizard: the page order in one place (`flow`), quitting, saving, errors.

Screens ask answers/, target/, planning/ and engine/; this module adds the few things that
belong to the app as a whole: the order of the pages, Ctrl-Q with confirmation (refused while an
apply runs), writing the saved plan, and turning any unexpected exception into the error page.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import traceback
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from xenwizard.answers.model import ConfigError
from xenwizard.engine.hangup import silence_terminal
from xenwizard.engine.privatefile import append_private, write_private
from xenwizard.tui.console import CONSOLE_TERMS, use_console_glyphs
from xenwizard.tui.screens.base import PAGES
from xenwizard.tui.screens.bridge import BridgeScreen
from xenwizard.tui.screens.dhcp import DhcpScreen
from xenwizard.tui.screens.dom0mem import Dom0MemScreen
from xenwizard.tui.screens.modals import (
    ConfirmScreen,
    ErrorScreen,
    SavePlanScreen,
    TooSmallScreen,
)
from xenwizard.tui.screens.state import WizardContext
from xenwizard.tui.screens.subnet import SubnetScreen
from xenwizard.tui.screens.toolstack import ToolstackAnswers, ToolstackScreen
from xenwizard.tui.screens.welcome import RollbackRequest, WelcomeScreen

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from textual.driver import Driver
    from textual.message_pump import MessagePump

    from xenwizard.planning.plan import Plan
    from xenwizard.target.probe import SystemFacts

# Exit codes of the wizard.
EXIT_DONE = 0  # reached the last page (applied, or nothing to do)
EXIT_ERROR = 1  # ended on the error page
EXIT_QUIT = 2  # the operator quit before an apply completed
MIN_SIZE = (80, 24)  # every page fits this; below it the pages would hide fields
WIDE = 120  # from this width on the preview's step list takes what its titles need


# Keys typed ahead wait at most this long for a page change to finish (a safety net: a page
# that never comes must not swallow the keyboard). Keys a page holds (the preview building its
# plan) wait as long as it holds them: see `_keys_held` for the order.
TYPE_AHEAD_WAIT = 5.0

# `flow` walks the pages of `PAGES` up to the preview, Back goes one up; the preview's
# request leads on to Apply and Done.
ORDER = tuple(page.lower() for page in PAGES[: PAGES.index("Preview") + 1])
QUESTIONS = {
    page.PAGE.lower(): page
    for page in (BridgeScreen, SubnetScreen, DhcpScreen, Dom0MemScreen, ToolstackScreen)
}


class XenWizardApp(App[int]):
    """`xenwizard` without a subcommand."""

    CSS_PATH = "app.tcss"
    TITLE = "xenwizard"
    ENABLE_COMMAND_PALETTE = False
    # A file written once the first page takes input: set only by bench/wizard_ready.py (the
    # start-up benchmark), never from the environment of the installed product.
    ready_file: str | None = None
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+q", "request_quit", "Quit", priority=True),
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True),  # the same quit
        # While an apply runs the footer offers no quit; the keys still say why not.
        Binding("ctrl+q", "refuse_quit", "Quit", show=False, priority=True),
        Binding("ctrl+c", "refuse_quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, ctx: WizardContext):
        super().__init__()
        self.ctx = ctx
        self.applying = False
        self.apply_idle = threading.Event()  # set by the apply's own thread when it ends
        self.apply_idle.set()
        self.apply_outcome: str | None = None  # the engine's outcome of the last apply/rollback
        self.terminal_lost = False  # the terminal went away (SIGHUP, or the tty hung up)
        self._hangup = False  # set by the SIGHUP handler; acted on by the watchdog
        self.stopped = False  # SIGTERM or SIGINT from outside: the UI ends, the terminal stays
        self._watchdog: object = None
        self._tty_fd: int | None = None
        self.crashed: BaseException | None = None
        self.applied = False
        self._showing_error = False
        self._ready_signalled = False
        # Typed-ahead input (see `on_event`): keys and pastes in arrival order, the task that
        # hands them on one at a time, the events it posted, and the page being left.
        self._typed: deque[events.Key | events.Paste] = deque()
        # Keys a page holds until it can take them (`_keys_held`), and that page.
        self._held: deque[events.Key | events.Paste] = deque()
        self._holding: tuple[object, Callable[[events.Key | events.Paste], bool]] | None = None
        self._typing: asyncio.Task[None] | None = None
        self._released: dict[int, events.Key | events.Paste] = {}
        self._leaving: object = None
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

    # --- typed-ahead keys ------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Hand keys and pastes on one at a time, each once the previous one has had all its
        effects (a page change included).

        Textual forwards every key to the focused widget's queue as soon as the app reads it.
        In a burst that breaks two ways: a widget inserts printable characters at once while
        keys bound to actions (Backspace, End, ...) take effect only after bubbling up to the
        screen, so characters overtake them; and keys typed after Enter sit in the old page's
        queue ahead of its own Submitted message, so they edit (or Tab around) the page that
        is about to go, and what comes after the page change lands before the next page has
        focus. Typing slowly never shows either; holding each event until the screen is idle
        makes a burst behave exactly like slow typing."""
        if (
            isinstance(event, (events.Key, events.Paste))
            and not event.is_forwarded
            and self._released.pop(id(event), None) is None
        ):
            self._typed.append(event)
            if self._typing is None or self._typing.done():
                self._typing = asyncio.create_task(self._hand_on_typed())
            return
        await super().on_event(event)

    async def _hand_on_typed(self) -> None:
        try:
            while (self._typed or self._held) and self.is_running:
                await self._input_settled()
                if not self._typed or not self.is_running:
                    if self._held and self.is_running:
                        continue  # the page still holds them (a deadline passed meanwhile)
                    return
                event = self._typed.popleft()
                if isinstance(event, events.Key):
                    copy: events.Key | events.Paste = events.Key(event.key, event.character)
                else:
                    copy = events.Paste(event.text)
                copy.set_sender(self)
                self._released[id(copy)] = copy
                self.post_message(copy)
        except Exception as exc:  # the error page, never a lost keyboard
            self._handle_exception(exc)

    def page_leaving(self, page: object) -> None:
        """A page dismissed itself: typed-ahead input waits for the next page."""
        self._leaving = page

    def _page_changing(self) -> bool:
        if self._leaving is None:
            return False
        screen = self.screen
        if screen is self._leaving or screen is self.screen_stack[0] or not screen.is_mounted:
            flow = [w for w in self.workers if w.group == "flow" and w.is_running]
            return bool(flow)  # nothing comes any more when the flow has ended
        self._leaving = None
        return False

    def _keys_held(self) -> bool:
        """Sort typed-ahead keys for a page that cannot take them yet (the preview building its
        plan); True while nothing may be handed on.

        The order, for keys typed while a page holds input:
        - the keys it holds wait, in their order, as long as it holds them (no time limit);
        - a key it answers at once (F1, Esc, Ctrl-Q, Ctrl-C on the preview) jumps them;
        - while a dialog covers the page (help, the quit question) keys go to the dialog, and
          the held keys keep waiting for the page;
        - the page ready, its held keys come first, then what was typed after them;
        - the page left (Esc = Back), the keys typed for it before that go with it: handed to
          the page before, they would edit answers the operator did not mean to touch."""
        if self._holding is not None:
            page, page_holds = self._holding
            if page not in self.screen_stack:
                self._held.clear()
                self._holding = None
            elif self.screen is page and not page_holds(self._held[0]):
                self._typed.extendleft(reversed(self._held))
                self._held.clear()
                self._holding = None
        holds = getattr(self.screen, "holds_input", None)
        if holds is not None:
            while self._typed and holds(self._typed[0]):
                self._held.append(self._typed.popleft())
                self._holding = (self.screen, holds)
        return not self._typed and bool(self._held)

    async def _input_settled(self) -> None:
        """Wait until no page change is under way and the app and every widget of the
        screen have handled everything queued (what a key caused included)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TYPE_AHEAD_WAIT
        while self.is_running and loop.time() < deadline:
            if self._keys_held():
                deadline = loop.time() + TYPE_AHEAD_WAIT  # held keys wait as long as the page
                await asyncio.sleep(0.005)
                continue
            if self._page_changing():
                await asyncio.sleep(0.005)
                continue
            pumps = [self, *self.screen.walk_children(with_self=True)]
            if all(pump._message_queue.empty() for pump in pumps) and not self._released:
                # Empty queues, but a handler may still be running: one more round decides.
                ran = await self._round(pumps, deadline - loop.time())
                if ran and all(pump._message_queue.empty() for pump in pumps):
                    return
                continue
            await self._round(pumps, deadline - loop.time())

    async def _round(self, pumps: Sequence[MessagePump], timeout: float) -> bool:
        """Queue a no-op behind everything each pump has queued; wait until all have run."""
        left = 0
        done = asyncio.Event()

        def ran() -> None:
            nonlocal left
            left -= 1
            if left == 0:
                done.set()

        for pump in pumps:
            if pump.call_later(ran):
                left += 1
        if not left:
            return True
        try:
            await asyncio.wait_for(done.wait(), max(timeout, 0.001))
        except asyncio.TimeoutError:
            return False
        return True

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
            elif name in QUESTIONS:
                given = await self.push_screen_wait(QUESTIONS[name](ctx))
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

    # --- apply bookkeeping (called by the apply page) --------------------------------------

    def apply_started(self) -> None:
        self.applying = True
        self.apply_idle.clear()
        self.apply_outcome = None
        self.start_watchdog()
        self.refresh_bindings()

    def apply_stopped(self) -> None:
        self.applying = False
        self.apply_idle.set()
        self.refresh_bindings()

    # --- the terminal going away -------------------------------------------------------------

    def catch_hangup(self) -> None:
        """From the first page to the exit a SIGHUP (a dropped SSH session, a closed window)
        only ends the UI (see `terminal_gone`): an apply finishes or rolls back in its
        thread, and the caller's cleanup (the demo's copy) runs. Pilot tests run in threads
        of their own and keep their handlers."""
        if threading.current_thread() is threading.main_thread() and not self.is_headless:
            signal.signal(signal.SIGHUP, self._on_sighup)
            signal.signal(signal.SIGTERM, self._on_stop)
            signal.signal(signal.SIGINT, self._on_stop)

    def _on_sighup(self, signum: int, frame: object) -> None:
        """Only note it: a signal handler must not touch the UI."""
        self._hangup = True

    def _on_stop(self, signum: int, frame: object) -> None:
        """SIGTERM (`kill PID`) or a SIGINT sent from outside (in the UI Ctrl-C is a key):
        handled like a hang-up, but the terminal is still there and gets restored."""
        self.stopped = True

    def note_hangup(self) -> None:
        """The terminal is gone (the driver's reads or writes fail); any thread may call it."""
        self._hangup = True

    def start_watchdog(self) -> None:
        """Check four times a second whether the terminal went away: started right after
        the first page is up (or by an apply, whichever comes first)."""
        if self._watchdog is not None:
            return
        if not self.is_headless and os.isatty(0):
            self._tty_fd = 0
        self._watchdog = self.set_interval(0.25, self._check_terminal, name="terminal")

    def _check_terminal(self) -> None:
        """A SIGHUP, a failed read or write, or a tty that hung up ends the UI."""
        if self.terminal_lost:
            return
        if self._hangup or (self._tty_fd is not None and not os.isatty(self._tty_fd)):
            self.terminal_gone()
        elif self.stopped:
            self.stop_ui()

    def stop_ui(self) -> None:
        """SIGTERM or SIGINT: the UI ends as for a hang-up (an apply or rollback goes on to its
        end in its thread, `run_app` waits and exits with its outcome's code), but through
        Textual's own exit, which leaves the alternate screen and shows the cursor again."""
        if self.terminal_lost:
            return
        self.terminal_lost = True  # nobody answers the screens any more
        self.exit(EXIT_DONE if self.applied else EXIT_QUIT)

    def terminal_gone(self) -> None:
        """The terminal is gone (SSH drop, closed window): nobody can read or answer the
        screens any more. The UI ends; an apply or rollback that is running goes on in its
        thread to the end, as if the operator had stayed, and `run_app` waits for it."""
        if self.terminal_lost:
            return
        self.terminal_lost = True
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # later hang-ups too, until the exit
        if not self.is_headless:
            silence_terminal()  # stdout/stderr to /dev/null: no later print can fail
        self.exit(EXIT_DONE if self.applied else EXIT_QUIT)

    # --- quitting ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl-Q quits, except while an apply runs: then it only says why not."""
        if action == "request_quit":
            return not self.applying
        if action == "refuse_quit":
            return self.applying
        return True

    def action_refuse_quit(self) -> None:
        self.bell()
        self.notify(
            "Quitting is refused while the apply runs; it finishes or rolls back on its own.",
            severity="warning",
            timeout=5,
        )

    def action_request_quit(self) -> None:
        if self.applying:
            self.action_refuse_quit()
            return
        if isinstance(self.screen, (ConfirmScreen, ErrorScreen)):
            if isinstance(self.screen, ErrorScreen):
                self.exit(EXIT_ERROR)
            return
        if self.applied or self.apply_outcome in ("applied", "nothing-to-do"):
            self.exit(EXIT_DONE)  # the changes are made and journaled: nothing is lost
            return
        text = "Nothing on the system has been changed by this session."

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(EXIT_QUIT)

        self.push_screen(ConfirmScreen("Quit xenwizard?", text, "Quit", "Stay"), answered)

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

    def first_page_ready(self) -> None:
        """The first page is mounted: it takes input after this refresh. Only then does the
        live probe start, so detecting interfaces never delays the first screen."""
        if self._ready_signalled:
            return
        self._ready_signalled = True
        path = self.ready_file
        if path:
            self.call_after_refresh(write_private, path, f"{time.time()}\n".encode())
        if self.ctx.live_probe is not None:
            self.call_after_refresh(self.detect_facts)
        self.call_after_refresh(self.start_watchdog)
        self.call_after_refresh(self.fit_terminal)

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
                self._handle_exception(error)

    def record_error(self, details: str) -> str:
        """Append the details of an unexpected error to the error log; returns its path."""
        path = self.ctx.error_log_path()
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            append_private(path, f"--- xenwizard error at {stamp}\n{details}\n")
        except OSError:
            pass
        return path

    def _handle_exception(self, error: Exception) -> None:
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
