"""dnsmasq's configuration as a process sees it: the files its command line (and those files)
select, and the options they give."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_DNSMASQ_CONF = "/etc/dnsmasq.conf"  # dnsmasq's compiled-in default without -C


@dataclass(frozen=True, slots=True)
class DnsmasqSources:
    """The files a dnsmasq process reads and the options its command line gives."""

    files: tuple[str, ...]
    options: tuple[tuple[str, str], ...]  # (name, value) from the command line and the files


_SHORT = {
    "-C": "conf-file",
    "-7": "conf-dir",
    "-i": "interface",
    "-I": "except-interface",
    "-l": "dhcp-leasefile",
}
_WITH_VALUE = ("conf-file", "conf-dir", "interface", "except-interface", "dhcp-leasefile")


def _cmdline_options(cmdline: Sequence[str]) -> list[tuple[str, str]]:
    """The options we care about from a dnsmasq command line (long and short forms)."""
    opts: list[tuple[str, str]] = []
    args = list(cmdline[1:])
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            if not sep and name in _WITH_VALUE:
                value = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            opts.append((name, value))
        elif arg[:2] in _SHORT:
            value = arg[2:]
            if not value and i + 1 < len(args):
                value = args[i + 1]
                i += 1
            opts.append((_SHORT[arg[:2]], value))
        i += 1
    return opts


def _file_options(text: str) -> list[tuple[str, str]]:
    opts = []
    for line in text.splitlines():
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        name, _, value = body.partition("=")
        opts.append((name.strip(), value.strip()))
    return opts


def _conf_dir_files(spec: str, listdir: Callable[[str], list[str]]) -> list[str]:
    """Files a `conf-dir=DIR[,.ext|,*.pattern...]` reads, as dnsmasq selects them."""
    directory, *filters = spec.split(",")
    include = [f[1:] for f in filters if f.startswith("*")]
    exclude = [f for f in filters if f and not f.startswith("*")]
    chosen = []
    for name in sorted(listdir(directory)):
        if name.startswith(".") or name.endswith("~") or (name[:1] == "#" and name[-1:] == "#"):
            continue
        if include and not any(name.endswith(suffix) for suffix in include):
            continue
        if any(name.endswith(suffix) for suffix in exclude):
            continue
        chosen.append(os.path.join(directory, name))
    return chosen


def _listdir(path: str) -> list[str]:
    try:
        return [n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n))]
    except OSError:
        return []


def dnsmasq_sources(
    cmdline: Sequence[str],
    read_text: Callable[[str], str | None],
    listdir: Callable[[str], list[str]] = _listdir,
) -> DnsmasqSources:
    """Follow -C/--conf-file and -7/--conf-dir (and the same lines inside files) a few levels."""
    cmd_opts = _cmdline_options(cmdline)
    files: list[str] = []
    options: list[tuple[str, str]] = list(cmd_opts)
    pending: list[tuple[str, str]] = [o for o in cmd_opts if o[0] in ("conf-file", "conf-dir")]
    if not any(name == "conf-file" for name, _ in cmd_opts):
        pending.insert(0, ("conf-file", DEFAULT_DNSMASQ_CONF))
    for _depth in range(4):
        if not pending:
            break
        found_now: list[tuple[str, str]] = []
        for kind, value in pending:
            paths = [value] if kind == "conf-file" else _conf_dir_files(value, listdir)
            for path in paths:
                if path in files or path in ("-", "/dev/null"):
                    continue
                files.append(path)
                text = read_text(path)
                if text is None:
                    continue
                opts = _file_options(text)
                options.extend(opts)
                found_now += [o for o in opts if o[0] in ("conf-file", "conf-dir")]
        pending = found_now
    return DnsmasqSources(tuple(files), tuple(options))


def same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
