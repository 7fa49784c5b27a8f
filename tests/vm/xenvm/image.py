"""The dom0 disk image of the real-Xen VM tests: a Debian server as a fresh install leaves it.

Built in three layers, the slow ones cached under $XENWIZARD_TEST_CACHE/xenvm (beside the
debootstrap cache of tests/kits/debian_chroot.py) between runs:

1. the base tree (cached, per suite): the debootstrap minbase tree plus a kernel, systemd, udev,
   GRUB's tools, openssh-server and python3, with the primary NIC on DHCP the way the release's
   own images configure it — Debian 12: ifupdown + ISC dhclient, as its installer does; Debian
   13: netplan.io rendering for systemd-networkd, with systemd-resolved, as Debian's cloud
   images do — and no Xen, no dnsmasq, no bridge;
2. the local apt repository (cached per package set): exactly the .debs that xenwizard's own
   package step asks for on this tree (read from `xenwizard plan --json`), downloaded on the
   host, indexed with apt-ftparchive and served to the VM as a `file:` source, so the real
   `apt-get update` / `apt-get install` run offline inside the VM;
3. per run: xenwizard (the wheel of this checkout and its dependencies in a venv, on PATH, as
   the README tells an admin), the test's SSH key, the canary guest's initramfs, then the raw
   ext4 image (`mkfs.ext4 -d`, no loop mounts) and a small GRUB ISO that hands over to the
   image's own /boot/grub/grub.cfg, so what update-grub writes in the VM is what boots.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.kits.debian_chroot import CACHE, COMPLETE, ensure_minbase, made_once

PROJECT = Path(__file__).resolve().parents[3]
VM_CACHE = CACHE / "xenvm"
LABEL = "xwroot"
NIC = "eth0"  # net.ifnames=0: the name a test can know before the VM boots
REPO_DIR = "srv/xenwizard-repo"
GUEST_DIR = "root/canary"
HOSTNAME = "xenhost"

# What a small Debian server install has besides minbase. Changing it rebuilds the base tree.
BASE_PACKAGES = (  # bookworm
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "kmod",
    "ifupdown",
    "isc-dhcp-client",
    "openssh-server",
    "grub2-common",
    "iproute2",
    "procps",
    "python3",
    "python3-venv",
    "python3-apt",  # Ansible's apt module (the role's .deb install); Debian's standard task has it
    "dbus",  # what `shutdown -r` (Ansible's reboot) talks to logind through; a real server has it
    "iputils-ping",  # dom0 pings the xen-tools guest; Debian's standard task has it
)
# Debian 13 as its cloud images are: netplan (its generator renders for systemd-networkd, which
# is part of systemd) and systemd-resolved, no ifupdown, no dhclient.
TRIXIE_PACKAGES = (
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "kmod",
    "netplan.io",
    "systemd-resolved",
    "openssh-server",
    "grub2-common",
    "iproute2",
    "procps",
    "python3",
    "python3-venv",
)
BASE_RECIPE = "4"  # bump when the base tree's configuration below changes
DPKG_FAST = (
    "force-unsafe-io\npath-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n"
    "path-exclude=/usr/share/man/*\n"
)


@dataclass(frozen=True)
class Suite:
    """What differs between the releases the VM tests boot."""

    name: str  # the Debian suite: bookworm, trixie
    title: str  # what the wizard's welcome page says: "Debian 12"
    profile: str  # xenwizard's profile name
    packages: tuple[str, ...]
    network: str  # how the base tree's primary NIC is configured: "ifupdown" or "netplan"


SUITES = {
    "bookworm": Suite("bookworm", "Debian 12", "debian-12", BASE_PACKAGES, "ifupdown"),
    "trixie": Suite("trixie", "Debian 13", "debian-13", TRIXIE_PACKAGES, "netplan"),
}

INTERFACES = f"""# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug {NIC}
iface {NIC} inet dhcp
"""

NETPLAN_FILE = "etc/netplan/90-default.yaml"
NETPLAN = f"""# The primary network interface on DHCP; netplan renders it for systemd-networkd.
network:
  version: 2
  ethernets:
    {NIC}:
      dhcp4: true
