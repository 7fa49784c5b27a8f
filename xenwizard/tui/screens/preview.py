"""The preview: every step with its summary, the selected file's diff, save and apply.

The plan is built here, in a worker thread: on the live root that runs the real validators
(`ifup --no-act`, `netplan generate`: half a second, up to 30 s), which must never hold up the
UI's event loop. Meanwhile the page says so and F1, Esc and Ctrl-Q work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.syntax import Syntax
from rich.text import Text
from textual import events, on, work
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from xenwizard.engine.executor import packages_refusal, sandbox_refusal
from xenwizard.engine.runner import CommandRunner
from xenwizard.engine.skipping import skipped_steps
from xenwizard.planning.plan import EditFile, InstallPackages, Plan, Step, Symlink
from xenwizard.planning.profiles import PlanError
from xenwizard.planning.render import changing_steps, plan_count, step_detail, step_state
from xenwizard.target.rootfs import RootError
from xenwizard.tui.messages import SavePlanRequested
from xenwizard.tui.screens.base import WizardPage

if TYPE_CHECKING:
    from xenwizard.tui.screens.state import WizardContext

MARKS = {
    "change": "+",
    "no change": "=",
    "change (after install)": "~",
    "skipped with --skip-packages": "-",
}


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """Preview: the operator confirmed the apply of this plan."""

    plan: Plan


# Keys the page answers while the plan is being built; others typed meanwhile wait for it.
KEYS_WHILE_BUILDING = ("f1", "escape", "ctrl+q", "ctrl+c")


# The isolated shape's promise (issue 25), said where the operator decides to apply.
ISOLATED_NOTE = (
    "Isolated bridge: the host's own network configuration is not touched, so there is no "
    "network lockout risk at the reboot."
)


class PlanReady(Message):
    """The worker built the plan (or found why none can be made)."""

    def __init__(self, plan: Plan | None, error: str | None):
        super().__init__()
        self.plan = plan
        self.error = error


def step_mark(step: Step, skipped: str | None = None) -> str:
    """The step's mark in the list: what `xenwizard plan` says of it (render.step_state)."""
    return MARKS.get(step_state(step, skipped), "?")


