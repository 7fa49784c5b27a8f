"""Keys typed ahead: handed on one at a time, each once the previous one has had all its effects.

Textual forwards every key to the focused widget's queue as soon as the app reads it. In a
burst that breaks two ways: a widget inserts printable characters at once while keys bound to
actions (Backspace, End, ...) take effect only after bubbling up to the screen, so characters
overtake them; and keys typed after Enter sit in the old page's queue ahead of its own
Submitted message, so they edit (or Tab around) the page that is about to go, and what comes
after the page change lands before the next page has focus. Typing slowly never shows either;
holding each event until the screen is idle makes a burst behave exactly like slow typing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from textual import events

from xenwizard.tui.messages import PageLeaving
from xenwizard.tui.textual_private import ExceptionHookApp, queue_empty

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from textual.message_pump import MessagePump

# Keys typed ahead wait at most this long for a page change to finish (a safety net: a page
# that never comes must not swallow the keyboard). Keys a page holds (the preview building its
# plan) wait as long as it holds them: see `_keys_held` for the order.
TYPE_AHEAD_WAIT = 5.0


class TypeAheadApp(ExceptionHookApp):
    """An App that hands typed keys and pastes on as slow typing would (see above). The page
    flow runs in the worker group "flow": while it runs, a page change is awaited."""

    def __init__(self) -> None:
        super().__init__()
        # Keys and pastes in arrival order, the task that hands them on one at a time, the
        # events it posted, and the page being left.
        self._typed: deque[events.Key | events.Paste] = deque()
        # Keys a page holds until it can take them (`_keys_held`), and that page.
        self._held: deque[events.Key | events.Paste] = deque()
        self._holding: tuple[object, Callable[[events.Key | events.Paste], bool]] | None = None
        self._typing: asyncio.Task[None] | None = None
        self._released: dict[int, events.Key | events.Paste] = {}
        self._leaving: object = None

    async def on_event(self, event: events.Event) -> None:
        """Hand keys and pastes on one at a time, each once the previous one has had all its
        effects (a page change included); other events as Textual does."""
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
            self.unexpected_error(exc)

    def on_page_leaving(self, message: PageLeaving) -> None:
        """A page dismissed itself: typed-ahead input waits for the next page."""
        self._leaving = message.page

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
            if all(queue_empty(pump) for pump in pumps) and not self._released:
                # Empty queues, but a handler may still be running: one more round decides.
                ran = await self._round(pumps, deadline - loop.time())
                if ran and all(queue_empty(pump) for pump in pumps):
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
