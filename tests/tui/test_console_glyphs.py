"""Issue 26 item 8: under TERM=linux every glyph on screen is one the console's font has.

The font: without `setfont` the Linux console shows the kernel's built-in font, 256 glyphs in
IBM code page 437 order, reached from Unicode through the kernel's table
drivers/tty/vt/cp437.uni (torvalds/linux). The repertoire is taken here from Python's own
`cp437` codec (Unicode's mapping of the code page), not from the product: 0x20-0xFF, the range
the kernel's table maps the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.renderables.bar import Bar
from textual.scrollbar import ScrollBarRender

from tests.kits import gallery
from tests.kits.helpers import FIXTURES
from tests.tui.test_app_wizard import screen_text, sync

pytestmark = pytest.mark.usefixtures("pinned_run_id")

CP437 = set(bytes(range(0x20, 0x100)).decode("cp437")) | {"\n"}


def glyph_tables() -> tuple[object, ...]:
    return (
        list(ScrollBarRender.VERTICAL_BARS),
        list(ScrollBarRender.HORIZONTAL_BARS),
        Bar.BAR,
        Bar.HALF_BAR_LEFT,
        Bar.HALF_BAR_RIGHT,
    )


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TERM=linux; Textual's glyph tables (class-wide) must be as before once the app ends,
    or every later app of the process would draw with the console's glyphs."""
    monkeypatch.setenv("TERM", "linux")
    before = glyph_tables()
    yield
    assert glyph_tables() == before


def test_the_repertoire_is_the_code_page() -> None:
    """A sanity check of the codec: CP437 has the box lines and blocks, no eighths."""
    assert {"─", "│", "┌", "═", "║", "█", "▌", "▐", "▀", "▄", "░"} <= CP437
    assert not {"▔", "▁", "▊", "▎", "╭", "━", "╸"} & CP437


@sync
async def test_every_page_draws_with_the_consoles_glyphs(console: None, tmp_path: Path) -> None:
    """The walk: welcome, an invalid bridge name, help, the other pages, the preview with a
    long diff, the apply and its log, the done page (failed before: ▔▁▊▎ on every field)."""
    item = gallery.Scenario("console", "TERM=linux")
    app, runner = gallery.build_app(item, tmp_path, FIXTURES / "precise-root")
    seen: dict[str, str] = {}
    walk = (
        ("welcome", ()),
        ("bridge", ("enter",)),
        ("bridge-invalid", ("backspace", "backspace", "backspace", *"lo")),
        ("help", ("f1",)),
        ("back", ("escape", "ctrl+u", *"br0", "enter")),
        ("dhcp", ("enter", "enter")),
        ("toolstack", ("enter", "enter", "space")),
        ("preview", ("enter", "down", "down", "down")),
        ("apply", ("a", "y", "@apply")),
        ("done", ("enter",)),
    )
    with gallery.pinned():
        async with app.run_test(size=gallery.SIZE) as pilot:
            for name, keys in walk:
                await gallery.drive(pilot, keys, runner)
                seen[name] = screen_text(app)
    assert "Done" in seen["done"], seen["done"]
    foreign = {name: sorted(set(text) - CP437) for name, text in seen.items()}
    assert not any(foreign.values()), foreign