"""

# /etc/default/grub as Debian's installer writes it, for a serial console (the VM has no
# screen): plain Linux on ttyS0; under Xen, Xen owns com1 and dom0's console is hvc0.
DEFAULT_GRUB = """GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200 net.ifnames=0"
GRUB_CMDLINE_LINUX_XEN_REPLACE="console=hvc0 earlyprintk=xen net.ifnames=0"
GRUB_CMDLINE_XEN="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
"""

# Timers that would start apt or other housekeeping in the middle of a test boot.
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
)

GUEST_INIT = """#!/bin/busybox sh
# xenwizard's test canary: load netfront, ask for a DHCP lease, print what came back.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /xen-netfront.ko
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
echo "XWCANARY start mac=$(cat /sys/class/net/eth0/address)"
timeout 45 udhcpc -i eth0 -f -q -n -t 6 -T 3 -s /lease.sh || echo "XWCANARY nolease"
# xwreach=HOST:PORT: take the lease and read the first line a TCP server there sends
reach=$(sed -n 's/.*xwreach=\\([0-9.]*:[0-9]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$reach" ] && [ -s /lease.env ]; then
    . /lease.env
    ip addr add "$ip/$mask" dev eth0
    ip route add default via "$router"
    nc "${reach%:*}" "${reach#*:}" </dev/null >/reach.out 2>&1 &
    i=0
    while [ ! -s /reach.out ] && [ $i -lt 40 ]; do sleep 0.5; i=$((i+1)); done
    kill $! 2>/dev/null
    banner=$(head -n 1 /reach.out | tr -d '\\r')
    echo "XWCANARY reach $reach ${banner:-nothing}"
fi
echo "XWCANARY done"
sleep "$(cat /proc/cmdline | sed -n 's/.*xwhold=\\([0-9]*\\).*/\\1/p')"
poweroff -f
"""
GUEST_LEASE = """#!/bin/sh
# udhcpc's script: only the bound lease matters to the test.
case "$1" in
    bound|renew)
        echo "XWCANARY lease ip=$ip serverid=$serverid router=$router lease=$lease"
        echo "ip=$ip mask=$mask router=$router" > /lease.env ;;
esac
exit 0
"""

# The boot ISO's GRUB hands over to the disk's grub.cfg with the disk's /boot/grub as $prefix, as
# a GRUB installed on the disk has it: update-grub's grub.cfg loads and saves $prefix/grubenv
# (the one-shot next_entry of xenwizard's boot guard), which must be the disk's, not the ISO's.
ISO_GRUB = f"""serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
insmod ext2
search --no-floppy --label --set=root {LABEL}
set prefix=($root)/boot/grub
configfile /boot/grub/grub.cfg
"""


class BuildError(AssertionError):
    """A build phase failed; the message names the phase and shows the command's output."""


def run(argv: list[str], phase: str, timeout: float = 900, **kwargs: object) -> str:
    """Run a host command for `phase`; its output on failure, stdout on success."""
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs
    )  # type: ignore[call-overload]
    if done.returncode != 0:
        raise BuildError(
            f"image build, {phase}: {' '.join(argv[:6])} exited {done.returncode}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


CHROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "HOME": "/root",
}


@contextmanager
def mounted(tree: Path) -> Iterator[None]:
    """/proc, /sys and /dev for package scripts (mkinitramfs, ssh-keygen), and a policy-rc.d
    so that nothing they install starts on the host; all undone afterwards."""
    policy = tree / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    mounts = []
    try:
        for kind, where in (("proc", "proc"), ("sysfs", "sys")):
            run(["mount", "-t", kind, kind, str(tree / where)], "mount")
            mounts.append(tree / where)
        for where in ("dev", "dev/pts"):
            run(["mount", "--bind", f"/{where}", str(tree / where)], "mount")
            mounts.append(tree / where)
        yield
    finally:
        for where in reversed(mounts):
            subprocess.run(["umount", "-l", str(where)], check=False)
        policy.unlink(missing_ok=True)


