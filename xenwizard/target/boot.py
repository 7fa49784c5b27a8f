"""How the target boots, as far as xenwizard's boot steps care: UEFI Secure Boot, GRUB,
systemd, and where the running xenwizard is installed (the boot guard's unit runs it).

Read through the target root like every other fact; nothing here runs a program.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from xenwizard.target.rootfs import RootError, RootFS

# efivarfs names a variable NAME-GUID; SecureBoot lives under EFI_GLOBAL_VARIABLE (UEFI spec; the
# kernel's include/linux/efi.h EFI_GLOBAL_VARIABLE_GUID).
# tests/contracts/test_real_world_facts.py checks it.
EFI_GLOBAL_VARIABLE = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
SECURE_BOOT_VAR = f"sys/firmware/efi/efivars/SecureBoot-{EFI_GLOBAL_VARIABLE}"
UPDATE_GRUB = ("usr/sbin/update-grub", "sbin/update-grub")
GRUB_DIR = "boot/grub"
SYSTEMD = ("usr/lib/systemd/systemd", "lib/systemd/systemd")
PACKAGE_VENV = Path("/usr/lib/xenwizard")  # debian/rules
PACKAGE_COMMAND = "/usr/bin/xenwizard"


def secure_boot(fs: RootFS) -> tuple[bool | None, str]:
    """(on?, why) from the SecureBoot EFI variable: 4 bytes of attributes, then one byte, 1 =
    on. None when it cannot be told (no such variable: not UEFI or no efivarfs; or a file of
    another shape), with the reason."""
    try:
        data = fs.read_bytes(SECURE_BOOT_VAR, limit=64)
    except (RootError, OSError) as exc:
        return None, f"/{SECURE_BOOT_VAR}: unreadable ({exc})"
    if data is None:
        return None, "no SecureBoot EFI variable (legacy BIOS boot, or efivarfs not mounted)"
    if len(data) != 5 or data[4] not in (0, 1):
        return None, f"/{SECURE_BOOT_VAR}: {len(data)} bytes; expected 4 of attributes and 0 or 1"
    return data[4] == 1, "on" if data[4] == 1 else "off"


def grub_missing(fs: RootFS) -> str | None:
    """Why the target has no GRUB xenwizard can configure (None: update-grub and boot/grub
    are there)."""
    if not any(fs.exists(p) for p in UPDATE_GRUB):
        return f"/{UPDATE_GRUB[0]} is missing"
    if not fs.is_dir(GRUB_DIR):
        return f"/{GRUB_DIR} is missing"
    return None


def has_systemd(fs: RootFS) -> bool:
    return any(fs.exists(p) for p in SYSTEMD)


def xenwizard_path() -> str | None:
    """The absolute path of the installed `xenwizard` command that is running now: the .deb's
    /usr/bin wrapper, the console script it was started as, else the one beside this Python
    (a venv's bin/), else the one on PATH; None when there is none."""
    if Path(sys.prefix) == PACKAGE_VENV and os.path.isfile(PACKAGE_COMMAND):
        return PACKAGE_COMMAND  # the .deb: its venv has no console script, the wrapper runs it
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "xenwizard" and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    beside = Path(sys.executable).with_name("xenwizard")
    if beside.is_file():
        return str(beside)
    for directory in os.environ.get("PATH", "").split(os.pathsep):  # shutil.which, unimported:
        found = os.path.join(directory, "xenwizard")  # `xenwizard plan` stays light
        if os.path.isabs(found) and os.path.isfile(found) and os.access(found, os.X_OK):
            return found
    return None


def untrusted(host: str | os.PathLike[str], top: str | os.PathLike[str] = "/") -> str | None:
    """Why `host` is not a program only root can change (None: it is): it and every directory
    above it, up to `top`, must be owned by root and writable by nobody else; links resolved
    first (the file they lead to is the one that runs). Run as another user (the demo, tests),
    that user's own files count too: such a run cannot install a guard on a real system."""
    real = Path(os.path.realpath(host))
    stop = Path(os.path.realpath(top))
    if real != stop and stop not in real.parents:
        return f"{host} leads to {real}, outside {stop}"
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"{real}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"{real} is not a regular file"
    for path in (real, *[p for p in real.parents if p == stop or stop in p.parents]):
        st = os.stat(path)
        if st.st_uid not in (0, os.geteuid()):  # not root: a demo's copy, never run at boot
            return f"{path} is owned by uid {st.st_uid}, not root"
        if st.st_mode & 0o022:
            return f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def guard_program(fs: RootFS) -> tuple[str | None, str]:
    """(the path the boot guard's unit names, or None; why not). On the running system: the
    running xenwizard's command (`xenwizard_path`). With --root: the path must exist in the
    target, where the unit runs: the .deb's /usr/bin/xenwizard there, else the running
    command's path if the target has it. Either way only a program only root can change."""
    if fs.is_live:
        command = xenwizard_path()
        if command is None:
            return None, "cannot tell where the xenwizard command is installed"
        reason = untrusted(command)
        return (command, "") if reason is None else (None, f"{command}: {reason}")
    running = xenwizard_path()
    candidates = dict.fromkeys([PACKAGE_COMMAND, *([running] if running else [])])
    reasons = []
    for command in candidates:
        try:
            host = fs.path(command)
        except RootError as exc:
            reasons.append(str(exc))
            continue
        if not host.exists():
            reasons.append(f"{command} is not in the target {fs.root}")
            continue
        reason = untrusted(host, fs.real_root)
        if reason is None:
            return command, ""
        reasons.append(f"{command} in the target: {reason}")
    return None, "; ".join(reasons)