class PreviewScreen(WizardPage[ApplyRequest]):
    """Steps on the left, the highlighted one's notes and diff on the right."""

    PAGE = "Preview"
    NEXT_LABEL = "Apply (a)"
    HELP = """
Every step of the plan, in the order it runs. The marks say what each does:
  +  changes something      =  already as wanted, no change
  ~  from a package: its change is computed right after the install
  -  skipped: --skip-packages leaves it out (it needs the packages)
Move with the arrow keys; the right side shows the step's notes and its file
diff (lines starting '-' go, '+' come). Scroll the diff with Tab then arrows.
f gives the diff the whole width (the step list goes; f brings it back), and
there n and p go to the next and previous step.

s saves the whole plan (what `xenwizard plan` prints) to a file you choose.
a applies it, after a confirmation. Applying needs root; before any change the
files are checked against this preview, each change is journaled, and a failed
step rolls every change back.

The plan is built when the page opens; on this machine's / checking the new
network configuration can take seconds (up to 30). Meanwhile F1, Esc and Ctrl-Q
work at once; other keys wait for the plan, however long, and then arrive in
the order typed. Esc goes back, and takes the keys typed for this page with it.
"""
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back", id="preview.back"),
        Binding("f1", "help", "Help", id="preview.help"),
        Binding("s", "save", "Save plan", id="preview.save"),
        Binding("a", "next", "Apply", id="preview.next"),
        Binding("f", "full_width", "Full-width diff", id="preview.full-width"),
        Binding("f", "step_list", "Step list", id="preview.step-list"),
        Binding("n", "step(1)", "Next step", id="preview.step-1-n"),
        Binding("p", "step(-1)", "Prev step", id="preview.step-1-p"),
    ]

    def __init__(
        self, ctx: WizardContext, plan: Plan | None = None, error: str | None = None
    ) -> None:
        """Neither `plan` nor `error`: the page builds the plan for the context's answers."""
        super().__init__(ctx)
        self.plan = plan
        self.error = error
        self.building = plan is None and error is None
        self.showing = False  # the plan is in, the page being composed for it: keys still wait
        self.skipped = self.skips(plan)

    def skips(self, plan: Plan | None) -> dict[int, str]:
        """The steps the apply skips because packages are skipped: the engine's own rule."""
        return skipped_steps(plan, self.ctx.fs, self.ctx.packages_skipped) if plan else {}

    def holds_input(self, event: events.Key | events.Paste) -> bool:
        """Typed-ahead input waits for the plan, but for the keys that work without one."""
        return (self.building or self.showing) and not (
            isinstance(event, events.Key) and event.key in KEYS_WHILE_BUILDING
        )

    @property
    def apply_blocked(self) -> str | None:
        """Why Apply is not possible, or None."""
        if self.building:
            return "the plan is still being built"
        if self.plan is None:
            return "there is no plan (see the error above)"
        if not self.ctx.may_write:
            return "xenwizard is not running as root; run it with sudo to apply"
        simulated = self.ctx.packages_skipped or self.ctx.simulate_packages
        refusal = packages_refusal(self.plan, self.ctx.fs, simulated)
        if refusal and refusal.endswith("--skip-packages"):
            # the wizard takes the flag only at its start
            refusal += " (quit, and start the wizard again with it)"
        if refusal is None and isinstance(self.ctx.runner, CommandRunner):  # the demo's: none
            refusal = sandbox_refusal(self.plan, self.ctx.fs, simulated)
        return refusal

    def compose_body(self) -> Iterable[Widget]:
        if self.building:
            yield Static("Building the plan...", id="plan-building", markup=False)
            return
        if self.plan is None:
            yield Static("No plan could be made:", classes="bad")
            yield Static(self.error or "", markup=False, id="plan-error")
            return
        options = [Option("   Summary", id="summary")]
        for number, step in enumerate(self.plan.steps, 1):
            mark = step_mark(step, self.skipped.get(number - 1))
            options.append(Option(f"{number} {mark} {step.title}", id=step.id))
        with Horizontal(id="preview"):
            with Vertical(id="step-pane"):
                yield OptionList(*options, id="steps")
                hint = "+ change  = none\n~ after install"
                yield Static(
                    hint + ("  - skipped" if self.skipped else ""), classes="hint", markup=False
                )
            with ScrollableContainer(id="detail"):
                yield Static("", id="detail-head", markup=False)
                yield Static("", id="diff")

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button("Back", id="back", compact=True)
        yield Button("Save plan (s)", id="save", compact=True, disabled=self.plan is None)
        yield Button(
            self.NEXT_LABEL,
            id="next",
            variant="primary",
            compact=True,
            disabled=self.apply_blocked is not None,
        )

    def on_mount(self) -> None:
        if self.building:
            self.status("Building the plan... Esc goes back, F1 shows the help.")
            self.build_plan()
            return
        self.show_plan()

    @work(thread=True, exclusive=True, group="plan")
    def build_plan(self) -> None:
        """Make the plan off the event loop; an unexpected error ends on the error page."""
        try:
            plan, error = self.ctx.make_plan(self.ctx.config), None
        except (PlanError, RootError) as exc:
            plan, error = None, str(exc)
        self.post_message(PlanReady(plan, error))

    async def on_plan_ready(self, message: PlanReady) -> None:
        if not self.building or not self.is_attached:
            return  # the operator went back meanwhile: the next preview builds its own
        self.plan, self.error, self.building = message.plan, message.error, False
        self.skipped = self.skips(message.plan)
        self.showing = True
        try:
            await self.recompose()
            if not self.query("#steps" if self.plan is not None else "#plan-error"):
                return  # the app is closing: Textual composed the page only partly, or not at all
            self.show_plan()
            self.refresh_bindings()
        finally:
            self.showing = False

    def show_plan(self) -> None:
        """The plan is there (or why not): the status line, and the first step in view."""
        blocked = self.apply_blocked
        if blocked:
            self.status(f"Apply is disabled: {blocked}.", problem=True)
        else:
            count = plan_count(self.plan, self.skipped) if self.plan else "No step changes"
            self.status(f"{count}. Apply (a) asks for confirmation first.")
        if self.plan is not None:
            steps = self.query_one("#steps", OptionList)
            steps.highlighted = 0
            steps.focus()
            self.show_step(None)

    def button_pressed(self, button_id: str) -> None:
        if button_id == "save":
            self.action_save()
        else:
            super().button_pressed(button_id)

    @on(OptionList.OptionHighlighted, "#steps")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_option(event.option_index)

    def show_option(self, index: int) -> None:
        """The list's option `index`: the summary first, then the steps."""
        self.show_step(None if index == 0 else index - 1)

    def show_step(self, index: int | None) -> None:
        assert self.plan is not None
        head = self.query_one("#detail-head", Static)
        diff = self.query_one("#diff", Static)
        if index is None:
            head.update(self.summary_text())
            diff.update("")
            return
        step = self.plan.steps[index]
        why = self.skipped.get(index)
        lines = [
            f"{index + 1}. {step.title}",
            f"{step_mark(step, why)} {step_state(step, why)}: {step_detail(step)}",
        ]
        if isinstance(step, InstallPackages) and step.packages and self.ctx.simulate_packages:
            lines.append(
                "SIMULATED in this demo: nothing is downloaded or installed; the copy gets the "
                "packages' files the later steps need, and every later step is written on it"
            )
        elif isinstance(step, InstallPackages) and step.packages and self.ctx.skip_packages:
            lines.append(
                "SKIPPED (--skip-packages): nothing will be installed, and the steps that need "
                "these packages' files are skipped too"
            )
        elif why:
            lines.append(f"SKIPPED: {why.removeprefix('skipped: ')}")
        lines += [f"* {note}" for note in step.notes]  # not "- ": it would read as a removed line
        if isinstance(step, EditFile) and step.deferred and step.expected is not None:
            lines += ["", f"The change to come, against {step.expected.source}:"]
        head.update("\n".join(lines))
        if why and not isinstance(step, InstallPackages):
            diff.update("")  # not written: `xenwizard plan --skip-packages` shows no diff either
        elif isinstance(step, EditFile) and step.changed and not step.deferred:
            diff.update(self.diff_view(step.diff()))
        elif isinstance(step, EditFile) and step.expected is not None:
            diff.update(self.diff_view(step.expected_diff()))
        elif isinstance(step, Symlink) and step.changed:
            diff.update(Text(f"new link: {step.path} -> {step.target}"))
        else:
            diff.update("")

    def diff_view(self, text: str) -> Syntax:
        return Syntax(
            text.rstrip("\n"),
            "diff",
            theme="ansi_dark",
            background_color="default",
            word_wrap=self.full_width,  # the whole width, and no line cut off
        )

    def summary_text(self) -> str:
        assert self.plan is not None
        plan = self.plan
        files = [
            s.path
            for i, s in enumerate(plan.steps)
            if isinstance(s, EditFile) and s.changed and i not in self.skipped
        ]
        lines = [
            f"Profile {plan.profile}",
            f"  {plan.profile_reason}" if plan.profile_reason else "",
            f"Root {self.ctx.root_text}",
            ISOLATED_NOTE if plan.answers.get("isolated") else "",
            f"{plan_count(plan, self.skipped)}.",
            f"Files: {len(files)}",
            *(f"  {path}" for path in files),
        ]
        if plan.boot is not None:
            lines += [f"Boot: {line}" for line in plan.boot.lines()]
        lines += [f"WARNING: {warning}" for warning in plan.warnings]
        return "\n".join(line for line in lines if line)

    @property
    def full_width(self) -> bool:
        return self.has_class("-full-diff")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers only the keys that work here: no Apply (a) while apply is
        refused (the status line says why), no Save plan without a plan; f says what it
        toggles to, and n / p step through the plan only when the list is hidden."""
        if action == "next":
            return self.apply_blocked is None
        if action == "save":
            return self.plan is not None
        if action == "full_width":
            return self.plan is not None and not self.full_width
        if action in ("step_list", "step"):
            return self.plan is not None and self.full_width
        return True

    def action_full_width(self) -> None:
        """The diff gets the whole width, its long lines wrapped: at 80 columns the files
        need more than the 45 the step list leaves, and some lines more than 80."""
        self.add_class("-full-diff")
        self.query_one("#detail", ScrollableContainer).focus()
        self.show_highlighted()
        self.refresh_bindings()

    def action_step_list(self) -> None:
        self.remove_class("-full-diff")
        self.query_one("#steps", OptionList).focus()
        self.show_highlighted()
        self.refresh_bindings()

    def show_highlighted(self) -> None:
        self.show_option(self.query_one("#steps", OptionList).highlighted or 0)

    def action_step(self, delta: int) -> None:
        """The next or previous step (Summary first), with the list hidden."""
        steps = self.query_one("#steps", OptionList)
        current = steps.highlighted or 0
        steps.highlighted = max(0, min(steps.option_count - 1, current + delta))
        self.query_one("#detail", ScrollableContainer).scroll_home(animate=False)

    def action_save(self) -> None:
        if self.plan is None:
            return
        self.app.post_message(SavePlanRequested(self.plan))

    def action_next(self) -> None:
        blocked = self.apply_blocked
        if blocked:
            self.refuse(f"Apply is disabled: {blocked}.")
            return
        self.confirm_apply()

    def confirm_apply(self) -> None:
        from xenwizard.tui.screens.modals import ConfirmScreen

        assert self.plan is not None
        changing = changing_steps(self.plan, self.skipped)
        text = (
            f"Apply {changing} changing steps to {self.ctx.root_text}?\n\n"
            "Files are checked against this preview first; every change is journaled,\n"
            "and a failed step rolls all changes back."
        )

        def answered(yes: bool | None) -> None:
            if yes and self.plan is not None:
                self.dismiss(ApplyRequest(self.plan))

        self.app.push_screen(ConfirmScreen("Apply the plan?", text, "Apply", "Cancel"), answered)

    def collect(self) -> ApplyRequest | None:  # pragma: no cover - action_next decides
        return None
