"""The dom0 memory page: dom0's fixed size and the boot guard of the first boot into Xen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from textual.widget import Widget
from textual.widgets import Checkbox, Input, Static

from xenwizard.answers import dom0mem
from xenwizard.answers.build import build_config
from xenwizard.answers.clashes import Target
from xenwizard.answers.model import WizardConfig
from xenwizard.planning import dom0size
from xenwizard.target import boot
from xenwizard.tui.screens.base import FieldRow, WizardPage
from xenwizard.tui.screens.state import (
    facts_table,
)
from xenwizard.tui.widgets import TickBox


@dataclass(frozen=True, slots=True)
class Dom0MemAnswers:
    size: str | None  # None: the rule's default for the target's RAM
    boot_guard: bool = True
    confirm_within: str | None = None  # minutes as typed; None: the guard is off or not offered

    def apply(self, config: WizardConfig, target: Target | None = None) -> WizardConfig:
        answers: dict[str, object] = {"boot-guard": self.boot_guard}
        if self.confirm_within is not None:
            answers["confirm-within"] = self.confirm_within
        if self.size is not None:
            answers["dom0-mem"] = self.size
        return build_config(answers, replace(config, dom0_mem=None), target)


class Dom0MemScreen(WizardPage[Dom0MemAnswers]):
    """dom0's memory (the target's RAM, the rule's default, the field and what guests keep) and
    the boot guard of the first boot into Xen: on or off, and its deadline."""

    PAGE = "Dom0 memory, boot guard"
    HELP = f"""
dom0 is this host's own Linux: it runs xl, the guests' network and disk
backends, dnsmasq and sshd. Xen gives it a fixed size on its command
line (dom0_mem=SIZE,max:SIZE) with ballooning off, so starting a guest
never takes memory from dom0, as Xen's best-practices page advises.

Default: {dom0mem.RULE}.
Sizes in MiB or GiB: {dom0mem.SHAPES}. At least
{dom0mem.MIN_MIB} MiB and at most the machine's RAM; the rest is for guests
(the preview warns when less than {dom0mem.GUEST_HEADROOM_MIB} MiB is left).

Boot guard (on by default, needs systemd): the first boot into Xen is
one-shot, and unless `xenwizard confirm` runs within the minutes given
(1 to 1440) after that boot, the guard rolls the run back and reboots into
the previous entry: a host that does not come back on the network is
restored by itself. Off: Xen is the default entry at once.
"""

    def compose_body(self) -> Iterable[Widget]:
        facts = self.ctx.facts
        self.total = dom0size.machine_mib(facts)
        self.default = dom0size.chosen_mib(replace(self.ctx.config, dom0_mem=None), facts)
        yield Static(
            "Memory for dom0 (this host's own Linux), fixed on Xen's command line; dom0 is\n"
            "never ballooned, so guests get exactly what is left.",
            markup=False,
            classes="intro",
        )
        rows = [("RAM", dom0size.ram_text(facts))]
        if self.total is None:  # the rule needs the RAM: say what it would be
            rows.append(("Default", f"{self.default} MiB, {dom0size.default_text(facts)}"))
            rows.append(("Rule", dom0mem.RULE))
        else:
            rows.append(("Default", f"{self.default} MiB: {dom0mem.RULE}"))
        yield Static(facts_table(rows, width=9), markup=False, id="dom0-facts")
        chosen = self.ctx.config.dom0_mem
        self.row = FieldRow(
            "Dom0 memory",
            self.typed("dom0-mem", f"{chosen if chosen is not None else self.default}M"),
            lambda text: self.problem("dom0-mem", {"dom0-mem": text}),
            field_id="dom0-mem",
            placeholder=f"{self.default}M",
        )
        yield self.row
        yield Static("", id="dom0-left", markup=False)
        yield Static("", id="dom0-warning", markup=False, classes="warning")
        yield from self.compose_guard()

    def compose_guard(self) -> Iterable[Widget]:
        """The boot guard's switch and deadline, or why the target has none."""
        self.guard: TickBox | None = None
        self.minutes: FieldRow | None = None
        if not boot.has_systemd(self.ctx.fs):
            yield Static(
                "Boot guard: not available here (it needs systemd); Xen becomes the default\n"
                "boot entry at once. Keep console access for the first reboot.",
                markup=False,
                id="guard-absent",
            )
            return
        cfg = self.ctx.config
        self.guard = TickBox(
            "Boot guard: roll back unless `xenwizard confirm` runs after the reboot",
            self.typed("boot-guard", cfg.boot_guard),
            id="boot-guard",
            compact=True,
        )
        yield self.guard
        self.minutes = FieldRow(
            "Confirm within",
            self.typed("confirm-within", str(cfg.confirm_within)),
            lambda text: self.problem("confirm-within", {"confirm-within": text}),
            field_id="confirm-within",
            placeholder="minutes",
        )
        yield self.minutes
        yield Static(
            "minutes after the reboot (1 to 1440) before the guard rolls the run back",
            markup=False,
            classes="hint",
            id="confirm-hint",
        )

    def on_mount(self) -> None:
        self.update_left()
        self.update_guard()
        self.row.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.minutes is not None and event.input is self.minutes.input:
            self.minutes.check_now()
        else:
            self.update_left()  # from the field's text now, not the event's older verdict

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.update_guard()

    def update_guard(self) -> None:
        """The deadline only means something with the guard on."""
        if self.minutes is not None and self.guard is not None:
            self.minutes.display = self.guard.value
            self.query_one("#confirm-hint").display = self.guard.value
            if self.guard.value:
                self.minutes.check_now()

    def update_left(self) -> None:
        left = self.query_one("#dom0-left", Static)
        warning = self.query_one("#dom0-warning", Static)
        if not self.row.check_now():
            left.update("")
            warning.update("")
            return
        mib = dom0mem.parse_size(self.row.value)
        if self.total is None:
            left.update(f"Left for guests: the RAM less {mib} MiB (RAM unknown here)")
            warning.update("")
            return
        rest = self.total - mib
        left.update(f"Left for guests: {rest} MiB of {self.total} MiB")
        short = rest < dom0mem.GUEST_HEADROOM_MIB
        warning.update(
            f"WARNING: too little for a guest (at least {dom0mem.GUEST_HEADROOM_MIB} MiB)"
            if short
            else ""
        )

    def collect(self) -> Dom0MemAnswers | None:
        guard_on = self.guard is not None and self.guard.value
        rows = [self.row, *([self.minutes] if guard_on and self.minutes is not None else [])]
        if self.first_invalid(rows):
            return None
        mib = dom0mem.parse_size(self.row.value)
        size = None if self.ctx.config.dom0_mem is None and mib == self.default else self.row.value
        if self.guard is None:  # not offered: the plan says why there is no guard
            return Dom0MemAnswers(size, self.ctx.config.boot_guard)
        minutes = self.minutes.value if guard_on and self.minutes is not None else None
        return Dom0MemAnswers(size, self.guard.value, minutes)
