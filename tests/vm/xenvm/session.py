"""The module-scoped VM of a real-Xen test module: the image of one suite built, the Machine
made, and afterwards QEMU killed, the phase timings written and every file removed."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.vm.xenvm.guestimage import GUEST_TARBALL, XEN_TOOLS_GUEST, guest_tarball
from tests.vm.xenvm.image import VM_CACHE, build_image
from tests.vm.xenvm.machine import Machine

NEEDED = ("qemu-system-x86_64", "grub-mkrescue", "xorriso", "mkfs.ext4", "tmux", "ssh",
          "apt-ftparchive", "cpio")  # fmt: skip


@contextmanager
def vm_session(suite: str) -> Iterator[Machine]:
    if os.environ.get("XENWIZARD_VM_TESTS") == "0":
        pytest.skip("XENWIZARD_VM_TESTS=0")
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap, chroot, mkfs -d of a root-owned tree)")
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    assert not missing, f"scripts/dev-setup installs these; missing: {' '.join(missing)}"
    workdir = Path(tempfile.mkdtemp(prefix=f"xenwizard-vm-{suite}-"))
    started = time.monotonic()
    machine: Machine | None = None
    try:
        # bookworm has xen-tools: its test makes a real guest from this tarball
        with_guest = XEN_TOOLS_GUEST and suite == "bookworm"
        carry = ((guest_tarball(suite), GUEST_TARBALL),) if with_guest else ()
        image = build_image(workdir, suite, carry=carry)
        machine = Machine(image, workdir)
        machine.timings.append(("image build", time.monotonic() - started))
        machine.timings += [(f"  {name}", took) for name, took in image.timings.items()]
        yield machine
    finally:
        if machine is not None:
            machine.kill()
            write_timings(machine, suite)
        shutil.rmtree(workdir, ignore_errors=True)


def timings_path(suite: str) -> Path:
    """$XENWIZARD_VM_TIMINGS (default: the VM cache's last-timings.txt) for bookworm; the
    other suites' beside it, as last-timings-SUITE.txt."""
    target = Path(os.environ.get("XENWIZARD_VM_TIMINGS", VM_CACHE / "last-timings.txt"))
    if suite == "bookworm":
        return target
    return target.with_name(f"{target.stem}-{suite}{target.suffix}")


def write_timings(machine: Machine, suite: str) -> None:
    target = timings_path(suite)
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{took:7.1f} s  {phase}" for phase, took in machine.timings]
    target.write_text("\n".join(lines) + "\n")