def chroot(tree: Path, phase: str, *argv: str, timeout: float = 900) -> str:
    return run(["chroot", str(tree), *argv], phase, timeout=timeout, env=CHROOT_ENV)


def write_file(tree: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = tree / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


def cached_tree(kind: str, key: str, build: Callable[[Path], None]) -> Path:
    """VM_CACHE/KIND-KEY, made by `build(partial)` when missing (half-made trees never count);
    a new one replaces the cached ones of the same kind made from other recipes."""
    name = f"{kind}-{key[:12]}"

    def replacing_stale(partial: Path) -> None:
        for stale in VM_CACHE.glob(f"{kind}-*"):
            if stale.name != name and len(stale.name) == len(name):
                shutil.rmtree(stale, ignore_errors=True)
        build(partial)

    return made_once(VM_CACHE / name, f"xenvm-{kind}", replacing_stale)


def base_tree(suite: str = "bookworm") -> Path:
    """The cached base tree of a small Debian server of `suite` on DHCP, without any of the Xen
    stack."""
    release = SUITES[suite]
    packages = release.packages
    key = hashlib.sha256(f"{BASE_RECIPE} {suite} {' '.join(packages)}".encode()).hexdigest()

    def build(tree: Path) -> None:
        run(["cp", "-a", str(ensure_minbase(suite)), str(tree)], "copy minbase")
        (tree / COMPLETE).unlink()
        resolv = tree / "etc/resolv.conf"
        resolv.unlink(missing_ok=True)
        resolv.write_bytes(Path("/etc/resolv.conf").read_bytes())
        write_file(
            tree, "etc/apt/apt.conf.d/90xenvm-no-recommends", 'APT::Install-Recommends "false";\n'
        )
        # What dpkg does under emulation costs minutes per install and purge of the Xen stack:
        # no fsync per file (the disk is a scratch image) and no documentation or manual pages
        # unpacked, as Debian's minimal container images do. Nothing xenwizard reads is there.
        write_file(tree, "etc/dpkg/dpkg.cfg.d/90xenvm-fast", DPKG_FAST)
        write_file(tree, "etc/default/grub", DEFAULT_GRUB)
        write_file(tree, "etc/hostname", f"{HOSTNAME}\n")
        write_file(tree, "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n")
        write_file(tree, "etc/fstab", f"LABEL={LABEL}\t/\text4\terrors=remount-ro\t0\t1\n")
        with mounted(tree):
            chroot(tree, "apt-get update", "apt-get", "update", "-qq")
            chroot(tree, "base packages", "apt-get", "install", "-y", "-qq", *packages)
            chroot(tree, "apt-get clean", "apt-get", "clean")
            if release.network == "netplan":
                chroot(tree, "enable networkd", "systemctl", "enable", "systemd-networkd")
        if release.network == "ifupdown":
            write_file(tree, "etc/network/interfaces", INTERFACES)
        else:
            write_file(tree, NETPLAN_FILE, NETPLAN, 0o600)  # netplan warns about readable files
        # The packages' initramfs-tools trigger would rebuild the initramfs in the VM: 10-15
        # minutes under emulation (mkinitramfs forks thousands of processes) for a kernel and
        # modules that this test never changes, so the image's admin has turned it off.
        conf = tree / "etc/initramfs-tools/update-initramfs.conf"
        text = conf.read_text()
        if "update_initramfs=yes" not in text:
            raise BuildError(f"image build: no update_initramfs=yes in {conf}")
        conf.write_text(text.replace("update_initramfs=yes", "update_initramfs=no"))
        for unit in MASKED_UNITS:
            link = tree / "etc/systemd/system" / unit
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        resolv.unlink()
        if "systemd-resolved" in packages:  # its stub, as the package's postinst links it
            resolv.symlink_to("../run/systemd/resolve/stub-resolv.conf")

    return cached_tree(f"{suite}-base", key, build)


@contextmanager
def host_dns(tree: Path) -> Iterator[None]:
    """The host's resolv.conf in the tree while apt downloads; the tree's own (a file, a
    symlink or none) put back afterwards. Never writes through a symlink of the tree."""
    resolv = tree / "etc/resolv.conf"
    saved = tree / "etc/resolv.conf.xenvm-saved"
    had = resolv.is_symlink() or resolv.exists()
    if had:
        resolv.rename(saved)
    resolv.write_bytes(Path("/etc/resolv.conf").read_bytes())
    try:
        yield
    finally:
        resolv.unlink(missing_ok=True)
        if had:
            saved.rename(resolv)


@dataclass(frozen=True)
class InsideRun:
    """For a test that runs inside the VM (a kernel driver this machine lacks): the .debs it
    installs there from the local repository, the Python distributions beside xenwizard in
    /opt/xenwizard, and where in the image this checkout's tracked files go ("": nowhere).
    The default, nothing of these, is every other image's."""

    packages: tuple[str, ...] = ()
    wheels: tuple[str, ...] = ()
    checkout: str = ""


def copy_checkout(dest: Path) -> None:
    """This checkout's tracked files, as they are in the working tree, at `dest`."""
    listed = run(["git", "ls-files", "-z"], "git ls-files", cwd=str(PROJECT))
    for rel in filter(None, listed.split("\0")):
        source = PROJECT / rel
        if source.is_file() or source.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel, follow_symlinks=False)


