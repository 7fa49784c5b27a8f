"""The canary guest's initramfs (hostcheck/initramfs.py): a newc cpio the real `cpio` reads,
with the host's static busybox, xen-netfront as the kernel ships it (.ko, .ko.xz, built in), an
executable /init, and scripts the real busybox shell accepts."""

from __future__ import annotations

import gzip
import lzma
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck.initramfs import (
    CANARY_SH,
    LEASE_SH,
    CanaryRefused,
    build_initramfs,
    elf_interpreter,
    init_script,
    netfront_modules,
    static_busybox,
)

KERNEL = "6.1.0-99-amd64"
MODULES = f"lib/modules/{KERNEL}"
NETFRONT_REL = "kernel/drivers/net/xen-netfront"
HOST_BUSYBOX = Path("/bin/busybox")
MODULE_BYTES = b"\x7fELF fake xen-netfront module " + bytes(range(256)) * 8


def host_static_busybox() -> Path:
    """The machine's busybox-static (scripts/dev-setup installs it): the real thing to test."""
    data = HOST_BUSYBOX.read_bytes() if HOST_BUSYBOX.exists() else b""
    if not data or elf_interpreter(data) is not None:
        pytest.fail("no static /bin/busybox here (scripts/dev-setup installs busybox-static)")
    return HOST_BUSYBOX


def make_root(
    tmp_path: Path,
    *,
    module: str | None = ".ko",
    builtin: bool = False,
    deps: str = "",
    busybox: Path | bytes | None = None,
) -> Path:
    """A target root with /bin/busybox and a kernel's modules.dep / modules.builtin."""
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    source = host_static_busybox() if busybox is None else busybox
    target = root / "bin/busybox"
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)
    target.chmod(0o755)
    mods = root / MODULES
    (mods / "kernel/drivers/net").mkdir(parents=True)
    lines = []
    if module is not None:
        rel = NETFRONT_REL + module
        packed = {
            ".ko": MODULE_BYTES,
            ".ko.xz": lzma.compress(MODULE_BYTES),
            ".ko.gz": gzip.compress(MODULE_BYTES),
            ".ko.zst": b"(\xb5/\xfd not really zstd",
        }[module]
        (mods / rel).write_bytes(packed)
        lines.append(f"{rel}: {deps}".rstrip())
    (mods / "modules.dep").write_text("kernel/fs/other.ko:\n" + "".join(f"{ln}\n" for ln in lines))
    (mods / "modules.builtin").write_text(
        "kernel/drivers/block/xen-blkfront.ko\n" + (f"{NETFRONT_REL}.ko\n" if builtin else "")
    )
    return root


def unpack(archive: bytes, where: Path) -> list[str]:
    """The member names as the real `cpio -t` lists them, and the files extracted by `cpio -i`."""
    if shutil.which("cpio") is None:
        pytest.fail("cpio is not installed (scripts/dev-setup installs it)")
    raw = gzip.decompress(archive)
    listed = subprocess.run(
        ["cpio", "-t", "--quiet"], input=raw, capture_output=True, check=True
    ).stdout.decode()
    where.mkdir()
    subprocess.run(
        ["cpio", "-i", "-d", "--quiet", "--no-absolute-filenames"],
        input=raw,
        cwd=where,
        capture_output=True,
        check=True,
    )
    return listed.split()


def test_the_archive_parses_with_the_real_cpio_and_holds_the_static_busybox(tmp_path) -> None:
    root = make_root(tmp_path)
    names = unpack(build_initramfs(RootFS(root), KERNEL), tmp_path / "out")
    assert set(names) >= {
        "bin",
        "dev",
        "dev/console",
        "proc",
        "sys",
        "bin/busybox",
        "init",
        "canary.sh",
        "lease.sh",
        "modules/xen-netfront.ko",
    }
    out = tmp_path / "out"
    assert (out / "bin/busybox").read_bytes() == HOST_BUSYBOX.read_bytes()
    assert elf_interpreter((out / "bin/busybox").read_bytes()) is None
    assert (out / "init").stat().st_mode & 0o111 == 0o111
    assert (out / "lease.sh").stat().st_mode & 0o111 == 0o111  # udhcpc executes it
    assert (out / "modules/xen-netfront.ko").read_bytes() == MODULE_BYTES
    init = (out / "init").read_text()
    assert init.startswith("#!/bin/busybox sh\n")
    assert "insmod /modules/xen-netfront.ko\n" in init
    assert init.rstrip().endswith("poweroff -f")
    console = out / "dev/console"
    assert console.is_char_device() and (console.stat().st_rdev >> 8) == 5


