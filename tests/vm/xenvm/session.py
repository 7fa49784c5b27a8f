"""The module-scoped VM of a real-Xen test module: the image of one suite (from the run's
background build, or built here), the Machine made, and afterwards QEMU killed, the phase
timings written and every file removed."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.vm.xenvm import prebuild
from tests.vm.xenvm.image import VM_CACHE
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
    started = time.monotonic()
    prebuilt = prebuild.take(suite)
    workdir = (
        prebuilt.workdir
        if isinstance(prebuilt, prebuild.Prebuilt)
        else Path(tempfile.mkdtemp(prefix=f"xenwizard-vm-{suite}-"))
    )
    machine: Machine | None = None
    try:
        if isinstance(prebuilt, prebuild.Prebuilt):
            image = prebuilt.image
            timings = [
                ("image build, in the background beside the other tests", prebuilt.took),
                ("  waited for it", time.monotonic() - started),
            ]
        else:
            print(f"{suite} image: {prebuilt}; building it now")
            image = prebuild.image_for(workdir, suite)
            timings = [("image build", time.monotonic() - started)]
        machine = Machine(image, workdir)
        machine.timings += timings
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