@dataclass(frozen=True)
class Image:
    """One run's VM files: the raw disk, the GRUB ISO and the SSH key that logs in as root."""

    disk: Path
    iso: Path
    key: Path
    packages: tuple[str, ...]  # what xenwizard's package step will install (the repo's roots)
    kernel_version: str
    timings: dict[str, float]


def planned_packages(tree: Path) -> tuple[str, ...]:
    """The packages xenwizard's plan would install on this tree: the repo holds exactly these
    and their dependencies. (`--no-boot-guard`: the guard's unit must name a xenwizard inside
    the target, and the base tree has none yet; the guard brings no package.)"""
    out = run(
        [
            sys.executable,
            "-m",
            "xenwizard",
            "plan",
            "--root",
            str(tree),
            "--json",
            "--no-boot-guard",
        ],
        "xenwizard plan on the base tree",
        timeout=120,
        cwd=str(PROJECT),
    )
    steps = json.loads(out)["steps"]
    return tuple(
        name for step in steps if step.get("kind") == "packages" for name in step["packages"]
    )


def local_repo(base: Path, packages: tuple[str, ...]) -> Path:
    """The cached flat apt repository of `packages` with every dependency the base tree lacks
    (one per suite: each suite's run keeps its own, and prunes only its own older ones)."""
    key = hashlib.sha256(f"{base.name} {' '.join(sorted(packages))}".encode()).hexdigest()

    def build(repo: Path) -> None:
        work = VM_CACHE / "repo-work"
        shutil.rmtree(work, ignore_errors=True)
        run(["cp", "-a", str(base), str(work)], "copy base for the download")
        try:
            archives = work / "var/cache/apt/archives"
            with host_dns(work):
                chroot(work, "apt-get update (repo)", "apt-get", "update", "-qq")
                chroot(
                    work,
                    "download the package step's .debs",
                    "apt-get",
                    "install",
                    "-y",
                    "-qq",
                    "--download-only",
                    *packages,
                )
            repo.mkdir(parents=True)
            for deb in archives.glob("*.deb"):
                shutil.move(str(deb), repo / deb.name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        index = run(["apt-ftparchive", "packages", "."], "apt-ftparchive", cwd=str(repo))
        (repo / "Packages").write_text(index)
        with gzip.open(repo / "Packages.gz", "wt") as packed:
            packed.write(index)

    suite = base.name.split("-base-", 1)[0]
    for legacy in VM_CACHE.glob("repo-*"):  # one cache for all suites, before trixie came
        shutil.rmtree(legacy, ignore_errors=True)
    return cached_tree(f"{suite}-repo", key, build)


def wheels(dest: Path, python: str, extra: tuple[str, ...] = ()) -> Path:
    """This checkout's wheel and its dependencies' wheels (from PyPI, through pip's cache) for
    the image's `python` ("3.13"), at the versions of constraints.txt: when it is not the
    host's, the dependencies' binary wheels for it come from PyPI too (netifaces-plus is
    compiled per Python version). `extra`: more distributions beside it (pytest)."""
    pip = [sys.executable, "-m", "pip"]
    quiet = ["-q", "--disable-pip-version-check", "--constraint", str(PROJECT / "constraints.txt")]
    run([*pip, "wheel", *quiet, "-w", str(dest), str(PROJECT), *extra], "pip wheel", timeout=600)
    if python != f"{sys.version_info.major}.{sys.version_info.minor}":
        (ours,) = dest.glob("xenwizard-*.whl")
        platforms = [f"--platform=manylinux_2_{minor}_x86_64" for minor in (5, 17, 28, 34)]
        run(
            [*pip, "download", *quiet, "--only-binary=:all:", f"--python-version={python}",
             *platforms, "-d", str(dest), str(ours)],
            f"pip download (wheels for the image's Python {python})",
            timeout=600,
        )  # fmt: skip
    return dest


def python_version_of(tree: Path) -> str:
    """The image's python3 as "3.13" (from its /usr/bin/python3 link: no chroot needed)."""
    target = os.readlink(tree / "usr/bin/python3")
    return target.removeprefix("python")


def guest_initramfs(tree: Path, kernel_version: str) -> bytes:
    """A newc cpio (gzip) of the host's static busybox, the image's xen-netfront.ko and /init."""
    busybox = Path("/bin/busybox")
    linked = subprocess.run(["ldd", str(busybox)], capture_output=True, text=True)
    if not busybox.exists() or linked.returncode == 0:
        raise BuildError("image build, canary: the host's /bin/busybox is not busybox-static's")
    modules = tree / "lib/modules" / kernel_version
    found = list(modules.rglob("xen-netfront.ko*"))
    if not found:
        raise BuildError(f"image build, canary: no xen-netfront module under {modules}")
    staging = VM_CACHE / "canary-work"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for sub in ("bin", "proc", "sys", "dev"):
            (staging / sub).mkdir(parents=True)
        shutil.copy2(busybox, staging / "bin/busybox")
        module = found[0]
        data = module.read_bytes()
        if module.suffix == ".xz":
            import lzma

            data = lzma.decompress(data)
        (staging / "xen-netfront.ko").write_bytes(data)
        write_file(staging, "init", GUEST_INIT, 0o755)
        write_file(staging, "lease.sh", GUEST_LEASE, 0o755)
        names = "\n".join(str(p.relative_to(staging)) for p in sorted(staging.rglob("*"))).encode()
        archive = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet"],
            input=names,
            capture_output=True,
            cwd=str(staging),
            check=True,
        ).stdout
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return gzip.compress(archive)


