"""A kernel parameter set on the running system, journaled with the value it had.

The journal is data (it lives in the target root): the undo runs `sysctl -w KEY=VALUE` only
for a key in KEYS and a value that key accepts, both checked by the journal schema, so a
crafted journal can name neither another parameter nor anything to run.
"""

from __future__ import annotations

from xenwizard.engine.journal import Record
from xenwizard.engine.journalschema import SYSCTL_KEYS as KEYS
from xenwizard.engine.stepcontext import StepContext, StepError
from xenwizard.planning.plan import SetSysctl
from xenwizard.target.sysctl import read

SYSCTL = "sysctl"


def _check(key: str, value: str) -> None:
    if value not in KEYS.get(key, ()):
        raise StepError(f"sysctl {key}={value}: not a parameter and value xenwizard sets")


def _set(ctx: StepContext, key: str, value: str) -> None:
    _check(key, value)
    code = ctx.run([SYSCTL, "-w", f"{key}={value}"])
    if code != 0:
        raise StepError(f"sysctl -w {key}={value} exited with status {code}")


def do_sysctl(ctx: StepContext, step: SetSysctl) -> tuple[bool, tuple[str, ...]]:
    """Set the value now (the step is planned for the live root only; a step found in a plan
    for another root changes nothing: that kernel is not the target's)."""
    _check(step.key, step.value)
    if not ctx.root.is_live:
        return False, (*step.notes, "not the live system: nothing set now")
    was = read(step.key)
    if was is None or was not in KEYS[step.key]:
        raise StepError(f"cannot read {step.key} from /proc/sys; expected 0 or 1")
    if was == step.value:
        return False, (*step.notes, f"{step.key} is already {step.value}")
    ctx.intent(step.id, "sysctl", key=step.key, value=step.value, was=was)
    _set(ctx, step.key, step.value)
    ctx.result(changed=True)
    return True, (*step.notes, f"{step.key}: {was} -> {step.value}")


def undo_sysctl(ctx: StepContext, intent: Record) -> str:
    """Write back the value the parameter had before the run."""
    key, was = intent["key"], intent["was"]
    _set(ctx, key, was)
    return f"undone: {key} = {was} again"
