"""The frame every wizard page shares: title bar, body, Back/Next, footer, help and back keys."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Static

from xenwizard.tui.messages import PageLeaving

if TYPE_CHECKING:
    from textual.await_complete import AwaitComplete

    from xenwizard.tui.screens.state import WizardContext

T = TypeVar("T")
T_value = TypeVar("T_value")

# The page order, written once: the title bar numbers pages by it and the app walks it.
PAGES = (
    "Welcome",
    "Bridge",
    "Subnet",
    "DHCP",
    "Dom0 memory, boot guard",
    "Toolstack",
    "Preview",
    "Apply",
    "Done",
)


class Check(Validator):
    """A textual Validator around a page's check of one answer (`WizardPage.problem`, which asks
    `answers/build.py`): the reason, or None when the text is fine."""

    def __init__(self, check: Callable[[str], str | None]):
        super().__init__()
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        reason = self.check(value.strip())
        return self.success() if reason is None else self.failure(reason)


class TitleBar(Static):
    """One line: program, page number and name; DEMO when running on the sample system."""

    def __init__(self, page: str, demo: bool = False):
        number = PAGES.index(page) + 1 if page in PAGES else None
        where = f"  [{number}/{len(PAGES)}] {page}" if number else f"  {page}"
        text = f" xenwizard{where}"
        if demo:
            text += "   DEMO (sample system)"
        super().__init__(text, classes="titlebar", markup=False)


class FieldRow(Horizontal):
    """Label, input and the validation reason beside it (a word, never colour alone)."""

    def __init__(
        self,
        label: str,
        value: str,
        check: Callable[[str], str | None],
        *,
        field_id: str,
        placeholder: str = "",
    ):
        super().__init__(classes="field-row")
        self.label = label
        self.input = Input(
            value,
            placeholder=placeholder,
            validators=[Check(check)],
            validate_on=["changed", "blur", "submitted"],
            id=field_id,
        )
        self.reason = Static("", classes="reason", markup=False)

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield self.input
        yield self.reason

    def show(self, result: ValidationResult | None, ok_text: str = "ok") -> bool:
        """Show the outcome beside the field; returns whether the value is valid."""
        if result is None or result.is_valid:
            self.reason.update(ok_text)
            self.reason.set_class(False, "-invalid")
            return True
        self.reason.update("invalid: " + "; ".join(result.failure_descriptions))
        self.reason.set_class(True, "-invalid")
        return False

    def check_now(self) -> bool:
        return self.show(self.input.validate(self.input.value))

    @property
    def value(self) -> str:
        return self.input.value.strip()


class WizardPage(Screen[T], Generic[T]):
    """A page of the wizard: returns its answers with `dismiss(answers)`, or None for back."""

    PAGE = ""
    HELP = ""
    NEXT_LABEL = "Next"
    # The first page mounts its footer (the key hints) right after its first frame: Textual's
    # Footer fills in its keys only after a refresh anyway, and building it (its CSS, one
    # widget per key) would otherwise delay the moment the page takes input by ~30 ms.
    DEFER_FOOTER = False
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back", id="page.back"),
        Binding("f1", "help", "Help", id="page.help"),
        Binding("enter", "next", "Next", show=False, id="page.next"),
    ]

    def __init__(self, ctx: WizardContext):
        super().__init__()
        self.ctx = ctx
        self._bases: dict[str, object] = {}  # widget id: the answer it was prefilled with
        self._refusal: tuple[str, Callable[[], bool]] | None = None  # text, still refused?
        self._status_text = ""

    def typed(self, widget_id: str, base: T_value) -> T_value:
        """The field's starting value: what the operator left in it with Back, as long as
        the answer it was typed over is still `base` (else `base`: the answer moved, e.g. the
        DHCP range with a new subnet)."""
        self._bases[widget_id] = base
        kept = self.ctx.drafts.get(self.PAGE, {}).get(widget_id)
        if kept is not None and kept[0] == base:
            return kept[1]  # type: ignore[return-value]  # typed into the field `base` filled
        return base

    def keep_typing(self) -> None:
        """Back: remember what the fields hold, to show it when the page comes again."""
        kept = {}
        for widget_id, base in self._bases.items():
            found = self.query(f"#{widget_id}")
            if found:
                field: Any = found.first()  # Input, Checkbox, Select: each has a value
                kept[widget_id] = (base, field.value)
        self.ctx.drafts[self.PAGE] = kept

    def compose(self) -> ComposeResult:
        yield TitleBar(self.PAGE, self.ctx.demo)
        with Vertical(classes="body"):
            yield from self.compose_body()
        yield Static("", id="page-status", markup=False)
        with Horizontal(classes="buttons"):
            yield from self.compose_buttons()
        if not self.DEFER_FOOTER:
            yield Footer()

    async def mount_footer(self) -> None:
        """Add the deferred footer; it shows the keys once told the bindings are there."""
        if self.is_attached and not self.query(Footer):
            await self.mount(Footer())
            self.refresh_bindings()

    def compose_body(self) -> Iterable[Widget]:
        return ()

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button("Back", id="back", compact=True)
        yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.button_pressed(event.button.id or "")

    def button_pressed(self, button_id: str) -> None:
        """Buttons by id; pages with more buttons extend this (not the handler: Textual
        calls every class's `on_button_pressed` in the MRO)."""
        if button_id == "back":
            self.action_back()
        elif button_id == "next":
            self.action_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_next()

    def status(self, text: str, problem: bool = False) -> None:
        widget = self.query_one("#page-status", Static)
        widget.update(text)
        widget.set_class(problem, "-problem")
        self._status_text = text

    def refuse(self, text: str, still: Callable[[], bool] | None = None) -> None:
        """Next is refused: say why on the status line. `still` tells whether the reason
        holds; once it does not (the field was fixed), the line goes."""
        self.status(text, problem=True)
        self._refusal = (text, still) if still is not None else None
        self.app.bell()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Any edit: a refusal whose reason is gone is cleared (the page's own handler, if
        any, runs too: Textual calls each class's handler)."""
        if self._refusal is None:
            return
        text, still = self._refusal
        if not still():
            self._refusal = None
            if self._status_text == text:
                self.status("")

    def dismiss(self, result: T | None = None) -> AwaitComplete:
        """Leave the page; keys typed from now on wait for the next page (app.on_event).
        Back keeps what the fields hold; an answer replaces it."""
        if result is None:
            self.keep_typing()
        else:
            self.ctx.drafts.pop(self.PAGE, None)
        self.app.post_message(PageLeaving(self))
        return super().dismiss(result)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from xenwizard.tui.screens.modals import HelpScreen

        self.app.push_screen(HelpScreen(self.PAGE, self.help_text()))

    def help_text(self) -> str:
        """F1's text; pages whose help depends on the profile say it their way."""
        return self.HELP

    def action_next(self) -> None:
        answers = self.collect()
        if answers is not None:
            self.dismiss(answers)

    def collect(self) -> T | None:
        """The page's answers, or None after showing why Next is refused."""
        raise NotImplementedError

    def problem(self, key: str, answers: Mapping[str, object]) -> str | None:
        """The core's verdict on the answer `key` (the page's text over the answers so far)."""
        from xenwizard.answers.build import answer_problem

        return answer_problem(key, answers, self.ctx.config, self.ctx.target)

    def first_invalid(self, rows: Iterable[FieldRow]) -> FieldRow | None:
        bad = None
        for row in rows:
            if not row.check_now() and bad is None:
                bad = row
        if bad is not None:
            bad.input.focus()
            label = bad.label if bad.label[:2].isupper() else bad.label.lower()  # "NIC" stays
            self.refuse(f"Next is refused: fix {label} first.", lambda: not bad.check_now())
        return bad
