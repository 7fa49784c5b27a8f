"""What the pages tell the app: messages posted upward, so that a page never calls the app (and
never imports it); the app handles each in `on_<name>`.

The apply's worker thread is the one exception: it must report its end even when the UI is gone
(a dropped terminal), so it writes to the `ApplyHost` the app is, not through the message queue.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from textual.message import Message

if TYPE_CHECKING:
    from xenwizard.planning.plan import Plan


class FirstPageReady(Message):
    """The first page is mounted and takes input after this refresh: the app signals it (the
    start-up benchmark's file), starts the live probe and the hang-up watchdog, then runs
    `after` (what the page put off until then: the welcome page's footer)."""

    def __init__(self, after: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__()
        self.after = after


class PageLeaving(Message):
    """A page dismissed itself: keys typed from now on wait for the next page."""

    def __init__(self, page: object) -> None:
        super().__init__()
        self.page = page


class ApplyStarted(Message):
    """An apply or rollback began: quitting is refused until `ApplyStopped`."""


class ApplyStopped(Message):
    """The apply's worker ended (its last events may still be on their way)."""


class SavePlanRequested(Message):
    """Save this plan as text: the app asks where."""

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan


class QuitRequested(Message):
    """The operator asked to quit (Esc on the first page): as Ctrl-Q."""


class ApplyHost(Protocol):
    """What the apply's worker thread reports to, with or without a UI."""

    apply_idle: threading.Event  # cleared while an apply runs; `run_app` waits for it
    apply_outcome: str | None  # the engine's outcome of the last apply or rollback

    def record_error(self, details: str) -> str: ...