def kernel_version_of(tree: Path) -> str:
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise BuildError("image build: no kernel in the base tree's /boot")
    return kernels[-1].name.removeprefix("vmlinuz-")


def first_grub_cfg(fs_uuid: str, kernel_version: str) -> str:
    """The grub.cfg the installer's update-grub would leave for this one kernel; the Xen
    package's update-grub in the VM replaces it."""
    return f"""# Written by xenwizard's test image build, shaped like update-grub's output.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set default=0
set timeout=1
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {{
	insmod gzio
	insmod ext2
	search --no-floppy --fs-uuid --set=root {fs_uuid}
	linux	/boot/vmlinuz-{kernel_version} root=UUID={fs_uuid} ro console=ttyS0,115200 net.ifnames=0
	initrd	/boot/initrd.img-{kernel_version}
}}
"""


def install_grub_modules(tree: Path) -> None:
    """The BIOS GRUB's modules in the disk's /boot/grub/i386-pc, as grub-install leaves them:
    with $prefix on the disk (ISO_GRUB), grub.cfg's insmod loads them from there. They come from
    the host's grub-pc-bin, the same build as the ISO's core image (they must match)."""
    source = Path("/usr/lib/grub/i386-pc")
    dest = tree / "boot/grub/i386-pc"
    dest.mkdir(parents=True, exist_ok=True)
    for module in [*source.glob("*.mod"), *source.glob("*.lst")]:
        shutil.copy2(module, dest / module.name)


