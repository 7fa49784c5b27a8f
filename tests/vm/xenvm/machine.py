"""One QEMU VM of the real-Xen tests: started, reached over SSH, powered off, always killed.

Flags from ../shared/reference/xen-vm.md: software emulation (TCG; KVM does not work on these
machines), `-cpu max,-smap` (plain `max` crashes dom0 under Xen) without XSAVE and AVX (see
CPU), `-no-reboot` (a warm reboot
stalls Xen for minutes under emulation: every reboot is a cold QEMU restart), QEMU's user
network with `restrict=on` (the VM reaches nothing outside; its DHCP server plays the LAN's) and
a host-forward on 127.0.0.1 only for SSH. The serial console (GRUB, Xen, Linux) goes to a file
whose last lines every failure shows, named by its phase.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from tests.vm.xenvm.image import Image

MEMORY_MB = 2048
# No XSAVE and no AVX: with them (QEMU 7.2's emulation, new in 7.2) a PV guest's userspace
# crashed under Xen (the xen-tools guest: segfaults in ld.so and libc as systemd started, dom0's
# udevd once); without them the guest boots, leases and answers ping. AVX goes explicitly: QEMU
# keeps advertising it without XSAVE, and the plain kernel's aesni module then hits #UD.
CPU = os.environ.get("XENWIZARD_VM_CPU", "max,-smap,-xsave,-avx,-avx2")  # other models: by hand
SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=15",
    "-o", "ServerAliveInterval=10",
    "-o", "ServerAliveCountMax=6",
)  # fmt: skip


BOOT_MARK = "===== xenwizard test: boot"


class VMError(AssertionError):
    """A phase of a VM test failed: the message names it and ends with the serial console."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Machine:
    """The VM of one test module; `boot()` starts QEMU (cold), `poweroff()` ends it."""

    def __init__(self, image: Image, workdir: Path):
        self.image = image
        self.workdir = workdir
        self.port = free_port()
        self.serial = workdir / "serial.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.boots = 0
        self.timings: list[tuple[str, float]] = []  # (phase, seconds), in order

    # --- QEMU ----------------------------------------------------------------------------------

    def qemu_argv(self) -> list[str]:
        return [
            "qemu-system-x86_64",
            "-accel", "tcg,thread=multi",
            "-cpu", CPU,
            "-machine", "pc",
            "-m", str(MEMORY_MB),
            "-smp", "2",
            "-display", "none",
            "-no-reboot",
            "-chardev", f"file,id=serial0,path={self.serial},append=on",
            "-serial", "chardev:serial0",
            "-drive", f"file={self.image.disk},format=raw,if=virtio,cache=unsafe",
            "-cdrom", str(self.image.iso),
            "-boot", "d",
            "-nic",
            f"user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:{self.port}-:22",
        ]  # fmt: skip

    def boot(self, phase: str, timeout: float = 480) -> float:
        """Start QEMU and wait until root's SSH answers; the seconds it took."""
        started = self.start(phase)
        self.wait_ssh(phase, timeout)
        return self.mark(phase, started)

    def start(self, phase: str) -> float:
        """Start QEMU (cold) without waiting for anything; when it started (monotonic)."""
        if self.running():
            raise VMError(f"{phase}: the VM is still running")
        self.boots += 1
        with self.serial.open("ab") as log:
            log.write(f"\n{BOOT_MARK} {self.boots} ({phase}) =====\n".encode())
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.qemu_argv(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "qemu.stderr").open("ab"),
        )
        return started

    def wait_serial(self, text: str, timeout: float, phase: str) -> None:
        """Wait until the serial console of this boot shows `text` (e.g. dom0's login prompt
        on Xen's console, when SSH cannot tell)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.serial_since_boot():
                return
            if not self.running():
                self.fail(phase, f"QEMU exited before the console showed {text!r}")
            time.sleep(3)
        self.fail(phase, f"the console did not show {text!r} within {timeout:.0f} s")

    def serial_since_boot(self) -> str:
        """The serial console since the last `start`."""
        try:
            text = self.serial.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""
        return text.rsplit(BOOT_MARK, 1)[-1]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ssh(self, phase: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                self.fail(phase, "QEMU exited before SSH answered")
            try:
                if self.ssh("true", timeout=30, check=False).returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(3)
        self.fail(phase, f"SSH did not answer within {timeout:.0f} s")

    def poweroff(self, phase: str, timeout: float = 180) -> float:
        """`systemctl poweroff` in the VM, and wait for QEMU to end (a cold boot may follow)."""
        started = time.monotonic()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.ssh("systemctl poweroff", timeout=30, check=False)
        assert self.process is not None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(phase, f"the VM did not power off within {timeout:.0f} s")
        return self.mark(phase, started)

    def wait_down(self, phase: str, timeout: float) -> float:
        """Wait for the VM to end by itself (a reboot inside it ends QEMU: -no-reboot), e.g.
        the boot guard's reboot after its rollback; the seconds it took."""
        started = time.monotonic()
        assert self.process is not None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(phase, f"the VM did not go down by itself within {timeout:.0f} s")
        return self.mark(phase, started)

    @contextlib.contextmanager
    def restarting(self, phase: str) -> Iterator[list[float]]:
        """While inside: whenever the VM goes down by itself (a reboot inside it ends QEMU:
        -no-reboot), start it again, cold, as a reset would; yields the restarts' start times.
        For a reboot that something else drives and waits for (Ansible's reboot module)."""
        stop = threading.Event()
        restarts: list[float] = []

        def watch() -> None:
            while not stop.wait(2):
                if self.process is not None and self.process.poll() is not None:
                    restarts.append(self.start(f"{phase}: restart {len(restarts) + 1}"))

        watcher = threading.Thread(target=watch, name="vm-restarter", daemon=True)
        watcher.start()
        try:
            yield restarts
        finally:
            stop.set()
            watcher.join()

    def reachable(self, timeout: float = 20) -> bool:
        """Whether root's SSH answers now (one bounded attempt)."""
        try:
            return self.ssh("true", timeout=timeout, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    # --- SSH -----------------------------------------------------------------------------------

    def ssh_argv(self, *extra: str) -> list[str]:
        return [
            "ssh",
            *SSH_OPTIONS,
            *extra,
            "-i", str(self.image.key),
            "-p", str(self.port),
            "root@127.0.0.1",
        ]  # fmt: skip

    def ssh(
        self, command: str, *, timeout: float = 120, check: bool = True, phase: str = "ssh"
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command in the VM as root (commands cost 2-4 s each: batch them)."""
        done = subprocess.run(
            [*self.ssh_argv(), command],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            self.fail(
                phase,
                f"`{command}` exited {done.returncode}\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}",
            )
        return done

    def interactive_command(self, command: str) -> str:
        """The shell command an operator types on the host: ssh with a terminal, running
        `command` in the VM."""
        return shlex.join([*self.ssh_argv("-t"), command])

    # --- reporting ------------------------------------------------------------------------------

    def mark(self, phase: str, started: float) -> float:
        took = time.monotonic() - started
        self.timings.append((phase, took))
        return took

    def serial_tail(self, lines: int = 40) -> str:
        try:
            text = self.serial.read_bytes().decode("utf-8", "replace")
        except OSError:
            return "(no serial log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, phase: str, reason: str) -> NoReturn:
        raise VMError(
            f"VM phase '{phase}' failed: {reason}\n--- last lines of the serial console "
            f"({self.serial}) ---\n{self.serial_tail()}"
        )
