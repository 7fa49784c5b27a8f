"""The canary guest's initramfs, built from the host's own files (no download, no mkinitramfs).

A gzip'd newc cpio (written here, so /dev/console needs no mknod and nothing runs as another
program) holding the host's static busybox, xen-netfront from the running kernel's modules
(unless it is built in) and three scripts:

  /init       mounts /proc, /sys and /dev, loads the modules, runs /canary.sh, powers off
  /canary.sh  the network part: waits for eth0, runs `udhcpc -i eth0 -f -n -R -s /lease.sh`
              and, once the lease was held, has it released (SIGUSR2) and ends it; not
              `udhcpc -q -R`: busybox then quits before it counts as bound and releases nothing
  /lease.sh   udhcpc's script: on a lease it puts the address on eth0 (the release is sent
              from it) and holds the lease HOLD seconds, so the host sees it in dnsmasq's
              leases file

Every file is read through the target root; a missing or unusable one is a `CanaryRefused`
whose message says what to do.
"""

from __future__ import annotations

import gzip
import lzma
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Protocol

from xenwizard.target.rootfs import RootError, RootFS

BUSYBOX = "bin/busybox"
BUSYBOX_PACKAGE = "busybox-static"
NETFRONT = "xen-netfront"
HOLD = 10  # seconds the guest holds its lease before releasing it
DHCP_TRIES = 8  # udhcpc discover attempts, DHCP_INTERVAL s apart, before it gives up (-n)
DHCP_INTERVAL = 3
MAX_BINARY = 64 * 1024 * 1024
PT_INTERP = 3
_MODULE_NAME = re.compile(r"[A-Za-z0-9_.+-]+")

INIT = """#!/bin/busybox sh
# xenwizard's canary guest (`xenwizard verify --guest`): set up, run /canary.sh, power off
# (the domain's on_poweroff is destroy).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
{insmods}sh /canary.sh
poweroff -f
"""

CANARY_SH = f"""# The network part: a lease on eth0 from the host's dnsmasq, held, then released.
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
echo "xenwizard-canary: asking for a lease as $(cat /sys/class/net/eth0/address)"
# -n: give up after the tries; -R: release on exit. (With -q udhcpc quits before it counts as
# bound and sends no release.) /lease.sh holds the lease, then SIGUSR2 releases it.
rm -f /tmp/held
udhcpc -i eth0 -f -n -R -t {DHCP_TRIES} -T {DHCP_INTERVAL} -s /lease.sh &
pid=$!
while [ ! -e /tmp/held ] && kill -0 $pid 2>/dev/null; do sleep 0.2; done
if [ -e /tmp/held ]; then
    kill -USR2 $pid
    sleep 1
    kill $pid
else
    echo "xenwizard-canary: no lease"
fi
wait $pid
"""

LEASE_SH = f"""#!/bin/sh
# udhcpc's script: the address goes on the interface (udhcpc sends its release from it) and the
# lease is held {HOLD} s so the host sees it in dnsmasq's leases file; /tmp/held says it is done.
case "$1" in
    bound|renew)
        ip addr add "$ip/$mask" dev "$interface"
        echo "xenwizard-canary: lease $ip from $serverid"
        sleep {HOLD}
        : > /tmp/held
        ;;
    deconfig)
        ip addr flush dev "$interface"
        ;;
esac
exit 0
"""


class CanaryRefused(Exception):
    """The canary cannot be started here; the message says why and what to do (one line)."""


@dataclass(frozen=True, slots=True)
class Module:
    """A kernel module for the initramfs: its file name there and its (uncompressed) bytes."""

    name: str
    data: bytes


# --- busybox -------------------------------------------------------------------------------


