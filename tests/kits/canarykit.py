"""Pieces for the canary tests: a target root that looks like a booted Xen host (through its
/sys, /proc, /boot and /lib/modules), a fake `xl` behind the runner protocol, and a fake clock.

`FakeXl` plays the toolstack and the guest: `xl create CFG` reads the MAC from the config the
canary wrote and, as the `guest` behaviour says, puts a lease for it in dnsmasq's leases file
(and takes it out again when the guest "powers off", as udhcpc's release makes dnsmasq do).
Every command must come bounded by timeout(1); the fake records them without the prefix.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xenwizard.verify.hostcheck.initramfs import elf_interpreter

KERNEL = "6.1.0-99-amd64"
DNSMASQ_PID = 4242
DOMID = "7"  # what `xl domid` says of the canary while it runs
LEASES = "var/lib/misc/dnsmasq.leases"
BUSYBOX = Path("/bin/busybox")


def live_host(root: Path, *, bridge: str = "br0", dnsmasq_conf: str | None = None) -> Path:
    """Make `root` look like the booted Xen host: Xen runs, xl is there, BR is a bridge, a
    dnsmasq with interface=BR runs, the running kernel's image and xen-netfront.ko exist, and
    the static busybox (this machine's busybox-static) is /bin/busybox."""
    for rel, text in {
        "sys/hypervisor/type": "xen\n",
        "proc/sys/kernel/osrelease": f"{KERNEL}\n",
        f"proc/{DNSMASQ_PID}/comm": "dnsmasq\n",
        f"boot/vmlinuz-{KERNEL}": "kernel image\n",
        f"lib/modules/{KERNEL}/modules.dep": "kernel/drivers/net/xen-netfront.ko:\n",
        f"lib/modules/{KERNEL}/modules.builtin": "kernel/drivers/block/loop.ko\n",
        f"lib/modules/{KERNEL}/kernel/drivers/net/xen-netfront.ko": "\x7fELF netfront\n",
        "etc/dnsmasq.d/canary-test.conf": dnsmasq_conf
        or f"interface={bridge}\ndhcp-range=10.0.0.10,10.0.0.100,12h\n",
        LEASES: "",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    argv = [
        "/usr/sbin/dnsmasq",
        "-x",
        "/run/dnsmasq/dnsmasq.pid",
        "-7",
        "/etc/dnsmasq.d,.dpkg-dist",
    ]
    (root / f"proc/{DNSMASQ_PID}/cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (root / f"sys/class/net/{bridge}/bridge").mkdir(parents=True, exist_ok=True)
    xl = root / "usr/sbin/xl"
    xl.parent.mkdir(parents=True, exist_ok=True)
    xl.write_text("#!/bin/sh\n")
    xl.chmod(0o755)
    (root / "run").mkdir(exist_ok=True)
    busybox = root / "bin/busybox"
    if busybox.is_symlink() or busybox.exists():
        busybox.unlink()
    busybox.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUSYBOX, busybox)
    assert elf_interpreter(busybox.read_bytes()) is None, "busybox-static is not installed here"
    return root


def stop_dnsmasq(root: Path) -> None:
    shutil.rmtree(root / f"proc/{DNSMASQ_PID}")


@dataclass
class FakeClock:
    """Time moves only when the canary sleeps, or when a fake command takes time."""

    t: float = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Guest:
    """How the fake guest behaves."""

    lease_ip: str | None = "10.0.0.57"  # None: it never gets one
    lease_after: float = 20.0  # seconds from `xl create` returning to the lease in the file
    up_for: float = 35.0  # seconds from create until it powers off (on_poweroff destroy)
    releases: bool = True  # its udhcpc -R release reaches dnsmasq before it powers off
    create_hangs: int = 0  # how many `xl create` calls never return (timeout kills them)
    create_fails: str | None = None  # xl create's error output (exit 3)
    destroy_fails: bool = False


@dataclass
class FakeXl:
    root: Path
    clock: FakeClock
    guest: Guest = field(default_factory=Guest)
    calls: list[list[str]] = field(default_factory=list)
    bounds: list[int] = field(default_factory=list)
    mac: str | None = None
    name: str | None = None
    config_text: str = ""
    created_at: float | None = None
    destroyed_at: float | None = None  # when `xl destroy` found it running
    on_create: Callable[[FakeXl], None] | None = None
    raise_on: str | None = None  # an xl subcommand that raises RuntimeError once
    domid_answers: list[int] = field(
        default_factory=list
    )  # the next `xl domid` exits, not the truth

    def run(
        self,
        argv: Sequence[str],
        on_line: Callable[[str], None],
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> int:
        argv = list(argv)
        assert argv[:3] == ["timeout", "-k", "5"], f"unbounded command: {argv}"
        self.bounds.append(int(argv[3]))
        command = argv[4:]
        assert command[0] == "xl", command
        self.calls.append(command)
        verb = command[1]
        if self.raise_on == verb:
            self.raise_on = None
            raise RuntimeError(f"the runner broke during xl {verb}")
        self._advance()
        if verb == "create":
            return self._create(Path(command[2]), on_line)
        if verb == "domid" and self.created_at is not None and self.domid_answers:
            return self.domid_answers.pop(0)  # e.g. -11: xl killed by SIGSEGV on a loaded host
        if verb == "domid":
            if self.alive:
                on_line(DOMID)
            return 0 if self.alive else 1
        if verb == "destroy":
            assert command[2] == DOMID, f"destroyed by name, not by its id: {command}"
            if self.guest.destroy_fails:
                on_line("libxl: error: destroy failed")
                return 1
            was = self.alive
            if was:
                self.destroyed_at = self.clock.now()
            return 0 if was else 1
        raise AssertionError(f"unexpected xl command {command}")

    @property
    def alive(self) -> bool:
        if self.created_at is None or self.destroyed_at is not None:
            return False
        return self.clock.now() < self.created_at + self.guest.up_for

    def _create(self, config: Path, on_line: Callable[[str], None]) -> int:
        self.config_text = config.read_text()
        self.mac = re.search(r"mac=([0-9a-f:]+),", self.config_text).group(1)  # type: ignore[union-attr]
        self.name = re.search(r'name = "([^"]+)"', self.config_text).group(1)  # type: ignore[union-attr]
        if self.on_create:
            self.on_create(self)
        if self.guest.create_fails:
            on_line(self.guest.create_fails)
            return 3
        if self.guest.create_hangs:
            self.guest.create_hangs -= 1
            self.clock.t += int(self.bounds[-1]) + 5
            return 124
        self.created_at = self.clock.now()
        return 0

    def _advance(self) -> None:
        """The guest's lease appears, and goes again with its release, as time passes."""
        if self.created_at is None or self.guest.lease_ip is None:
            return
        elapsed = self.clock.now() - self.created_at
        powered_off = self.destroyed_at is None and elapsed >= self.guest.up_for
        if powered_off and self.guest.releases:  # udhcpc -R released it before the poweroff
            self._set_lease(False)
        elif self.alive and elapsed >= self.guest.lease_after:
            self._set_lease(True)

    def _set_lease(self, present: bool) -> None:
        path = self.root / LEASES
        other = "1767225600 00:16:3e:11:22:33 10.0.0.11 other-guest *\n"
        mine = f"1767225600 {self.mac} {self.guest.lease_ip} * 01:{self.mac}\n"
        path.write_text(other + (mine if present else ""))

    def verbs(self) -> list[str]:
        return [c[1] for c in self.calls]


class TickingLeases:
    """A clock whose sleep also lets the fake guest's lease appear or go (file polls alone)."""

    def __init__(self, xl: FakeXl):
        self.xl = xl

    def now(self) -> float:
        return self.xl.clock.now()

    def sleep(self, seconds: float) -> None:
        self.xl.clock.sleep(seconds)
        self.xl._advance()
