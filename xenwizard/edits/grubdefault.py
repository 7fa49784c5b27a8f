"""Xen's command line in /etc/default/grub itself, for GRUB 1.99 (Ubuntu 12.04 "Precise").

GRUB 1.99's grub-mkconfig sources /etc/default/grub and nothing else: /etc/default/grub.d
came with Debian's default_grub_d.patch in grub2 2.00-10 (January 2013, LP #901600), after
Precise's 1.99-21ubuntu3. Its 20_linux_xen gives Xen "${GRUB_CMDLINE_XEN}
${GRUB_CMDLINE_XEN_DEFAULT}" on the normal entries (sources: GRUB's tag 1.99,
util/grub-mkconfig.in and util/grub.d/20_linux_xen.in; Debian's grub2 git, tag 1.99-21 and
commit 257ad9f "Read /etc/default/grub.d/*.cfg after /etc/default/grub").

So xenwizard keeps a marked block at the end of the file that appends Xen's options to
GRUB_CMDLINE_XEN_DEFAULT, as the current releases' drop-in does: last, so no assignment of the
operator's comes after it; update-grub runs after it is written and after a rollback.
"""

from __future__ import annotations

import re

from xenwizard.edits import EditError, EditResult
from xenwizard.edits.text import (
    Doc,
    Line,
    append_lines,
    block_lines,
    find_block,
    same_bodies,
    where,
)

PATH = "etc/default/grub"
WHAT = "/etc/default/grub"
_OPTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,:=+-]*\Z")


def block_bodies(xen_options: tuple[str, ...]) -> list[str]:
    """The block's lines: why it is here, and Xen's options appended to the default entry's."""
    for option in xen_options:
        if not _OPTION.match(option):
            raise EditError(f"Xen option {option!r} is not a plain name[=value] word")
    joined = " ".join(xen_options)
    return [
        "# Xen's boot options for this host (GRUB 1.99 reads no /etc/default/grub.d);",
        "# kept last so nothing above overrides them. Run update-grub after editing.",
        f'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT {joined}"',
    ]


def set_xen_options(text: str, xen_options: tuple[str, ...]) -> EditResult:
    """The file with xenwizard's block last, holding `xen_options`; an earlier block of
    xenwizard's is replaced (moved to the end when lines came after it)."""
    doc = Doc.parse(text)
    new = block_lines(doc, block_bodies(xen_options))
    block = find_block(doc.lines, WHAT)
    if block is None:
        rows = append_lines(doc, doc.lines, new)
        note = f"Xen's command line gets {' '.join(xen_options)} (a block at the end)"
    else:
        old = doc.lines[block.begin : block.end + 1]
        rest = doc.lines[: block.begin] + doc.lines[block.end + 1 :]
        last = block.end == len(doc.lines) - 1
        rows = rest + new if last else append_lines(doc, _trim_blank_end(rest), new)
        if same_bodies(old, new) and last:
            return EditResult(text, ("already as wanted",))
        note = f"xenwizard's block ({where(old[0])}) now gives Xen {' '.join(xen_options)}"
        if not last:
            note += "; moved to the end, after the lines that followed it"
    doc.final_newline = True
    return EditResult(doc.render(rows), (f"{note}; update-grub runs after it is written",))


def _trim_blank_end(lines: list[Line]) -> list[Line]:
    while lines and not lines[-1].body.strip():
        lines = lines[:-1]
    return lines
