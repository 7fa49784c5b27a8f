"""Small screens over the wizard: help, yes/no confirmation, the save-plan path, the error page."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, Static

from xenwizard.tui.screens.base import TitleBar


def reflow(text: str) -> str:
    """Help text as paragraphs for the dialog to wrap once: the source's line breaks inside a
    sentence go (the box is narrower than the source, so they left orphan lines); blank lines,
    indented lines (tables, lists) and breaks after a full stop or colon stay."""
    out: list[str] = []
    for line in text.splitlines():
        prev = out[-1] if out else ""
        joinable = prev and line and not prev[0].isspace() and not line[0].isspace()
        if joinable and not prev.rstrip().endswith((".", ":", "!", "?")):
            out[-1] = f"{prev.rstrip()} {line.lstrip()}"
        else:
            out.append(line)
    return "\n".join(out)


class HelpScreen(ModalScreen[None]):
    """What the page is for and which keys work; Esc, F1 or Enter close it."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "close", "Close", id="modals.close-escape"),
        Binding("f1", "close", "Close", show=False, id="modals.close-f1"),
        Binding("enter", "close", "Close", show=False, id="modals.close-enter"),
    ]

    KEYS = (
        "Keys: Tab / Shift-Tab move between fields, Enter = Next, Esc = back,\n"
        "F1 = this help, Ctrl-Q = quit (asks first). The mouse works too."
    )

    def __init__(self, page: str, text: str):
        super().__init__()
        self.page = page
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(f"Help: {self.page}", classes="dialog-title")
            with VerticalScroll(classes="help-text"):
                yield Static(reflow(self.text.strip() + "\n\n" + self.KEYS), markup=False)
            yield Button("Close", id="close", compact=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A question with Yes/No; Esc means No."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "answer(False)", "No", id="modals.answer-false-escape"),
        Binding("y", "answer(True)", "Yes", id="modals.answer-true"),
        Binding("n", "answer(False)", "No", id="modals.answer-false-n"),
    ]

    def __init__(self, title: str, text: str, yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.title_text = title
        self.text = text
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.text, markup=False, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary", compact=True)
                yield Button(f"{self.no} (n)", id="no", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class SavePlanScreen(ModalScreen[str | None]):
    """Where to save the plan (the diffs as `xenwizard plan` prints them)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modals.cancel")]  # noqa: RUF012

    def __init__(self, default: str, problem: str | None = None):
        super().__init__()
        self.default = default
        self.problem = problem

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Save the plan", classes="dialog-title")
            yield Static(
                "Every step and diff, as `xenwizard plan` prints them. File:",
                classes="dialog-text",
                markup=False,
            )
            yield Input(self.default, id="save-path")
            yield Static(self.problem or "", id="save-problem", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def _save(self) -> None:
        path = self.query_one("#save-path", Input).value.strip()
        if not path:
            self.query_one("#save-problem", Static).update("invalid: give a file name")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ErrorScreen(Screen[None]):
    """An unexpected error: the message, where the details are, and that Enter quits."""

    BINDINGS = [  # noqa: RUF012
        Binding("enter", "quit_now", "Quit", id="modals.quit-now-enter"),
        Binding("escape", "quit_now", "Quit", show=False, id="modals.quit-now-escape"),
        Binding("f1", "help", "Help", id="modals.help"),
    ]

    def __init__(self, message: str, log_path: str, demo: bool = False, root_option: str = ""):
        super().__init__()
        self.message = message
        self.log_path = log_path
        self.demo = demo
        self.root_option = root_option  # ` --root DIR` in the commands it suggests

    def compose(self) -> ComposeResult:
        yield TitleBar("Error", self.demo)
        with Vertical(classes="body"):
            yield Static("ERROR: xenwizard stopped because of an unexpected error.", classes="bad")
            yield Static("")
            yield Static(self.message, markup=False, id="error-message")
            yield Static("")
            yield Static(f"Details (traceback) were written to:\n  {self.log_path}", markup=False)
            yield Static(
                "\nIf an apply was running, its own record is in var/log/xenwizard.log under\n"
                f"the root; `xenwizard history{self.root_option}` lists runs and\n"
                f"`xenwizard rollback{self.root_option} RUN_ID` undoes one.",
                markup=False,
            )
        with Horizontal(classes="buttons"):
            yield Button("Quit", id="quit", variant="error", compact=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_quit_now()

    def action_help(self) -> None:
        self.app.push_screen(
            HelpScreen(
                "Error",
                "Something xenwizard did not expect happened. The message above says what;\n"
                "the file named above holds the details to report. Press Enter to quit.",
            )
        )

    def action_quit_now(self) -> None:
        self.app.exit(1)


class TooSmallScreen(Screen[None]):
    """Covers the wizard while the terminal is smaller than its pages need: below that they
    would hide fields and buttons that still take keys. The app pops it once the terminal is
    big enough again; the page below keeps everything typed. Only quitting works here."""

    def __init__(self, need: tuple[int, int]):
        super().__init__()
        self.need = need

    def compose(self) -> ComposeResult:
        yield Static("", markup=False, id="too-small")
        yield Footer()

    def show_size(self, width: int, height: int) -> None:
        need_w, need_h = self.need
        self.query_one("#too-small", Static).update(
            f"The terminal is too small: {width}x{height}.\n"
            f"xenwizard needs at least {need_w}x{need_h}.\n\n"
            "Make the window bigger; the wizard goes on where it was.\n"
            "Ctrl-Q quits."
        )

    def on_screen_resume(self) -> None:
        """Back on top (a quit question answered): the terminal may have grown meanwhile."""
        width, height = self.app.size
        if width >= self.need[0] and height >= self.need[1]:
            self.dismiss(None)
        else:
            self.show_size(width, height)
