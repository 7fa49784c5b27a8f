"""Readers of the running system: the `LiveSystem` protocol and `KernelLive`, the real one
(/sys, psutil, /proc). Tests pass fakes."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from xenwizard.engine.runner import BASE_ENV
from xenwizard.target.rootfs import ENCODING, ERRORS

COMMAND_TIMEOUT = 10.0  # seconds; `xl info` answers at once when xenstored runs


@dataclass(frozen=True, slots=True)
class LinkState:
    name: str
    is_bridge: bool
    up: bool  # administratively up (IFF_UP)
    operstate: str = "unknown"  # the kernel's view: "up" once a port has carrier


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    name: str
    cmdline: tuple[str, ...]
    started: float  # epoch seconds
    same_netns: bool | None  # None: could not tell (not root)
    udp_ports: frozenset[int] | None  # None: could not tell (not root)


@dataclass(frozen=True, slots=True)
class CommandOutput:
    returncode: int  # -1: timed out (stderr says so)
    stdout: str
    stderr: str


class LiveSystem(Protocol):
    """Readers of the running system; `KernelLive` is the real one."""

    def link(self, name: str) -> LinkState | None: ...

    def addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        """IPv4 addresses by label: an address labelled BR:0 is under 'BR:0', not 'BR'."""
        ...

    def processes(self, name: str) -> list[ProcessInfo]: ...

    def read_text(self, path: str) -> str | None:
        """A file as the processes see it (host path), None when absent or unreadable."""
        ...

    def mtime(self, path: str) -> float | None: ...

    def run(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> CommandOutput | None:
        """Run a read-only query (`xl info`, `nft -j list ...`) on this machine; None when the
        program is not installed."""
        ...


class KernelLive:
    """The running kernel through /sys, psutil and /proc (labels come from getifaddrs)."""

    def link(self, name: str) -> LinkState | None:
        base = Path("/sys/class/net") / name
        if "/" in name or not base.exists():
            return None
        try:
            flags = int((base / "flags").read_text().strip(), 16)
        except (OSError, ValueError):
            flags = 0
        try:
            operstate = (base / "operstate").read_text().strip()
        except OSError:
            operstate = "unknown"
        return LinkState(
            name=name, is_bridge=(base / "bridge").is_dir(), up=bool(flags & 1), operstate=operstate
        )

    def addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        import socket

        import psutil

        found: dict[str, list[ipaddress.IPv4Interface]] = {}
        for label, addrs in psutil.net_if_addrs().items():
            for addr in addrs:
                if addr.family == socket.AF_INET and addr.netmask:
                    found.setdefault(label, []).append(
                        ipaddress.IPv4Interface(f"{addr.address}/{addr.netmask}")
                    )
        return found

    def processes(self, name: str) -> list[ProcessInfo]:
        import psutil

        own_ns = _netns_id("self")
        found = []
        for proc in psutil.process_iter(["pid", "name", "cmdline", "create_time"]):
            info = proc.info
            cmdline = tuple(info.get("cmdline") or ())
            if info.get("name") != name and not (cmdline and os.path.basename(cmdline[0]) == name):
                continue
            netns = _netns_id(str(info["pid"]))
            same = None if netns is None or own_ns is None else netns == own_ns
            try:
                ports: frozenset[int] | None = frozenset(
                    c.laddr.port for c in proc.net_connections(kind="udp4") if c.laddr
                )
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                ports = None
            found.append(
                ProcessInfo(
                    pid=info["pid"],
                    name=info.get("name") or name,
                    cmdline=cmdline,
                    started=info.get("create_time") or 0.0,
                    same_netns=same,
                    udp_ports=ports,
                )
            )
        return found

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, encoding=ENCODING, errors=ERRORS) as handle:
                return handle.read()
        except OSError:
            return None

    def mtime(self, path: str) -> float | None:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None

    def run(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> CommandOutput | None:
        try:
            done = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                errors="replace",
                stdin=subprocess.DEVNULL,
                env=dict(BASE_ENV),  # as the runner: nothing of the caller's (LD_*, ...)
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            return None
        except subprocess.TimeoutExpired:
            return CommandOutput(-1, "", f"timed out after {timeout:g}s")
        except OSError as exc:
            return CommandOutput(-1, "", str(exc))
        return CommandOutput(done.returncode, done.stdout, done.stderr)


def _netns_id(pid: str) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return st.st_dev, st.st_ino
