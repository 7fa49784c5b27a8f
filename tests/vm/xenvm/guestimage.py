"""The xen-tools guest's install source: a bookworm tarball for `xen-create-image
--install-method=tar`, built on the test host (debootstrap minbase, then apt) and carried into
the dom0 image, because the VM has no network to debootstrap from.

It holds what xen-tools' Debian hooks would otherwise download in the guest: a kernel,
initramfs-tools and grub-legacy for pygrub (80-install-kernel, 82-install-grub-legacy),
openssh-server (70-install-ssh), and ifupdown with the ISC DHCP client, which the networking
hook (40-setup-networking, `iface eth0 inet dhcp`) and xenwizard's role configure. apt's lists
are kept: the hooks run `apt-cache show` and `apt-get install` for those packages in the guest,
which then finds them installed and downloads nothing (the guest's `apt-get update` fails
offline and apt keeps the old lists). The kernel modules no PV guest loads (graphics, sound,
wireless, media, InfiniBand) are left out, after its initramfs is made, to keep the tarball
small enough to unpack quickly under emulation.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from tests.kits.debian_chroot import COMPLETE, debian_mirror, ensure_minbase
from tests.vm.xenvm.image import (
    DPKG_FAST,
    VM_CACHE,
    cached_tree,
    chroot,
    host_dns,
    mounted,
    run,
    write_file,
)

# The xen-tools guest (issue 23), on unless XENWIZARD_VM_XEN_TOOLS=0. It needs the block's
# 512M (at xen-tools' 256M it deadlocked unpacking its initramfs) and a CPU without XSAVE and
# AVX (machine.CPU: with them its userspace crashed); its console is in the failure report.
XEN_TOOLS_GUEST = os.environ.get("XENWIZARD_VM_XEN_TOOLS") != "0"
GUEST_TARBALL = "root/xen-tools/bookworm-guest.tar"  # where the dom0 image carries it
GUEST_PACKAGES = (
    "linux-image-amd64",
    "initramfs-tools",
    "grub-legacy",
    "systemd-sysv",
    "udev",
    "kmod",
    "ifupdown",
    "isc-dhcp-client",
    "iproute2",
    "openssh-server",
)
GUEST_RECIPE = "3"  # bump when the build below changes
# Module directories of the kernel that a PV guest never loads (its disk and NIC are
# xen-blkfront and xen-netfront, its file system ext4).
UNUSED_MODULES = (
    "kernel/drivers/gpu",
    "kernel/drivers/media",
    "kernel/drivers/net/wireless",
    "kernel/drivers/infiniband",
    "kernel/drivers/staging",
    "kernel/sound",
)


def guest_mirror() -> str:
    """The mirror the tarball's apt lists come from: `xen-create-image --mirror` must name
    the same one, or the guest's apt finds no lists for the hooks' packages."""
    mirror = debian_mirror()
    assert mirror, "no apt source for Debian bookworm main on this host"
    return mirror


def guest_tarball(suite: str = "bookworm") -> Path:
    """The cached tarball of the guest's root, uncompressed: gzip costs minutes on the host
    and more in the emulated dom0 that unpacks it."""
    recipe = f"{GUEST_RECIPE} {suite} {guest_mirror()} {' '.join(GUEST_PACKAGES)}"
    key = hashlib.sha256(recipe.encode()).hexdigest()

    def build(out: Path) -> None:
        work = VM_CACHE / "guest-work"
        shutil.rmtree(work, ignore_errors=True)
        run(["cp", "-a", str(ensure_minbase(suite)), str(work)], "guest: copy minbase")
        try:
            (work / COMPLETE).unlink()
            write_file(
                work, "etc/apt/apt.conf.d/90no-recommends", 'APT::Install-Recommends "false";\n'
            )
            write_file(work, "etc/dpkg/dpkg.cfg.d/90xenvm-fast", DPKG_FAST)
            with host_dns(work), mounted(work):
                chroot(work, "guest: apt-get update", "apt-get", "update", "-qq")
                # grub-legacy last: its kernel hook (zz-update-grub) fails the kernel's
                # postinst while the guest has no /boot/grub; xen-tools' 80-install-kernel
                # writes the menu.lst that pygrub reads, and 82-install-grub-legacy updates it
                kernel_first = [name for name in GUEST_PACKAGES if name != "grub-legacy"]
                chroot(work, "guest: packages", "apt-get", "install", "-y", "-qq", *kernel_first)
                chroot(work, "guest: grub-legacy", "apt-get", "install", "-y", "-qq", "grub-legacy")
                chroot(work, "guest: apt-get clean", "apt-get", "clean")
            for modules in (work / "lib/modules").iterdir():
                for unused in UNUSED_MODULES:
                    shutil.rmtree(modules / unused, ignore_errors=True)
                chroot(work, "guest: depmod", "depmod", modules.name)
            out.mkdir(parents=True)
            run(
                ["tar", "-C", str(work), "--numeric-owner", "-cf", str(out / "guest.tar"), "."],
                "guest: tar",
                timeout=900,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return cached_tree(f"{suite}-guest", key, build) / "guest.tar"
