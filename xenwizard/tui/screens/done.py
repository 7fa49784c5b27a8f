"""The last page: what to do next, how to undo it, where the answers are, what changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Static

from xenwizard.tui.screens.apply import ApplyOutcome
from xenwizard.tui.screens.base import WizardPage
from xenwizard.verify.bootguard import reboot_advice

if TYPE_CHECKING:
    from xenwizard.tui.screens.state import WizardContext


class DoneScreen(WizardPage[None]):
    """Applied: the summary and the next steps; Enter quits."""

    PAGE = "Done"
    NEXT_LABEL = "Quit (Enter)"
    HELP = """
The plan has been applied. Xen only runs after a reboot into the Xen entry of the
boot menu; then the bridge exists and dnsmasq serves the guests.

Check with `ip addr show BRIDGE` (the bridge and its guest-subnet address) and
`xenwizard verify` (the command as this page shows it: with a venv install, the
venv's bin/xenwizard). `xenwizard rollback RUN_ID` undoes this run exactly
(files, links and the packages it installed). The answers file replays the same
setup on another host: `xenwizard apply --answers FILE`.

PgDn, PgUp, the arrow keys, Home and End scroll this page.
"""
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back", show=False, id="done.back"),
        Binding("f1", "help", "Help", id="done.help"),
        Binding("enter", "next", "Quit", show=False, id="done.next"),
        # The text scrolls from the keyboard whatever has focus (the Quit button has it).
        Binding("pagedown", "scroll('page_down')", "Scroll", id="done.scroll-page-down"),
        Binding("pageup", "scroll('page_up')", "Scroll up", show=False, id="done.scroll-page-up"),
        Binding("down", "scroll('down')", "Down", show=False, id="done.scroll-down"),
        Binding("up", "scroll('up')", "Up", show=False, id="done.scroll-up"),
        Binding("end", "scroll('end')", "End", show=False, id="done.scroll-end"),
        Binding("home", "scroll('home')", "Home", show=False, id="done.scroll-home"),
    ]

    def __init__(self, ctx: WizardContext, outcome: ApplyOutcome):
        super().__init__(ctx)
        self.outcome = outcome

    def compose_body(self) -> Iterable[Widget]:
        ctx, result = self.ctx, self.outcome.result
        bridge = ctx.config.bridge
        # What the operator must not miss comes first and fits 80x24 (outcome, the reboot and
        # its confirm, the undo command); the rest scrolls, by keyboard whatever has focus.
        lines = [
            f"{'APPLIED' if result.outcome == 'applied' else 'NOTHING TO DO'}: "
            f"{result.message} (run {result.run_id})",
            "",
            "Next:",
        ]
        guard = ctx.boot_guard(result.run_id)
        if guard is not None:
            lines += [f"  {line}" for line in reboot_advice(guard, ctx.root_option)]
            lines.append(f"  Then check the bridge: ip addr show {bridge}")
        else:
            lines += [
                "  1. Reboot into Xen (pick the Xen entry in the boot menu if needed).",
                f"  2. Check the bridge: ip addr show {bridge}",
                f"     and the whole setup: {ctx.command('verify')}",
            ]
        lines += [
            "",
            f"Undo this run:  {ctx.command('rollback', result.run_id)}",
            "Answers for the next host (xenwizard apply --answers FILE):",
            f"  {ctx.answers_path(result.run_id)}",
            f"Log: {ctx.show_path(result.log_path) if result.log_path else ctx.log_path}",
        ]
        if ctx.demo:
            lines += [
                "",
                "Demo: what was written is in this copy of the sample system (look at it",
                "from another terminal; it is deleted when you quit):",
                f"  {ctx.root_text}",
            ]
        lines += ["", "What changed:"]
        lines += [f"  * {title}" for title in self.outcome.changed] or ["  nothing"]
        lines += [f"  ~ {title} (simulated: nothing installed)" for title in self.outcome.simulated]
        with VerticalScroll(id="done-scroll"):
            yield Static("\n".join(lines), markup=False, id="done-text")

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#next", Button).focus()

    def action_scroll(self, where: str) -> None:
        box = self.query_one("#done-scroll", VerticalScroll)
        move = {
            "page_down": box.scroll_page_down,
            "page_up": box.scroll_page_up,
            "down": box.scroll_down,
            "up": box.scroll_up,
            "end": box.scroll_end,
            "home": box.scroll_home,
        }[where]
        move(animate=False)

    def action_back(self) -> None:
        self.app.notify(
            "The run is finished; undo it with "
            f"`{self.ctx.command('rollback', self.outcome.result.run_id)}`.",
            timeout=4,
        )

    def action_next(self) -> None:
        self.app.exit(0)

    def collect(self) -> None:  # pragma: no cover - action_next decides
        return None
