"""The page the wizard opens with on a host whose boot guard waits for `xenwizard confirm`:
verify's result, a canary guest on demand (g), then Confirm (c) or Roll back now (r); Enter goes
on to the wizard."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Static

from xenwizard.tui.messages import FirstPageReady
from xenwizard.tui.screens.base import WizardPage
from xenwizard.verify.bootguard import Pending
from xenwizard.verify.hostcheck import CheckResult

if TYPE_CHECKING:
    from xenwizard.tui.screens.state import WizardContext


@dataclass(frozen=True, slots=True)
class GuardRollback:
    """Roll the guarded run back now (the apply page does it)."""

    run_id: str


@dataclass(frozen=True, slots=True)
class GuardDone:
    """Confirmed, or left pending: on to the wizard."""


class GuardScreen(WizardPage[GuardRollback | GuardDone]):
    """A pending boot guard: verify's checks, and what the operator decides."""

    PAGE = "Boot guard"
    NEXT_LABEL = "Continue"
    HELP = """
The last apply installed a boot guard: unless it is confirmed, it rolls that run
back (files, packages, GRUB) at its deadline after boot and reboots into the
previous boot entry.

Confirm (c) makes the Xen entry GRUB's default and removes the guard; it is
refused while verify fails (`xenwizard confirm --anyway` overrides that).
Check with a guest (g) starts a canary guest on the bridge, as
`xenwizard verify --guest` does: it passes when the host's dnsmasq leases it an
address in the DHCP range (about a minute); the guest is removed afterwards.
Roll back now (r) undoes the run at once; reboot afterwards to come back on the
previous entry. Continue (Enter) leaves the guard waiting.
"""
    BINDINGS = [  # noqa: RUF012
        Binding("c", "confirm", "Confirm", id="guard.confirm"),
        Binding("r", "rollback", "Roll back now", id="guard.rollback"),
        Binding("g", "guest", "Check with a guest", id="guard.guest"),
        Binding("f1", "help", "Help", id="guard.help"),
        Binding("enter", "next", "Continue", show=False, id="guard.next-enter"),
        Binding("escape", "next", "Continue", show=False, id="guard.next-escape"),
    ]

    def __init__(self, ctx: WizardContext, guard: Pending):
        super().__init__(ctx)
        self.guard = guard
        self.results: list[CheckResult] | None = None
        self.confirmed = False
        self.guest_running = False

    def compose_body(self) -> Iterable[Widget]:
        intro = (
            f"Run {self.guard.run_id} installed a boot guard: unless confirmed, it rolls the "
            f"run back {self.guard.minutes} min after boot and reboots into the previous entry."
        )
        yield Static(intro, markup=False, id="guard-intro")
        with VerticalScroll(id="guard-scroll"):
            yield Static("Checking with verify ...", markup=False, id="guard-checks")
            yield Static("", markup=False, id="guard-guest")

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button("Confirm (c)", id="confirm", compact=True, disabled=True)
        yield Button("Roll back now (r)", id="rollback", compact=True)
        yield Button("Guest (g)", id="guest", compact=True)
        yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)

    def button_pressed(self, button_id: str) -> None:
        if button_id == "confirm":
            self.action_confirm()
        elif button_id == "rollback":
            self.action_rollback()
        elif button_id == "guest":
            self.action_guest()
        else:
            super().button_pressed(button_id)

    def on_mount(self) -> None:
        self.query_one("#next", Button).focus()
        self.app.post_message(FirstPageReady())
        self.check()

    @work(thread=True, exclusive=True, group="guard-verify")
    def check(self) -> None:
        results = self.ctx.guard_verify()
        self.app.call_from_thread(self.show_results, results)

    def show_results(self, results: list[CheckResult]) -> None:
        self.results = results
        failed = [r for r in results if r.failed]
        head = f"verify: {len(failed)} check(s) FAILED" if failed else "verify: no check failed"
        lines = [head, *self.ctx.check_lines(results)]
        self.query_one("#guard-checks", Static).update("\n".join(lines))
        refused = self.confirm_refusal()
        if refused:
            self.status(refused, problem=True)  # said at once: the footer offers no c now
        self.query_one("#confirm", Button).disabled = refused is not None
        self.refresh_bindings()

    def confirm_refusal(self) -> str | None:
        """Why Confirm (c) does not work now, or None."""
        if self.results is None:
            return "verify is still running; confirm once it has answered"
        failed = [r.name for r in self.results if r.failed]
        if failed:
            return (
                f"Confirm refused: verify failed ({', '.join(failed)}); fix it, or run "
                f"`{self.ctx.command('confirm', '--anyway')}`"
            )
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers only what works now: Confirm once verify passed, Roll back
        before a confirmation, the guest check when none is running."""
        if action == "confirm":
            return not self.confirmed and self.confirm_refusal() is None
        if action == "rollback":
            return not self.confirmed
        if action == "guest":
            return not self.guest_running
        return True

    def action_guest(self) -> None:
        if self.guest_running:
            return
        self.guest_running = True
        self.refresh_bindings()
        self.show_guest("guest: starting the canary guest ...")
        self.run_guest()

    @work(thread=True, exclusive=True, group="guard-guest")
    def run_guest(self) -> None:
        def progress(line: str) -> None:
            self.app.call_from_thread(self.show_guest, f"guest: {line}")

        result = self.ctx.guard_guest(progress)
        lines = [result.line(), *(f"  left behind: {item}" for item in result.left_behind)]
        self.app.call_from_thread(self.guest_done, lines)

    def show_guest(self, text: str) -> None:
        """The canary's progress and verdict, scrolled into view below verify's lines (which
        may be more than the screen holds)."""
        self.query_one("#guard-guest", Static).update(self.ctx.redact(text))
        scroll = self.query_one("#guard-scroll", VerticalScroll)
        self.call_after_refresh(scroll.scroll_end, animate=False)

    def guest_done(self, lines: list[str]) -> None:
        self.guest_running = False
        self.refresh_bindings()
        self.show_guest("\n".join(lines))

    def action_confirm(self) -> None:
        if self.confirmed:
            return
        refused = self.confirm_refusal()
        if refused:
            self.refuse(refused)
            return
        done = self.ctx.confirm_guard()
        self.confirmed = True
        self.query_one("#confirm", Button).disabled = True
        self.query_one("#rollback", Button).disabled = True
        self.refresh_bindings()
        self.query_one("#guard-checks", Static).update("\n".join(done))
        self.status("Confirmed: Xen stays the default. Continue (Enter) goes on.")

    def action_rollback(self) -> None:
        if not self.confirmed:
            self.dismiss(GuardRollback(self.guard.run_id))

    def collect(self) -> GuardDone:
        return GuardDone()
