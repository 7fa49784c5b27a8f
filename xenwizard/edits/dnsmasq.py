"""dnsmasq: DHCP for the guests on the Xen bridge (seed step 4).

Two ways to give dnsmasq the settings:
- `render_dropin`: xenwizard's own file /etc/dnsmasq.d/xenwizard.conf. Debian and Ubuntu's
  /etc/default/dnsmasq has `CONFIG_DIR=/etc/dnsmasq.d,...` (passed as `-7`), so the drop-in is
  read; `reads_conf_dir` tells whether that is the case.
- `set_managed_block`: the same settings as a `# BEGIN xenwizard` block in /etc/dnsmasq.conf.

Either way, active lines in /etc/dnsmasq.conf that would fight the settings are handled by
`disable_conflicts` (set_managed_block does it too): another dhcp-range in the same subnet and
`except-interface=` / `no-dhcp-interface=` naming the bridge are commented out; other
`interface=` / `dhcp-range=` lines only add to what dnsmasq does and are kept, with a note.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import shlex

from xenwizard.answers.model import XEN_MAC_PREFIX, WizardConfig
from xenwizard.edits import EditResult, guestipv6
from xenwizard.edits.text import (
    Doc,
    Line,
    append_lines,
    block_lines,
    comment_out,
    find_block,
    same_bodies,
    where,
)

WHAT = "dnsmasq.conf"
DROPIN_DIR = "/etc/dnsmasq.d"
DROPIN_NAME = "xenwizard.conf"
DROPIN_PATH = f"{DROPIN_DIR.lstrip('/')}/{DROPIN_NAME}"  # root-relative: etc/dnsmasq.d/...
CONF_PATH = "etc/dnsmasq.conf"
DEFAULT_PATH = "etc/default/dnsmasq"  # CONFIG_DIR: whether dnsmasq reads etc/dnsmasq.d
_ASSIGNMENT = re.compile(r"(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)")


def _settings(config: WizardConfig, alias_note: bool = True) -> list[str]:
    """The settings with a short comment each: what dnsmasq needs for the guests.

    `alias_note`: the host's address on the bridge comes from the seed's alias BR:0 (the
    xend-era recipe); on current releases it is an address of the bridge itself."""
    via = f" (address from {config.alias})" if alias_note else ""
    lines = [
        f"# Answer DHCP on the Xen bridge, where the guests are{via}.",
        f"interface={config.bridge}",
        f"# Guests get {config.dhcp_start} to {config.dhcp_end} in {config.network}, "
        f"leased for {config.lease}.",
        f"dhcp-range={config.dhcp_start},{config.dhcp_end},{config.lease}",
    ]
    if config.dhcp_xen_only:
        lines += [
            f"# Xen gives guests MAC addresses starting {XEN_MAC_PREFIX}: tag them 'xen' ...",
            f"dhcp-mac=set:xen,{XEN_MAC_PREFIX}:*:*:*",
            *(
                ["# ... and ignore everyone else on the bridge."]
                if config.isolated
                else [
                    "# ... and ignore everyone else: the bridge also holds the LAN's NIC, and its",
                    "# machines must not get leases from here.",
                ]
            ),
            "dhcp-ignore=tag:!xen",
        ]
    return lines + guestipv6.dnsmasq_lines(config)


def render_dropin(config: WizardConfig, alias_note: bool = True, extra: str = "") -> str:
    """The whole text of /etc/dnsmasq.d/xenwizard.conf; `extra`: a release's own lines."""
    header = [
        f"# DHCP for Xen guests on {config.bridge}, written by xenwizard.",
        "# xenwizard rewrites this file when it runs again; `xenwizard rollback` removes it.",
        "",
    ]
    return "\n".join(header + _settings(config, alias_note)) + "\n" + extra


# --- competing lines in dnsmasq.conf ------------------------------------------------------------


def _option(line: Line) -> tuple[str, str] | None:
    """(name, value) of an active `name=value` or bare `name` line, else None."""
    body = line.body.strip()
    if not body or body.startswith("#"):
        return None
    name, _, value = body.partition("=")
    return name.strip(), value.strip()