def elf_interpreter(data: bytes) -> str | None:
    """The ELF's program interpreter (PT_INTERP: the dynamic loader), None for a static one.

    ValueError when `data` is not an ELF file."""
    if data[:4] != b"\x7fELF" or len(data) < 64:
        raise ValueError("not an ELF file")
    wide, order = data[4], "<" if data[5] == 1 else ">"
    if wide == 2:
        (phoff,) = struct.unpack_from(order + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 54)
        fields = order + "IIQQQQ"  # type, flags, offset, vaddr, paddr, filesz
        pick = (0, 2, 5)
    elif wide == 1:
        (phoff,) = struct.unpack_from(order + "I", data, 28)
        phentsize, phnum = struct.unpack_from(order + "HH", data, 42)
        fields = order + "IIIII"  # type, offset, vaddr, paddr, filesz
        pick = (0, 1, 4)
    else:
        raise ValueError("not an ELF file (unknown class)")
    for index in range(phnum):
        start = phoff + index * phentsize
        try:
            header = struct.unpack_from(fields, data, start)
        except struct.error:
            raise ValueError("truncated ELF program headers") from None
        kind, offset, size = (header[i] for i in pick)
        if kind == PT_INTERP:
            return data[offset : offset + size].rstrip(b"\0").decode("ascii", "replace")
    return None


def static_busybox(fs: RootFS) -> bytes:
    """ROOT/bin/busybox when it is a static busybox (busybox-static's); refused otherwise."""
    hint = f"install {BUSYBOX_PACKAGE} (`apt-get install {BUSYBOX_PACKAGE}`)"
    try:
        data = fs.read_bytes(BUSYBOX, MAX_BINARY)
    except RootError as exc:
        raise CanaryRefused(f"{exc}; {hint}") from None
    if data is None:
        raise CanaryRefused(f"no /{BUSYBOX}: the canary's initramfs is made from it; {hint}")
    try:
        interpreter = elf_interpreter(data)
    except ValueError as exc:
        raise CanaryRefused(f"/{BUSYBOX} is {exc}; {hint}") from None
    if interpreter is not None:
        raise CanaryRefused(
            f"/{BUSYBOX} is dynamically linked (needs {interpreter}; package busybox?): the "
            f"canary's initramfs has no C library; {hint}, which replaces busybox"
        )
    if b"BusyBox v" not in data:
        raise CanaryRefused(f"/{BUSYBOX} is a static program but not BusyBox; {hint}")
    return data


# --- xen-netfront --------------------------------------------------------------------------


def _module_basename(path: str) -> str:
    """`kernel/drivers/net/xen-netfront.ko.xz` -> `xen-netfront`."""
    name = path.rsplit("/", 1)[-1]
    return re.sub(r"\.ko(\.[a-z0-9]+)?$", "", name)


def _same_module(a: str, b: str) -> bool:
    return a.replace("_", "-") == b.replace("_", "-")


def netfront_modules(fs: RootFS, kernel: str, module: str = NETFRONT) -> list[Module]:
    """`module` and what it depends on, in load order, for kernel `kernel`: none when it is
    built in (modules.builtin), else from modules.dep, decompressed (.ko, .ko.xz, .ko.gz)."""
    base = f"lib/modules/{kernel}"
    try:
        builtin = fs.read_text(f"{base}/modules.builtin")
        deps = fs.read_text(f"{base}/modules.dep")
    except RootError as exc:
        raise CanaryRefused(str(exc)) from None
    if builtin is not None and any(
        _same_module(_module_basename(line.strip()), module) for line in builtin.splitlines()
    ):
        return []
    if deps is None:
        raise CanaryRefused(
            f"/{base}/modules.dep is missing, so {module} cannot be found for kernel {kernel}; "
            f"run `depmod {kernel}`"
        )
    table: dict[str, tuple[str, list[str]]] = {}
    for line in deps.splitlines():
        path, sep, rest = line.partition(":")
        if sep:
            table[_module_basename(path).replace("_", "-")] = (path.strip(), rest.split())
    entry = table.get(module.replace("_", "-"))
    if entry is None:
        raise CanaryRefused(
            f"kernel {kernel} has no {module} module (not in /{base}/modules.dep nor "
            "modules.builtin): the canary's network card needs it"
        )
    path, needed = entry
    # modules.dep lists a module's dependencies so that the last one is loaded first.
    return [_load_module(fs, base, rel) for rel in (*reversed(needed), path)]


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _unpack(decompressor: _Decompressor, data: bytes, where: str) -> bytes:
    """The module's bytes, at most MAX_BINARY of them: a file from the root that would unpack
    to more (a decompression bomb) is refused before it is, never unpacked whole."""
    out = decompressor.decompress(data, MAX_BINARY + 1)
    if len(out) > MAX_BINARY:
        raise CanaryRefused(f"{where} unpacks to more than {MAX_BINARY} bytes; not a kernel module")
    if not decompressor.eof:
        raise CanaryRefused(f"{where} cannot be decompressed: the compressed data ends early")
    return out


