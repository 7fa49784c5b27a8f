"""A Plan as plain text (what `xenwizard plan` prints and `s` saves) or as JSON-ready data."""

from __future__ import annotations

from collections.abc import Mapping

from xenwizard.planning.plan import (
    BootOnce,
    EditFile,
    InstallPackages,
    Plan,
    SetSysctl,
    Step,
    Symlink,
    needs_xen_entry,
)


def step_detail(step: Step) -> str:
    """One short phrase saying what the step touches."""
    if isinstance(step, EditFile):
        verb = "create" if step.before is None and not step.deferred else "edit"
        return f"{verb} {step.path}"
    if isinstance(step, Symlink):
        return f"link {step.path} -> {step.target}"
    if isinstance(step, InstallPackages):
        if not step.packages:
            return "no packages to install (all already installed)"
        return "apt-get install " + " ".join(step.packages)
    if isinstance(step, BootOnce):
        return f"set next_entry and saved_entry in {step.path}"
    return f"sysctl -w {step.key}={step.value}"


def step_state(step: Step, skipped: str | None = None) -> str:
    if skipped:
        return "skipped with --skip-packages"
    if isinstance(step, EditFile) and step.deferred:
        return "change (after install)"
    return "change" if step.changed else "no change"


def plan_text(plan: Plan, *, diffs: bool = True, skipped: Mapping[int, str] | None = None) -> str:
    """The human plan: profile, warnings, every step with its notes, then its diff.

    `skipped` (index -> why, from `engine.skipping.skipped_steps`): the steps
    `apply --skip-packages` leaves out, shown with the executor's note and no diff."""
    skipped = skipped or {}
    out = [
        f"xenwizard plan: profile {plan.profile} ({plan.profile_reason})",
        f"root: {plan.root}",
        "",
    ]
    for warning in plan.warnings:
        out.append(f"warning: {warning}")
    if plan.warnings:
        out.append("")
    if plan.boot is not None:
        out += [*(f"boot: {line}" for line in plan.boot.lines()), ""]
    total = len(plan.steps)
    for number, step in enumerate(plan.steps, 1):
        why = skipped.get(number - 1)
        state = step_state(step, why)
        out.append(f"[{number}/{total}] {step.title}: {state} ({step_detail(step)})")
        out.extend(f"      {note}" for note in ((why,) if why else ()) + step.notes)
        if diffs and isinstance(step, EditFile) and step.changed and not step.deferred and not why:
            out.append(step.diff().rstrip("\n"))
    changing = sum(1 for i, s in enumerate(plan.steps) if s.changed and i not in skipped)
    summary = f"Plan: {changing} of {total} steps change something"
    if skipped:
        summary += f"; {len(skipped)} skipped with --skip-packages"
    out += ["", summary + "."]
    return "\n".join(out) + "\n"


def step_data(step: Step) -> dict[str, object]:
    data: dict[str, object] = {
        "id": step.id,
        "kind": step.kind,
        "title": step.title,
        "changed": step.changed,
        "notes": list(step.notes),
    }
    if isinstance(step, EditFile):
        data.update(
            path=step.path,
            creates=step.before is None,
            deferred=step.deferred,
            before=step.before,
            after=step.after,
            mode=oct(step.mode),
            diff=step.diff(),
        )
    elif isinstance(step, Symlink):
        data.update(path=step.path, target=step.target, exists=step.exists)
    elif isinstance(step, InstallPackages):
        data.update(packages=list(step.packages), already_installed=list(step.already_installed))
    elif isinstance(step, BootOnce):
        data.update(path=step.path, next_entry=step.entry, saved_entry=step.previous)
    elif isinstance(step, SetSysctl):
        data.update(key=step.key, value=step.value, current=step.current)
    if isinstance(step, (EditFile, InstallPackages)) and step.refresh:
        data.update(refresh=step.refresh)
    if needs_xen_entry(step):
        data.update(needs_xen_entry=True)  # apply --skip-packages skips it (Ansible reads this)
    return data


def plan_data(plan: Plan, skipped: Mapping[int, str] | None = None) -> dict[str, object]:
    """The plan as JSON data. With `skipped` (what `plan --skip-packages` passes) every step
    has `skipped` (the executor's note, or null) and `changed` counts only the steps
    `apply --skip-packages` would do."""
    steps = [step_data(s) for s in plan.steps]
    changed = plan.changed
    if skipped is not None:
        for index, data in enumerate(steps):
            data["skipped"] = skipped.get(index)
        changed = any(s.changed for i, s in enumerate(plan.steps) if i not in skipped)
    return {
        "profile": plan.profile,
        "profile_reason": plan.profile_reason,
        "root": plan.root,
        "changed": changed,
        "skip_packages": skipped is not None,
        "answers": plan.answers,
        "warnings": list(plan.warnings),
        "facts": {"toolstack": plan.toolstack},
        "boot": plan.boot.data() if plan.boot is not None else None,
        "steps": steps,
    }


def root_only_files(plan: Plan) -> list[str]:
    """Files whose diff context the plan shows but only root may read (mode without group or
    other read): a saved plan then holds lines of them, so it is written 0600 and says so."""
    return [
        step.path
        for step in plan.steps
        if isinstance(step, EditFile)
        and step.before
        and step.mode_before is not None
        and not step.mode_before & 0o044
        and step.diff()
    ]
