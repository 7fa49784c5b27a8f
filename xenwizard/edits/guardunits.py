"""The boot guard's systemd units: a timer that fires N minutes after boot and the
(Type=exec) service it starts, `xenwizard boot-guard expire` (which rolls the run back and
reboots unless `xenwizard confirm` removed these files first). Written as files and an
enabling link, never through systemctl, so they work the same in a chroot or a fixture root."""

from __future__ import annotations

from xenwizard.edits import EditError, EditResult

NAME = "xenwizard-boot-guard"
SERVICE_PATH = f"etc/systemd/system/{NAME}.service"
TIMER_PATH = f"etc/systemd/system/{NAME}.timer"
TIMER_LINK = f"etc/systemd/system/timers.target.wants/{NAME}.timer"
TIMER_TARGET = f"/{TIMER_PATH}"  # what `systemctl enable` writes into the link
MARKER = "# Written by xenwizard:"
MIN_MINUTES, MAX_MINUTES = 1, 1440


def render_service(xenwizard: str) -> str:
    if not xenwizard.startswith("/") or any(c.isspace() or c in "\"'\\%$;" for c in xenwizard):
        raise EditError(f"{xenwizard!r} is not a plain absolute path to xenwizard")
    return (
        f"{MARKER} the boot guard. Unless `xenwizard confirm` removed it first, it rolls\n"
        "# back xenwizard's last run (files, packages, GRUB) and reboots into the previous entry.\n"
        "[Unit]\n"
        "Description=xenwizard boot guard: roll the run back unless confirmed\n"
        "\n"
        "[Service]\n"
        "# exec, not oneshot: the rollback removes this file and the purge reloads systemd, and\n"
        "# a oneshot still starting then gets the default 90 s start timeout and is killed in the\n"
        "# middle of apt-get purge; a started exec service runs on without its file.\n"
        "Type=exec\n"
        f"ExecStart={xenwizard} boot-guard expire\n"
    )


def render_timer(minutes: int) -> str:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise EditError(f"{minutes} minutes; expected {MIN_MINUTES} to {MAX_MINUTES}")
    return (
        f"{MARKER} the boot guard's deadline: {minutes} min after boot, {NAME}.service\n"
        "# rolls the run back unless `xenwizard confirm` ran (it removes this timer).\n"
        "[Unit]\n"
        "Description=xenwizard boot guard deadline\n"
        "\n"
        "[Timer]\n"
        f"OnBootSec={minutes}min\n"
        "AccuracySec=1s\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )


def own(path: str, text: str | None, after: str) -> EditResult:
    """`after` for a unit file of the guard's; a file there that xenwizard did not write is
    refused."""
    if text is not None and not text.startswith(MARKER):
        raise EditError(f"exists and was not written by xenwizard; expected {MARKER!r} first")
    return EditResult(after, ("already as wanted",) if text == after else (f"create {path}",))
