"""Issue 24, findings 6 and part of 7: the canary guest takes text from the root. A kernel
release with quotes and newlines in ROOT/proc/sys/kernel/osrelease put `xl` directives of the
root's choosing into the guest's config; root-supplied modules were decompressed with no bound
on the output; and when `xl create` said a domain of the canary's name already existed, the
cleanup destroyed that domain, which the canary had not created."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from tests.kits.canarykit import KERNEL, FakeClock, FakeXl, Guest, TickingLeases, live_host
from tests.unit.test_canary_initramfs import MODULES, NETFRONT_REL, make_root
from xenwizard.answers.model import WizardConfig
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck import canary as canary_module
from xenwizard.verify.hostcheck.canary import run_canary, xl_config
from xenwizard.verify.hostcheck.initramfs import MAX_BINARY, CanaryRefused, netfront_modules

CRAFTED = '6.1.0"\npci = [ "0000:00:1f.0" ]\nextra = "init=evil'


def test_a_crafted_kernel_release_is_refused_before_any_xl_command(tmp_path: Path) -> None:
    """Before: with its vmlinuz and modules in place, the release reached the xl config."""
    root = live_host(tmp_path / "root")
    (root / "proc/sys/kernel/osrelease").write_text(CRAFTED + "\n")
    (root / f"boot/vmlinuz-{CRAFTED}").write_text("kernel image\n")
    (root / f"lib/modules/{CRAFTED}").symlink_to(KERNEL)
    clock = FakeClock()
    fake = FakeXl(root, clock, Guest())
    result = run_canary(root, WizardConfig(), fake, clock=TickingLeases(fake))
    assert not result.passed
    assert "osrelease" in result.reason and "letters, digits" in result.reason, result.reason
    assert "\n" not in result.reason
    assert "create" not in fake.verbs(), fake.calls


@pytest.mark.parametrize("field", ["name", "mac", "bridge", "kernel", "ramdisk"])
@pytest.mark.parametrize("bad", ['x"', "x\ny = 1", "x\\", "x y", "x]"])
def test_every_xl_config_value_is_checked(field: str, bad: str) -> None:
    values = {
        "name": "xenwizard-canary-ab12",
        "mac": "00:16:3e:12:34:56",
        "bridge": "br0",
        "kernel": "/boot/vmlinuz-6.1.0-99-amd64",
        "ramdisk": "/run/xenwizard/canary-x/initrd.gz",
    }
    xl_config(**values)  # the real values pass
    with pytest.raises(CanaryRefused, match="characters the xl config cannot carry"):
        xl_config(**{**values, field: values[field] + bad})


def test_a_module_that_unpacks_past_the_bound_is_refused_unpacked(tmp_path: Path) -> None:
    """Before: lzma.decompress unpacked it whole, whatever its size."""
    root = make_root(tmp_path, module=".ko.xz")
    bomb = lzma.compress(b"\0" * (MAX_BINARY + 4096), preset=9)
    assert len(bomb) < 1024 * 1024
    (root / MODULES / f"{NETFRONT_REL}.ko.xz").write_bytes(bomb)
    with pytest.raises(CanaryRefused, match="unpacks to more than"):
        netfront_modules(RootFS(root), KERNEL)


def test_a_truncated_module_is_refused(tmp_path: Path) -> None:
    root = make_root(tmp_path, module=".ko.xz")
    packed = root / MODULES / f"{NETFRONT_REL}.ko.xz"
    packed.write_bytes(packed.read_bytes()[:-20])
    with pytest.raises(CanaryRefused, match="cannot be decompressed"):
        netfront_modules(RootFS(root), KERNEL)


def test_a_domain_of_the_same_name_is_never_destroyed(tmp_path: Path) -> None:
    """Before: `xl create` failed with "already exists" and the cleanup ran `xl destroy NAME`
    on the domain that was there before."""
    root = live_host(tmp_path / "root")
    clock = FakeClock()
    fake = FakeXl(root, clock, Guest(up_for=10_000, create_fails="domain already exists"))
    fake.created_at = clock.now()  # someone else's domain, running under the canary's name
    result = run_canary(root, WizardConfig(), fake, clock=TickingLeases(fake))
    assert not result.passed and "already exists" in result.reason, result.reason
    assert "destroy" not in fake.verbs() and fake.alive, fake.calls
    assert canary_module.NAME_PREFIX in result.reason
