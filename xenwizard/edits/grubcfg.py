"""Reading GRUB's generated menu (boot/grub/grub.cfg) and the default update-grub is given.

GRUB matches `default`, `saved_entry` and `next_entry` against the titles of the top-level
`menuentry` and `submenu` lines (or a number: their position), so the titles are read from
the generated file, which is exactly what GRUB will match.
"""

from __future__ import annotations

import re
import shlex

GRUB_CFG = "boot/grub/grub.cfg"
DEFAULT_GRUB = "etc/default/grub"
XEN_SUFFIX = ", with Xen hypervisor"  # 20_linux_xen's "%s, with Xen hypervisor"
_ENTRY = re.compile(r"""^(menuentry|submenu)\s+(?:'((?:[^']|'\\'')*)'|"([^"]*)")""")


def top_entries(text: str | None) -> list[str]:
    """The titles of the top-level menu entries and submenus, in order (a submenu's own
    entries are indented by update-grub and left out)."""
    titles = []
    for line in (text or "").splitlines():
        match = _ENTRY.match(line)
        if match:
            title = match[2] if match[2] is not None else match[3]
            titles.append(title.replace("'\\''", "'"))
    return titles


def xen_entry(text: str | None, expected: str) -> str | None:
    """The Xen entry GRUB will boot: the top-level title `expected`, else the first top-level
    entry ending in ", with Xen hypervisor"; None when the menu has none."""
    titles = [t for t in top_entries(text) if not t.startswith("Advanced options")]
    if expected in titles:
        return expected
    return next((t for t in titles if t.endswith(XEN_SUFFIX)), None)


def distributor(default_grub: str | None, os_id: str) -> str:
    """GRUB_DISTRIBUTOR as update-grub will see it. Debian and Ubuntu write it as a command
    (`lsb_release -i -s 2> /dev/null || echo Debian`), which prints the release's name: that
    is taken from os-release's ID instead of running anything."""
    raw = _raw_value(default_grub, "GRUB_DISTRIBUTOR")
    if raw is not None and not any(c in raw for c in "`$"):
        value = _shell_word(raw)
        if value:
            return value
    return os_id.capitalize() or "Debian"


def grub_default(default_grub: str | None) -> str:
    """GRUB_DEFAULT of /etc/default/grub ("0" when not set, as update-grub assumes)."""
    raw = _raw_value(default_grub, "GRUB_DEFAULT")
    return (_shell_word(raw) if raw is not None else "") or "0"


def _raw_value(text: str | None, name: str) -> str | None:
    found = None
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith(f"{name}="):
            found = stripped.split("=", 1)[1]
    return found


def resolve(default: str, titles: list[str]) -> str:
    """A GRUB_DEFAULT (a number or a title) as the title it names; a number outside the menu,
    or a menu that could not be read, stays the number."""
    if default.isdigit() and int(default) < len(titles):
        return titles[int(default)]
    return default


def _shell_word(raw: str) -> str:
    """A shell assignment's value without its quotes (the first word; "" when unparsable)."""
    try:
        words = shlex.split(raw, comments=True)
    except ValueError:
        return raw.strip("\"'")
    return words[0] if words else ""
