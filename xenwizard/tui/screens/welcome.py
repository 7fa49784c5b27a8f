"""The first page: what will happen, what was detected about the target, and an
unfinished earlier run to roll back first."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Static

from xenwizard.tui.messages import FirstPageReady, QuitRequested
from xenwizard.tui.screens.base import WizardPage
from xenwizard.tui.screens.state import (
    TABLE_WIDTH,
    WizardContext,
    facts_table,
    interfaces_lines,
    toolstack_text,
)


@dataclass(frozen=True, slots=True)
class Start:
    """Welcome: go on to the questions."""


@dataclass(frozen=True, slots=True)
class RollbackRequest:
    """Welcome: roll back an unfinished earlier run first."""

    run_id: str


DETECTING = "detecting..."


class WelcomeScreen(WizardPage[Start | RollbackRequest]):
    """What will happen, and what was detected about the target."""

    PAGE = "Welcome"
    NEXT_LABEL = "Start"
    DEFER_FOOTER = True  # the first page: takes input before its key hints are built
    HELP = """
xenwizard makes this server a Xen host: guests on a bridge, addresses from dnsmasq.

It asks for the bridge name, guest subnet, DHCP range and dom0's memory (on
Ubuntu 12.04 also to keep the xm toolstack), then shows every change as a diff. Nothing changes
before you confirm on the preview page. Every change is journaled first and
undone if any step fails.

