"""The real-Xen images, built in the background while the rest of the suite runs.

An image build (debootstrap trees, the local apt repository, the disk) takes minutes per suite
and needs no VM, so once the run's tests are collected tests/conftest.py starts it as a child
process at the lowest CPU and I/O priority (`start`), and each VM module takes its suite's image
when its turn comes (`take`); the VMs themselves still run one at a time, after everything else.
When the child failed, or was never started (a run without VM tests, not root), the module builds
its own image as before, so a build error is reported by the test that needs it, with its phase.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.vm.xenvm.guestimage import GUEST_TARBALL, XEN_TOOLS_GUEST, guest_tarball
from tests.vm.xenvm.image import PROJECT, Image, InsideRun, build_image

# The namespace tests that need kernel drivers this machine lacks, run in a Debian 12 VM
# (tests/vm/test_netns_in_vm.py): their programs from the local repository, pytest beside
# xenwizard, this checkout's files.
INSIDE_SUITE = "bookworm-inside"
INSIDE = InsideRun(
    packages=("dnsmasq-base", "nftables", "ifenslave", "bridge-utils", "ethtool", "bubblewrap"),
    wheels=("pytest",),
    checkout="root/checkout",
)
READY = "image.json"
FAILED = "error.txt"
WAIT_LIMIT = 3600  # seconds a module waits for its image before it builds its own


def image_for(workdir: Path, suite: str) -> Image:
    """The image of `suite` in `workdir`; bookworm's carries the xen-tools guest's tarball when
    that test is on (unless XENWIZARD_VM_XEN_TOOLS=0); INSIDE_SUITE is Debian 12 with what the tests
    run inside the VM need."""
    if suite == INSIDE_SUITE:
        return build_image(workdir, "bookworm", inside=INSIDE)
    with_guest = XEN_TOOLS_GUEST and suite == "bookworm"
    carry = ((guest_tarball(suite), GUEST_TARBALL),) if with_guest else ()
    return build_image(workdir, suite, carry=carry)


@dataclass(frozen=True)
class Prebuilt:
    """A suite's image from the background build: its directory (the module's workdir from now
    on), the image, and how long the build took."""

    workdir: Path
    image: Image
    took: float


class Background:
    """The child process building the run's images, one directory per suite under `root`."""

    def __init__(self, suites: list[str]):
        self.suites = suites
        self.root = Path(tempfile.mkdtemp(prefix="xenwizard-vm-prebuild-"))
        self.log = self.root / "prebuild.log"
        with open(self.log, "w") as log:
            self.child = subprocess.Popen(
                ["nice", "-n", "19", "ionice", "-c", "2", "-n", "7",
                 sys.executable, "-m", "tests.vm.xenvm.prebuild", str(self.root), *suites],
                cwd=PROJECT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def take(self, suite: str) -> Prebuilt | str:
        """The suite's image once built, or why there is none (the module then builds its own)."""
        workdir = self.root / suite
        deadline = time.monotonic() + WAIT_LIMIT
        while time.monotonic() < deadline:
            if (workdir / READY).exists():
                record = json.loads((workdir / READY).read_text())
                took = record.pop("took")
                paths = {name: Path(record[name]) for name in ("disk", "iso", "key")}
                image = Image(**{**record, **paths, "packages": tuple(record["packages"])})
                return Prebuilt(workdir, image, took)
            if (workdir / FAILED).exists():
                return f"the background build failed:\n{(workdir / FAILED).read_text()[-3000:]}"
            if self.child.poll() is not None:
                return f"the background build ended ({self.child.returncode}):\n{self.tail()}"
            time.sleep(2)
        self.stop()
        return f"the background build took over {WAIT_LIMIT} s:\n{self.tail()}"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """End the child (its chroot mounts undone by its SIGTERM handler) and remove every
        image no module took."""
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.child.pid, signal.SIGKILL)
                self.child.wait()
        shutil.rmtree(self.root, ignore_errors=True)


RUNNING: dict[str, Background] = {}  # "run": the background build of this pytest run


def start(suites: list[str]) -> None:
    """Build the images of `suites`, in this order, in the background (as root, when the VM
    tests are on)."""
    if suites and os.environ.get("XENWIZARD_VM_TESTS") != "0" and os.geteuid() == 0:
        RUNNING["run"] = Background(suites)


def take(suite: str) -> Prebuilt | str:
    """The image of `suite` from this run's background build, or why there is none."""
    background = RUNNING.get("run")
    if background is None or suite not in background.suites:
        return "no background build in this run"
    return background.take(suite)


def stop() -> None:
    background = RUNNING.pop("run", None)
    if background is not None:
        background.stop()


def build_all(root: Path, suites: list[str]) -> None:
    """The child's work: each suite's image in ROOT/SUITE, then READY (the Image as JSON) or
    FAILED (the traceback) beside it."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: mounts undone
    for suite in suites:
        workdir = root / suite
        workdir.mkdir()
        started = time.monotonic()
        try:
            image = image_for(workdir, suite)
        except (SystemExit, KeyboardInterrupt):  # SIGTERM: stop() ends the run's build
            (workdir / FAILED).write_text(traceback.format_exc())
            raise
        except BaseException:  # a failed phase, or pytest.fail() in a cache helper
            (workdir / FAILED).write_text(traceback.format_exc())
            continue
        record = {**asdict(image), "took": time.monotonic() - started}
        record.update({name: str(record[name]) for name in ("disk", "iso", "key")})
        partial = workdir / f"{READY}.partial"
        partial.write_text(json.dumps(record))
        partial.rename(workdir / READY)


if __name__ == "__main__":  # python -m tests.vm.xenvm.prebuild ROOT SUITE...: start() runs it
    build_all(Path(sys.argv[1]), sys.argv[2:])