def test_the_scripts_parse_with_the_real_busybox_shell(tmp_path) -> None:
    busybox = host_static_busybox()
    modules = netfront_modules(RootFS(make_root(tmp_path)), KERNEL)
    for name, text in (
        ("init", init_script(modules)),
        ("canary.sh", CANARY_SH),
        ("lease", LEASE_SH),
    ):
        script = tmp_path / name
        script.write_text(text)
        done = subprocess.run([str(busybox), "sh", "-n", str(script)], capture_output=True)
        assert done.returncode == 0, (name, done.stderr)
    assert "udhcpc -i eth0 -f -n -R " in CANARY_SH  # give up without a lease, release on exit
    assert "kill -USR2 $pid" in CANARY_SH  # the release, once lease.sh has held the lease
    assert 'ip addr add "$ip/$mask" dev "$interface"' in LEASE_SH


def test_a_ko_xz_module_is_decompressed(tmp_path) -> None:
    root = make_root(tmp_path, module=".ko.xz")
    (module,) = netfront_modules(RootFS(root), KERNEL)
    assert (module.name, module.data) == ("xen-netfront.ko", MODULE_BYTES)


def test_a_ko_gz_module_is_decompressed(tmp_path) -> None:
    root = make_root(tmp_path, module=".ko.gz")
    (module,) = netfront_modules(RootFS(root), KERNEL)
    assert module.data == MODULE_BYTES


def test_a_built_in_netfront_needs_no_module_and_no_insmod(tmp_path) -> None:
    root = make_root(tmp_path, module=".ko.zst", builtin=True)  # zstd is fine when built in
    assert netfront_modules(RootFS(root), KERNEL) == []
    names = unpack(build_initramfs(RootFS(root), KERNEL), tmp_path / "out")
    assert not any(n.startswith("modules/") and n != "modules" for n in names)
    assert "insmod" not in (tmp_path / "out/init").read_text()


def test_a_zstd_module_that_is_not_built_in_is_refused(tmp_path) -> None:
    root = make_root(tmp_path, module=".ko.zst")
    with pytest.raises(CanaryRefused, match=r"xen-netfront\.ko\.zst is zstd-compressed"):
        netfront_modules(RootFS(root), KERNEL)


def test_a_missing_module_is_refused(tmp_path) -> None:
    root = make_root(tmp_path, module=None)
    with pytest.raises(CanaryRefused, match=f"kernel {KERNEL} has no xen-netfront module"):
        netfront_modules(RootFS(root), KERNEL)


def test_no_modules_dep_is_refused_with_depmod(tmp_path) -> None:
    root = make_root(tmp_path)
    (root / MODULES / "modules.dep").unlink()
    with pytest.raises(CanaryRefused, match=f"run `depmod {KERNEL}`"):
        netfront_modules(RootFS(root), KERNEL)


def test_dependencies_load_first_in_modules_dep_order(tmp_path) -> None:
    root = make_root(tmp_path, deps="kernel/a/first-needed.ko kernel/b/base.ko.xz")
    (root / MODULES / "kernel/a").mkdir(parents=True)
    (root / MODULES / "kernel/b").mkdir(parents=True)
    (root / MODULES / "kernel/a/first-needed.ko").write_bytes(b"needed")
    (root / MODULES / "kernel/b/base.ko.xz").write_bytes(lzma.compress(b"base"))
    modules = netfront_modules(RootFS(root), KERNEL)
    assert [(m.name, m.data) for m in modules] == [
        ("base.ko", b"base"),  # modules.dep's last dependency is loaded first
        ("first-needed.ko", b"needed"),
        ("xen-netfront.ko", MODULE_BYTES),
    ]
    assert init_script(modules).index("base.ko") < init_script(modules).index("xen-netfront")


def test_a_dynamic_busybox_is_refused_with_busybox_static(tmp_path) -> None:
    dynamic = Path("/bin/ls")  # any dynamically linked program
    assert elf_interpreter(dynamic.read_bytes()) is not None
    root = make_root(tmp_path, busybox=dynamic)
    with pytest.raises(CanaryRefused, match=r"dynamically linked .*install busybox-static"):
        static_busybox(RootFS(root))


def test_a_missing_or_non_elf_busybox_is_refused(tmp_path) -> None:
    root = make_root(tmp_path, busybox=b"#!/bin/sh\necho not busybox\n")
    with pytest.raises(CanaryRefused, match=r"not an ELF file; install busybox-static"):
        static_busybox(RootFS(root))
    (root / "bin/busybox").unlink()
    with pytest.raises(CanaryRefused, match=r"no /bin/busybox.*install busybox-static"):
        static_busybox(RootFS(root))


def test_a_static_program_that_is_not_busybox_is_refused(tmp_path) -> None:
    # The smallest ELF64: a header with no program headers, so no interpreter.
    header = (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)
    )
    assert elf_interpreter(header) is None
    root = make_root(tmp_path, busybox=header)
    with pytest.raises(CanaryRefused, match="a static program but not BusyBox"):
        static_busybox(RootFS(root))
