"""The Linux console (TERM=linux): draw only glyphs its font has.

Without `setfont` the console shows the kernel's built-in font, whose 256 glyphs are IBM code
page 437 (the kernel maps Unicode onto them with drivers/tty/vt/cp437.uni). CP437 has the
single and double box lines, the full, half and shaded blocks, but none of the eighth blocks
(▔▁▊▎), rounded corners, heavy lines or the half-lines Textual draws fields, the log's frame,
dialogs, scroll bars and the progress bar with. On the console the app gets the class
`-console` (app.tcss swaps those borders for CP437's) and this module swaps the glyphs Textual
keeps in class attributes.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.renderables.bar import Bar
from textual.scrollbar import ScrollBarRender

CONSOLE_TERMS = ("linux",)


def use_console_glyphs() -> Callable[[], None]:
    """Scroll bars and progress bars from CP437's glyphs: the thumb's ends by colour alone
    (no eighth blocks), the bar as full and half blocks. Textual keeps these per class, so
    the app puts them back (the returned function) when it ends."""
    saved = (
        ScrollBarRender.VERTICAL_BARS,
        ScrollBarRender.HORIZONTAL_BARS,
        Bar.BAR,
        Bar.HALF_BAR_LEFT,
        Bar.HALF_BAR_RIGHT,
    )
    ScrollBarRender.VERTICAL_BARS = [" "] * 8
    ScrollBarRender.HORIZONTAL_BARS = [" "] * 8
    Bar.BAR = "█"
    Bar.HALF_BAR_LEFT = "▐"
    Bar.HALF_BAR_RIGHT = "▌"

    def restore() -> None:
        (
            ScrollBarRender.VERTICAL_BARS,
            ScrollBarRender.HORIZONTAL_BARS,
            Bar.BAR,
            Bar.HALF_BAR_LEFT,
            Bar.HALF_BAR_RIGHT,
        ) = saved

    return restore
