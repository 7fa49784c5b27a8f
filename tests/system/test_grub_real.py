"""The GRUB drop-in with the real update-grub: written, update-grub run, and after the rollback
the drop-in gone and update-grub run again, so grub.cfg is what it was.

The root is a copy of the cached Debian 12 minbase tree (tests/kits/debian_chroot.py) with the real
grub2-common installed through apt. update-grub needs a disk behind / (grub-probe), /dev,
/proc and /sys, which a bare chroot lacks: the runner here runs each command in a private mount
namespace (`unshare -m`) in which the root is bind-mounted on itself and those are mounted, so
nothing is mounted on this machine. Needs root and the mirror, like the other chroot tests.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.debian_chroot import copy_minbase
from xenwizard.edits import grubxen
from xenwizard.engine.executor import Engine
from xenwizard.engine.runner import BASE_ENV, LineCallback
from xenwizard.planning.plan import Plan
from xenwizard.planning.profiles.base import edit_step
from xenwizard.target.rootfs import RootFS

pytestmark = pytest.mark.slow

MOUNTS = (
    'mount --bind "$R" "$R" && mount --bind /dev "$R/dev" && mount -t proc proc "$R/proc" && '
    'mount -t sysfs sys "$R/sys" && exec chroot "$R" "$@"'
)


class MountedChrootRunner:
    """`chroot ROOT argv` inside a private mount namespace with /dev, /proc and /sys."""

    def __init__(self, root: Path):
        self.root = root
        self.calls: list[list[str]] = []

    def run(
        self,
        argv: Sequence[str],
        on_line: LineCallback,
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> int:
        self.calls.append(list(argv))
        done = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", MOUNTS, "sh", *argv],
            env={**BASE_ENV, **(env or {}), "R": str(self.root)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        for line in (done.stdout + done.stderr).splitlines():
            on_line(line)
        return done.returncode


@pytest.fixture
def grub_root(minbase_cache: Path, tmp_path: Path) -> Path:
    root = copy_minbase(minbase_cache, tmp_path / "root")
    done = subprocess.run(
        [
            "chroot",
            str(root),
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "grub2-common",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**BASE_ENV, "DEBIAN_FRONTEND": "noninteractive"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    (root / "boot/grub").mkdir(parents=True, exist_ok=True)
    runner = MountedChrootRunner(root)
    assert runner.run(["update-grub"], lambda line: None) == 0
    return root


def test_the_drop_in_reaches_grub_cfg_and_leaves_with_the_rollback(grub_root: Path) -> None:
    root, fs = grub_root, RootFS(grub_root)
    original = (root / "boot/grub/grub.cfg").read_text()
    assert 'set default="0"' in original
    step = edit_step(
        "grub-xen",
        "GRUB: xenwizard's drop-in",
        fs,
        grubxen.DROPIN,
        lambda text: grubxen.set_dropin(text, ("dom0_mem=1024M,max:1024M",), True),
    )
    plan = Plan("debian-12", "test", str(root), (replace(step, refresh="update-grub"),))
    runner = MountedChrootRunner(root)
    result = Engine(plan, fs, runner).apply()
    assert result.outcome == "applied", result.message
    assert runner.calls == [["update-grub"]]
    generated = (root / "boot/grub/grub.cfg").read_text()
    assert 'set default="${saved_entry}"' in generated  # GRUB_DEFAULT=saved reached GRUB
    rolled = Engine(None, fs, runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert runner.calls == [["update-grub"], ["update-grub"]]
    assert not (root / grubxen.DROPIN).exists()
    assert (root / "boot/grub/grub.cfg").read_text() == original
