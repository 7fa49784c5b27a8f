"""Commands a file step runs after writing its file and again after restoring it on undo.

The journal records only the name; the command comes from this fixed table, so a journal
(which lives in the target root and may be hostile) never names a program to run. Kept with
the file step rather than as a step of its own because undo runs in reverse step order: a
separate "run update-grub" step would be undone before the file it reads is restored.

A command may create files as a side effect. grub-mkconfig reads saved_entry with
`grub-editenv - list` when GRUB_DEFAULT=saved (the boot guard's drop-in), and grub-editenv
creates a missing grubenv: an empty block that no journal knows, so a rollback left it behind.
Such a file, missing before the command and empty after it, is removed again.
"""

from __future__ import annotations

from dataclasses import dataclass

from xenwizard.edits import grubenv
from xenwizard.engine import atomic
from xenwizard.engine.stepcontext import StepContext, StepError
from xenwizard.target.rootfs import RootError


@dataclass(frozen=True, slots=True)
class Refresh:
    argv: tuple[str, ...]
    side_files: tuple[str, ...] = ()  # GRUB environment blocks it may create, empty


REFRESH: dict[str, Refresh] = {
    # grub.cfg from /etc/default/grub and grub.d/*.cfg
    "update-grub": Refresh(("update-grub",), (grubenv.PATH,)),
}


def run_refresh(ctx: StepContext, name: str) -> None:
    """Run the table's command for `name`; a failure is the step's failure."""
    refresh = REFRESH.get(name)
    if refresh is None:
        raise StepError(f"unknown refresh {name!r}; expected one of {', '.join(REFRESH)}")
    missing = [rel for rel in refresh.side_files if _read(ctx, rel) is None]
    code = ctx.run(list(refresh.argv))
    for rel in missing:
        if grubenv.is_empty(_read(ctx, rel)):
            atomic.unlink_at(ctx.root.path(rel), ctx.root)
            ctx.output(f"removed the empty /{rel} that {refresh.argv[0]} created")
    if code != 0:
        raise StepError(f"{refresh.argv[0]} exited with status {code}")


def _read(ctx: StepContext, rel: str) -> bytes | None:
    """The file's bytes (None when missing); anything but a small regular file reads as b""
    and is left alone."""
    try:
        return ctx.root.read_bytes(rel, limit=grubenv.SIZE * 4)
    except RootError:
        return b""