def build_image(
    workdir: Path,
    suite: str = "bookworm",
    size: str = "6G",
    carry: tuple[tuple[Path, str], ...] = (),
    inside: InsideRun = InsideRun(),
) -> Image:
    """Everything one run needs, in `workdir` (removed by the caller); `carry`: host files
    copied into the image, as (source, path in the image); `inside`: what a test run inside the
    VM needs besides (see InsideRun)."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    base = base_tree(suite)
    timings["base tree"] = time.monotonic() - started

    tree = workdir / "tree"
    mark = time.monotonic()
    run(["cp", "-a", str(base), str(tree)], "copy base tree")
    (tree / COMPLETE).unlink()
    # GRUB as an installed server has it (its grub.cfg, its modules), before the plan is made:
    # xenwizard refuses a target without /boot/grub
    version = kernel_version_of(tree)
    fs_uuid = str(uuid.uuid4())
    write_file(tree, "boot/grub/grub.cfg", first_grub_cfg(fs_uuid, version))
    install_grub_modules(tree)
    packages = planned_packages(tree)
    repo = local_repo(base, packages + inside.packages)
    shutil.copytree(repo, tree / REPO_DIR)
    (tree / REPO_DIR / COMPLETE).unlink()
    write_file(tree, "etc/apt/sources.list", f"deb [trusted=yes] file:/{REPO_DIR} ./\n")
    for lists in (tree / "var/lib/apt/lists").glob("*"):
        if lists.is_file():
            lists.unlink()
    timings["local repo"] = time.monotonic() - mark

    mark = time.monotonic()
    wheel_dir = wheels(workdir / "wheels", python_version_of(tree), inside.wheels)
    shutil.copytree(wheel_dir, tree / "tmp/wheels")
    shutil.copy(PROJECT / "constraints.txt", tree / "tmp/wheels")
    chroot(tree, "xenwizard venv", "python3", "-m", "venv", "/opt/xenwizard")
    chroot(
        tree,
        "xenwizard install",
        "/opt/xenwizard/bin/pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        "/tmp/wheels",
        "--constraint",
        "/tmp/wheels/constraints.txt",
        "xenwizard",
        *inside.wheels,
    )
    shutil.rmtree(tree / "tmp/wheels")
    if inside.checkout:
        copy_checkout(tree / inside.checkout)
    link = tree / "usr/local/bin/xenwizard"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("/opt/xenwizard/bin/xenwizard")
    timings["xenwizard"] = time.monotonic() - mark

    mark = time.monotonic()
    key = workdir / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], "ssh key")
    write_file(tree, "root/.ssh/authorized_keys", (workdir / "id_ed25519.pub").read_text(), 0o600)
    (tree / "root/.ssh").chmod(0o700)
    (tree / GUEST_DIR).mkdir(parents=True)
    (tree / GUEST_DIR / "initrd.gz").write_bytes(guest_initramfs(tree, version))
    for source, rel in carry:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, tree / rel)
    disk = workdir / "disk.raw"
    run(
        ["mkfs.ext4", "-q", "-F", "-L", LABEL, "-U", fs_uuid, "-d", str(tree), str(disk), size],
        "mkfs.ext4 -d",
    )
    shutil.rmtree(tree)
    iso = workdir / "boot.iso"
    iso_tree = workdir / "iso"
    write_file(iso_tree, "boot/grub/grub.cfg", ISO_GRUB)
    run(["grub-mkrescue", "-o", str(iso), str(iso_tree)], "grub-mkrescue", timeout=120)
    shutil.rmtree(iso_tree)
    timings["disk and iso"] = time.monotonic() - mark
    return Image(disk, iso, key, packages, version, timings)


if __name__ == "__main__":  # python -m tests.vm.xenvm.image DIR [SUITE]: build once, by hand
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    image = build_image(out, *sys.argv[2:3])
    print(image)
    os.sync()