Below are the facts it found about the target: the release and the recipe
(profile) chosen for it, Xen, the toolstack, interfaces and the default route,
whether you are root (needed to apply) and whether you are connected over SSH.
An earlier run that was killed half-way is offered for rollback (r).
When the page holds more than fits, PgDn / PgUp scroll it, whatever has focus.
"""
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back", show=False, id="welcome.back"),
        Binding("f1", "help", "Help", id="welcome.help"),
        Binding("r", "rollback", "Roll back unfinished run", show=False, id="welcome.rollback"),
        Binding(
            "pagedown",
            "scroll_text(1)",
            "More",
            key_display="PgDn",
            id="welcome.scroll-text-1-pagedown",
        ),
        Binding(
            "pageup",
            "scroll_text(-1)",
            "Back up",
            key_display="PgUp",
            show=False,
            id="welcome.scroll-text-1-pageup",
        ),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """PgDn / PgUp are offered only when the facts and warnings do not fit the page."""
        if action == "scroll_text":
            found = self.query("#welcome-scroll")
            return bool(found) and found.first().max_scroll_y > 0
        return True

    def action_scroll_text(self, direction: int) -> None:
        """Scroll the facts and warnings by a page, whatever has focus (the SSH warning can
        be read whole by keyboard)."""
        scroll = self.query_one("#welcome-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_bindings)  # whether PgDn is needed may change

    def compose_body(self) -> Iterable[Widget]:
        ctx = self.ctx
        # Scrolls rather than cuts off when a host has many interfaces and a warning too.
        with VerticalScroll(id="welcome-scroll"):
            # The toolstack page asks only where xm must be kept; elsewhere it only informs.
            questions = "Five questions" if ctx.toolstack == "xm" else "Four questions"
            yield Static(
                "xenwizard turns this server into a Xen host: guests sit on a bridge and get\n"
                f"addresses from dnsmasq. {questions}, then a preview of every change;\n"
                "nothing is changed before you confirm, and a failed step is rolled back.",
                markup=False,
                classes="intro",
            )
            yield Static(self.facts_text(), markup=False, id="facts")
            ssh = self.ssh_text()
            warning = Static(ssh, markup=False, classes="warning", id="ssh-warning")
            warning.display = bool(ssh)
            yield warning
            no_nic = self.no_nic_text()
            nic_warning = Static(no_nic, markup=False, classes="warning", id="no-nic")
            nic_warning.display = bool(no_nic)
            yield nic_warning
            if ctx.unfinished:
                run_id = ctx.unfinished[-1]
                yield Static(
                    f"UNFINISHED: run {run_id} was interrupted. Roll it back first (r), "
                    "or start anyway.",
                    markup=False,
                    classes="warning",
                    id="unfinished",
                )

    def facts_text(self) -> str:
        """The detected facts as a table; what the live root's background probe brings
        (packages, interfaces, route) says `detecting...` until known."""
        ctx, facts = self.ctx, self.ctx.facts
        if ctx.profile is not None:
            profile, why, recipe = ctx.profile.name, ctx.profile_reason, ctx.profile.title
        else:
            profile, why, recipe = "NONE", ctx.profile_error or "no profile fits", ""
        if len(profile) + 2 + len(why) <= TABLE_WIDTH:
            profile, why = f"{profile}: {why}", ""  # one line where it fits
        xen = "installed" if facts.xen_installed else "NOT installed (the plan installs it)"
        user = user_text(ctx)
        if facts.over_ssh:
            client = (facts.ssh_connection or "").split()
            session = f"over SSH from {client[0]}" if client else "over SSH"
            session += " (an apply survives a drop)"
        else:
            session = "local (not over SSH)"
        toolstack = toolstack_text(facts, ctx.toolstack)
        if ctx.detecting:
            interfaces, route, xen = [DETECTING], DETECTING, DETECTING
            if ctx.toolstack != "xm":
                toolstack = DETECTING  # the xl wording depends on whether Xen is installed
        else:
            interfaces = interfaces_lines(facts, loopback=False)[:4]
            if facts.default_route is not None:
                gateway = facts.default_route
                route = f"via {gateway.gateway} dev {gateway.interface}"
            else:
                route = "none" if facts.live else "not probed"
        rows = [
            ("Release", facts.pretty_name or "unknown"),
            ("Profile", profile),
            ("", why),
            ("Recipe", recipe),
            ("Root", ctx.root_text),
            ("Xen", xen),
            ("Toolstack", toolstack),
            *(("Interfaces" if n == 0 else "", line) for n, line in enumerate(interfaces)),
            ("Default route", route),
            ("User", user),
            ("Session", session),
        ]
        return facts_table(rows)

    def no_nic_text(self) -> str:
        """When no NIC can be bridged, before the first question (needs the live facts)."""
        if self.ctx.detecting:
            return ""
        why = self.ctx.no_bridgeable_nic()
        return f"WARNING: {why}" if why else ""

    def ssh_text(self) -> str:
        """The SSH warning (it needs the live facts: which NIC carries the session)."""
        if self.ctx.detecting:
            return ""
        if self.ctx.asks_nic and self.ctx.config.isolated:
            return (
                "Isolated bridge (no NIC): the host's own network configuration is not "
                "touched, so there is no network lockout risk at the reboot."
            )
        ssh = self.ctx.ssh_warning()
        return f"WARNING: {ssh}" if ssh else ""

    def facts_detected(self) -> None:
        """The live probe finished: fill in the facts; a waiting Start goes on."""
        self.query_one("#facts", Static).update(self.facts_text())
        ssh = self.ssh_text()
        warning = self.query_one("#ssh-warning", Static)
        warning.update(ssh)
        warning.display = bool(ssh)
        no_nic = self.no_nic_text()
        nic_warning = self.query_one("#no-nic", Static)
        nic_warning.update(no_nic)
        nic_warning.display = bool(no_nic)
        self.call_after_refresh(self.refresh_bindings)  # the page may not fit any more
        if self.start_waiting:
            self.start_waiting = False
            self.status("")
            self.action_next()

    start_waiting = False  # Start was pressed while the live facts were still being detected

    def compose_buttons(self) -> Iterable[Widget]:
        if self.ctx.unfinished:
            yield Button("Roll back (r)", id="rollback", compact=True)
        yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.app.post_message(FirstPageReady(after=self.mount_footer))
        if self.ctx.profile is None:
            self.status(
                "Start is not possible: no profile for this release (see above).", problem=True
            )
        self.query_one("#next", Button).focus()

    def button_pressed(self, button_id: str) -> None:
        if button_id == "rollback":
            self.action_rollback()
        else:
            super().button_pressed(button_id)

    def action_back(self) -> None:
        self.app.post_message(QuitRequested())

    def action_rollback(self) -> None:
        if self.ctx.unfinished:
            self.dismiss(RollbackRequest(self.ctx.unfinished[-1]))

    def collect(self) -> Start | None:
        if self.ctx.profile is None:
            self.refuse(f"Cannot start: {self.ctx.profile_error}")
            return None
        if self.ctx.detecting:
            # The next pages need the interfaces and the route: go on once they are known.
            self.start_waiting = True
            self.status("Detecting network interfaces... Start goes on as soon as they are known.")
            return None
        return Start()


def user_text(ctx: WizardContext) -> str:
    """Who runs the wizard, as it is: the demo may apply as anyone (it writes its copy only)."""
    if ctx.demo:
        who = "root" if ctx.facts.is_root else _user_name()
        return f"{who} (the demo writes only its sample copy)"
    if ctx.facts.is_root:
        return "root (apply possible)"
    return "NOT root: everything works up to the preview; apply needs root"


def _user_name() -> str:
    uid = os.geteuid()
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