def _load_module(fs: RootFS, base: str, rel: str) -> Module:
    where = f"/{base}/{rel}"
    try:
        data = fs.read_bytes(f"{base}/{rel}", MAX_BINARY)
    except RootError as exc:
        raise CanaryRefused(str(exc)) from None
    if data is None:
        raise CanaryRefused(f"{where} is listed in modules.dep but missing; run `depmod`")
    name = _module_basename(rel)
    if not _MODULE_NAME.fullmatch(name):
        raise CanaryRefused(f"{where}: unexpected module file name; not used")
    if rel.endswith(".ko"):
        return Module(f"{name}.ko", data)
    try:
        if rel.endswith(".ko.xz"):
            return Module(f"{name}.ko", _unpack(lzma.LZMADecompressor(), data, where))
        if rel.endswith(".ko.gz"):
            return Module(f"{name}.ko", _unpack(zlib.decompressobj(wbits=31), data, where))
    except (lzma.LZMAError, zlib.error, OSError, EOFError) as exc:
        raise CanaryRefused(f"{where} cannot be decompressed: {exc}") from None
    if rel.endswith(".ko.zst"):
        raise CanaryRefused(
            f"{where} is zstd-compressed, which xenwizard cannot unpack, and {name} is not "
            "built into this kernel: the canary cannot have a network card here"
        )
    raise CanaryRefused(f"{where}: not a .ko, .ko.xz or .ko.gz module file")


# --- the archive ---------------------------------------------------------------------------

S_IFDIR, S_IFREG, S_IFCHR = 0o040000, 0o100000, 0o020000


def _cpio_entry(
    ino: int, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)
) -> bytes:
    """One newc ("070701") member: owner root, mtime 0, header+name and data padded to 4."""
    encoded = name.encode() + b"\0"
    nlink = 2 if mode & S_IFDIR else 1
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    head = header + encoded
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def newc_archive(members: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio of (name, mode, data) members, in order, with the trailer."""
    out = [
        _cpio_entry(ino, name, mode, data, (5, 1) if name == "dev/console" else (0, 0))
        for ino, (name, mode, data) in enumerate(members, 1)
    ]
    out.append(_cpio_entry(0, "TRAILER!!!", 0))
    archive = b"".join(out)
    return archive + b"\0" * (-len(archive) % 512)


def init_script(modules: list[Module]) -> str:
    insmods = "".join(f"insmod /modules/{m.name}\n" for m in modules)
    return INIT.format(insmods=insmods)


def build_initramfs(fs: RootFS, kernel: str) -> bytes:
    """The canary's gzip'd initramfs for kernel `kernel`, from ROOT's busybox and modules."""
    busybox = static_busybox(fs)
    modules = netfront_modules(fs, kernel)
    members: list[tuple[str, int, bytes]] = [
        (d, S_IFDIR | 0o755, b"") for d in ("bin", "dev", "modules", "proc", "sys", "tmp")
    ]
    members += [
        ("dev/console", S_IFCHR | 0o600, b""),
        ("bin/busybox", S_IFREG | 0o755, busybox),
        ("init", S_IFREG | 0o755, init_script(modules).encode()),
        ("canary.sh", S_IFREG | 0o644, CANARY_SH.encode()),
        ("lease.sh", S_IFREG | 0o755, LEASE_SH.encode()),
    ]
    members += [(f"modules/{m.name}", S_IFREG | 0o644, m.data) for m in modules]
    return gzip.compress(newc_archive(members), mtime=0)
