"""What `apply --skip-packages` leaves out, and why: one rule for the executor (asked at each
step, on the root as it is then) and for `plan --skip-packages` (asked ahead, on the root as it
is now), so the plan, the apply and the Ansible module's check mode agree."""

from __future__ import annotations

import os

from xenwizard.planning.plan import EditFile, InstallPackages, Plan, Step, Symlink, needs_xen_entry
from xenwizard.target.rootfs import RootFS


def skips_packages(step: Step, skip_packages: bool) -> bool:
    """The package step that --skip-packages leaves out (one with packages to install)."""
    return skip_packages and isinstance(step, InstallPackages) and bool(step.packages)


def packages_note(step: InstallPackages) -> str:
    return f"skipped (--skip-packages): {' '.join(step.packages)}"


def waiting_reason(step: Step, root: RootFS) -> str | None:
    """Why a step cannot happen once packages were skipped, or None: a boot step (it needs
    Xen's GRUB entry), a link whose directory, or a deferred edit whose file, a skipped package
    would have brought. The step is skipped with this note instead of failing the apply."""
    if needs_xen_entry(step):
        return (
            "skipped: the boot steps (GRUB drop-in, one-shot boot into Xen, boot guard) need "
            "Xen's GRUB entry, which comes with the packages, and packages were skipped"
        )
    if isinstance(step, Symlink) and not step.exists and not step.create_dirs:
        parent = os.path.dirname(step.path)
        if not root.is_dir(parent):
            source = f"comes with {step.package}" if step.package else "is missing"
            return f"skipped: {parent} {source}, and packages were skipped"
    if isinstance(step, EditFile) and step.deferred and not os.path.lexists(root.path(step.path)):
        source = ", ".join(step.installing) or "a package this plan installs"
        return f"skipped: {step.path} comes with {source}, and packages were skipped"
    return None


def skipped_steps(plan: Plan, root: RootFS, skip_packages: bool) -> dict[int, str]:
    """Step index -> the note `apply --skip-packages` would give each step it skips: the
    package step, then every later step `waiting_reason` holds back."""
    skipped: dict[int, str] = {}
    packages_skipped = False
    for index, step in enumerate(plan.steps):
        if isinstance(step, InstallPackages):
            if skips_packages(step, skip_packages):
                skipped[index] = packages_note(step)
                packages_skipped = True
            continue
        reason = waiting_reason(step, root) if packages_skipped else None
        if reason:
            skipped[index] = reason
    return skipped
