"""Commands a file step runs after writing its file and again after restoring it on undo.

The journal records only the name; the command comes from this fixed table, so a journal
(which lives in the target root and may be hostile) never names a program to run. Kept with
the file step rather than as a step of its own because undo runs in reverse step order: a
separate "run update-grub" step would be undone before the file it reads is restored.
"""

from __future__ import annotations

from xenwizard.engine.stepcontext import StepContext, StepError

REFRESH: dict[str, tuple[str, ...]] = {
    "update-grub": ("update-grub",),  # grub.cfg from /etc/default/grub and grub.d/*.cfg
}


def run_refresh(ctx: StepContext, name: str) -> None:
    """Run the table's command for `name`; a failure is the step's failure."""
    argv = REFRESH.get(name)
    if argv is None:
        raise StepError(f"unknown refresh {name!r}; expected one of {', '.join(REFRESH)}")
    code = ctx.run(list(argv))
    if code != 0:
        raise StepError(f"{argv[0]} exited with status {code}")
