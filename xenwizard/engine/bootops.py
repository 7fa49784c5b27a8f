"""The one-shot first boot into Xen: grubenv's next_entry = the Xen entry, saved_entry = the
entry that boots by default now, journaled like a file edit (original bytes backed up; undo
puts them back byte for byte, or removes a grubenv the step created).

The Xen entry's title is read from grub.cfg right before writing (the packages and the drop-in
steps have run update-grub by then), because that title is what GRUB matches.
"""

from __future__ import annotations

from xenwizard.edits import EditError, grubcfg, grubenv
from xenwizard.engine.stepcontext import StepContext, StepError
from xenwizard.engine.stepops import write_journaled
from xenwizard.planning.plan import BootOnce
from xenwizard.target.rootfs import RootError


def xen_entry_now(ctx: StepContext, expected: str) -> str:
    """The Xen entry of the generated menu; StepError when there is none."""
    try:
        text = ctx.root.read_text(grubcfg.GRUB_CFG)
    except RootError as exc:
        raise StepError(f"{exc}; expected GRUB's generated menu") from None
    entry = grubcfg.xen_entry(text, expected)
    if entry is None:
        where = "is missing" if text is None else "has no Xen entry"
        raise StepError(
            f"{grubcfg.GRUB_CFG} {where} after update-grub (expected {expected!r}); the first "
            "boot into Xen cannot be made one-shot"
        )
    return entry


def do_boot_once(ctx: StepContext, step: BootOnce) -> tuple[bool, tuple[str, ...]]:
    entry = xen_entry_now(ctx, step.entry)
    try:
        current = ctx.root.read_bytes(step.path, limit=grubenv.SIZE * 4)
        new = grubenv.set_vars(current, {"saved_entry": step.previous, "next_entry": entry})
    except (EditError, RootError) as exc:
        raise StepError(f"{step.path}: {exc}") from None
    changed = write_journaled(
        ctx, step.id, "grubenv", step.path, new, 0o644, entry=entry, previous=step.previous
    )
    note = f"next boot: {entry!r}, once; the default stays {step.previous!r} until confirmed"
    return changed, (*step.notes, note)
