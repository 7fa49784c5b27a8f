"""xenwizard's GRUB drop-in (etc/default/grub.d/xenwizard.cfg): Xen's command line, and the
saved default that makes the boot guard's one-shot first boot possible.

update-grub sources /etc/default/grub, then /etc/default/grub.d/*.cfg in glob order, so this
file comes after the Xen package's xen.cfg (which sets GRUB_DEFAULT to the Xen entry unless
XEN_OVERRIDE_GRUB_DEFAULT=0). With the boot guard it sets GRUB_DEFAULT=saved: GRUB then boots
grubenv's saved_entry (the previous entry, until `xenwizard confirm` makes it Xen's), and the
one-shot next_entry once. Options are checked here, never quoted: each must be a plain
`name[=value]` word.
"""

from __future__ import annotations

import re

from xenwizard.edits import EditError, EditResult

DROPIN = "etc/default/grub.d/xenwizard.cfg"
XEN_CFG = "etc/default/grub.d/xen.cfg"
MARKER = "# Written by xenwizard:"
_OPTION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,:=+-]*\Z")


def render_dropin(xen_options: tuple[str, ...], saved_default: bool) -> str:
    """The drop-in's text: Xen's options appended to GRUB_CMDLINE_XEN_DEFAULT, and
    GRUB_DEFAULT=saved when the boot guard is on."""
    for option in xen_options:
        if not _OPTION.match(option):
            raise EditError(f"Xen option {option!r} is not a plain name[=value] word")
    lines = [
        f"{MARKER} Xen's boot options for this host (`xenwizard rollback` removes this file).",
        "# Sourced by update-grub after xen.cfg; run update-grub after editing it.",
    ]
    if xen_options:
        joined = " ".join(xen_options)
        lines.append(f'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT {joined}"')
    if saved_default:
        lines += [
            "# The boot guard: boot grubenv's saved_entry (the previous entry until",
            "# `xenwizard confirm` makes it the Xen entry); the first boot into Xen is one-shot.",
            "GRUB_DEFAULT=saved",
        ]
    return "\n".join(lines) + "\n"


def set_dropin(text: str | None, xen_options: tuple[str, ...], saved_default: bool) -> EditResult:
    """The drop-in as wanted; a file of that name xenwizard did not write is refused."""
    if text is not None and text and not text.startswith(MARKER):
        raise EditError(f"exists and was not written by xenwizard; expected {MARKER!r} first")
    after = render_dropin(xen_options, saved_default)
    what = []
    if xen_options:
        what.append(f"Xen's command line gets {' '.join(xen_options)}")
    if saved_default:
        what.append("GRUB_DEFAULT=saved (the boot guard's one-shot first boot)")
    note = "; ".join(what) + "; update-grub runs after it is written, and after a rollback"
    return EditResult(after, ("already as wanted",) if text == after else (note,))