def _range_addresses(value: str) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses of a dhcp-range value, in order (tags and modes skipped)."""
    found = []
    for field in value.split(","):
        try:
            found.append(ipaddress.IPv4Address(field.strip()))
        except ValueError:
            continue
    return found


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _conflicts(lines: list[Line], config: WizardConfig, skip: range) -> tuple[set[int], list[str]]:
    """Indices of active lines to comment out, and notes on every competing line."""
    disable: set[int] = set()
    notes: list[str] = []
    bridge, net = config.bridge, config.network
    for i, line in enumerate(lines):
        if i in skip:
            continue
        option = _option(line)
        if option is None:
            continue
        name, value = option
        shown = line.body.strip()
        if name == "dhcp-range":
            addresses = _range_addresses(value)
            if any(ip in net for ip in addresses[:2]):
                disable.add(i)
                notes.append(
                    f"{where(line)} `{shown}` commented out: a second range in {net} would "
                    "hand out addresses outside xenwizard's range"
                )
            elif addresses:
                notes.append(f"{where(line)} `{shown}`: DHCP for another subnet; left as is")
        elif name == "interface":
            others = [n for n in _names(value) if n != bridge]
            if others:
                notes.append(
                    f"{where(line)} `{shown}`: dnsmasq also listens on {', '.join(others)}; "
                    "left as is"
                )
        elif name in ("except-interface", "no-dhcp-interface") and bridge in _names(value):
            disable.add(i)
            notes.append(f"{where(line)} `{shown}` commented out: it would stop DHCP on {bridge}")
    return disable, notes


def disable_conflicts(text: str, config: WizardConfig) -> EditResult:
    """dnsmasq.conf with lines that fight xenwizard's settings commented out (the drop-in case).

    xenwizard's own block, if the file has one, is left to `set_managed_block`.
    """
    doc = Doc.parse(text)
    block = find_block(doc.lines, WHAT)
    skip = range(block.begin, block.end + 1) if block else range(0)
    disable, notes = _conflicts(doc.lines, config, skip)
    lines = [comment_out(line) if i in disable else line for i, line in enumerate(doc.lines)]
    out = doc.render(lines)
    if out == text and not notes:
        notes.append("no competing DHCP settings")
    return EditResult(out, tuple(notes))


def set_managed_block(
    text: str, config: WizardConfig, alias_note: bool = True, extra: str = ""
) -> EditResult:
    """xenwizard's settings as a managed block in dnsmasq.conf (replacing an older block);
    `extra`: a release's own lines, as in the drop-in (e.g. bind-dynamic next to resolved)."""
    doc = Doc.parse(text)
    block = find_block(doc.lines, WHAT)
    skip = range(block.begin, block.end + 1) if block else range(0)
    disable, notes = _conflicts(doc.lines, config, skip)
    lines = [comment_out(line) if i in disable else line for i, line in enumerate(doc.lines)]
    new_block = block_lines(doc, _settings(config, alias_note) + extra.splitlines())
    if block is None:
        lines = append_lines(doc, lines, new_block)
        notes.append(
            f"added xenwizard's block at the end: interface={config.bridge}, "
            f"dhcp-range={config.dhcp_start},{config.dhcp_end},{config.lease}"
        )
    else:
        old = lines[block.begin : block.end + 1]
        if not same_bodies(old, new_block):
            notes.append(f"updated xenwizard's block ({where(doc.lines[block.begin])})")
        lines = lines[: block.begin] + new_block + lines[block.end + 1 :]
    out = doc.render(lines)
    if out == text:
        notes.insert(0, f"already set: DHCP on {config.bridge}")
    return EditResult(out, tuple(notes))


# --- does dnsmasq read /etc/dnsmasq.d? ----------------------------------------------------------


def _dir_reads_dropin(spec: str) -> bool:
    """Whether `DIR[,ext...]` (conf-dir / -7 syntax) names /etc/dnsmasq.d and reads our file."""
    parts = [p.strip() for p in spec.split(",")]
    if not parts or parts[0].rstrip("/") != DROPIN_DIR:
        return False
    only = [p[1:] for p in parts[1:] if p.startswith("*")]
    skipped = [p for p in parts[1:] if p and not p.startswith("*")]
    if only and not any(fnmatch.fnmatch(DROPIN_NAME, "*" + ext) for ext in only):
        return False
    return not any(DROPIN_NAME.endswith(ext) for ext in skipped)


def _shell_assignments(text: str) -> dict[str, str]:
    """Active `NAME=value` lines of a /etc/default file (the last one wins, as in sh)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        match = _ASSIGNMENT.match(raw.strip())
        if not match:
            continue
        name, value = match["name"], match["value"]
        try:
            words = shlex.split(value, comments=True)
        except ValueError:
            continue
        values[name] = " ".join(words)
    return values


def _opts_read_dropin(opts: str) -> bool:
    """Whether DNSMASQ_OPTS has `--conf-dir=/etc/dnsmasq.d...` or `-7 /etc/dnsmasq.d...`."""
    try:
        words = shlex.split(opts)
    except ValueError:
        return False
    for i, word in enumerate(words):
        if word.startswith("--conf-dir="):
            if _dir_reads_dropin(word.partition("=")[2]):
                return True
        elif word in ("-7", "--conf-dir") and i + 1 < len(words):
            if _dir_reads_dropin(words[i + 1]):
                return True
        elif word.startswith("-7") and len(word) > 2 and _dir_reads_dropin(word[2:]):
            return True
    return False


def reads_conf_dir(default_dnsmasq: str | None, dnsmasq_conf: str | None) -> bool:
    """True when dnsmasq will read /etc/dnsmasq.d/xenwizard.conf.

    That is the case when /etc/default/dnsmasq has an active CONFIG_DIR (or DNSMASQ_OPTS
    conf-dir) naming /etc/dnsmasq.d, or dnsmasq.conf has an active `conf-dir=/etc/dnsmasq.d...`,
    and the directory's extension filters let `xenwizard.conf` through. None means the file is
    missing.
    """
    if default_dnsmasq is not None:
        values = _shell_assignments(default_dnsmasq)
        if _dir_reads_dropin(values.get("CONFIG_DIR", "")):
            return True
        if _opts_read_dropin(values.get("DNSMASQ_OPTS", "")):
            return True
    if dnsmasq_conf is not None:
        for line in Doc.parse(dnsmasq_conf).lines:
            option = _option(line)
            if option and option[0] == "conf-dir" and _dir_reads_dropin(option[1]):
                return True
    return False
