"""Constants of the package that name something in the real world, checked against the real
thing on this machine (a library, a program, a package's files, the kernel's /proc and /sys),
or, where this machine has none, against an upstream source cited beside the check.

Never against a copy of the constant: each expected value here comes from outside xenwizard.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
from pathlib import Path

import pytest

from xenwizard import boot

# --- UEFI: the SecureBoot variable ------------------------------------------------------------
# Upstream: torvalds/linux include/linux/efi.h, EFI_GLOBAL_VARIABLE_GUID
#   EFI_GUID(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c)
# On this machine: libefivar's exported efi_guid_global, and systemd's own SecureBoot name.

EFIVARS = Path("/sys/firmware/efi/efivars")


def _libefivar_global_guid() -> str | None:
    """efivar's EFI_GLOBAL_GUID, formatted by efivar itself (None: no libefivar here)."""
    name = ctypes.util.find_library("efivar")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    text = ctypes.c_char_p()
    lib.efi_guid_to_str.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p)]
    guid = ctypes.cast(lib.efi_guid_global, ctypes.c_void_p)
    if lib.efi_guid_to_str(guid, ctypes.byref(text)) < 0:
        return None
    return (text.value or b"").decode()


def _systemd_secure_boot_names() -> set[str]:
    """The SecureBoot-GUID names systemd's shared library reads (systemd's efivars code)."""
    found: set[str] = set()
    for path in glob.glob("/usr/lib/*/systemd/libsystemd-shared-*.so") + glob.glob(
        "/lib/systemd/libsystemd-shared-*.so"
    ):
        data = Path(path).read_bytes()
        start = data.find(b"SecureBoot-")
        while start >= 0:
            found.add(data[start : data.index(b"\0", start)].decode())
            start = data.find(b"SecureBoot-", start + 1)
    return found


def test_secure_boot_variable_is_efi_global_variable() -> None:
    name = Path(boot.SECURE_BOOT_VAR).name
    assert Path("/" + boot.SECURE_BOOT_VAR).parent == EFIVARS
    checked = 0
    if EFIVARS.is_dir():  # a UEFI machine: efivarfs itself
        secure_boot = [p.name for p in EFIVARS.iterdir() if p.name.startswith("SecureBoot-")]
        assert secure_boot in ([], [name]), secure_boot  # firmware without Secure Boot has none
        checked += 1
    guid = _libefivar_global_guid()
    if guid is not None:
        assert name == f"SecureBoot-{guid}"
        checked += 1
    systemd_names = _systemd_secure_boot_names()
    if systemd_names:
        assert name in systemd_names, systemd_names
        checked += 1
    if not checked:
        pytest.skip("no efivarfs, libefivar or systemd library here to check against")
