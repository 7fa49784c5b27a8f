"""The profile seam: one class per release family turns answers + facts into a Plan.

Profiles share the step builders here, so reading a file, deferring an edit until its package
is installed, and turning an edit's complaint into a one-line error happen in one place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace

from xenwizard.config import WizardConfig
from xenwizard.edits import EditError, EditResult
from xenwizard.plan import EditFile, InstallPackages, Plan, Step, Symlink, executable_mode
from xenwizard.probe import SystemFacts
from xenwizard.rootfs import RootFS


class PlanError(ValueError):
    """A plan cannot be made; the message names the file or release and what was expected."""


class Profile(ABC):
    """A release family's recipe. Subclasses set the class attributes and `steps`."""

    name: str
    title: str  # e.g. "Ubuntu 12.04 Precise with Xen 4.1 (xend, xm toolstack)"
    toolstack: str  # "xm" (xend era) or "xl"
    udp_checksum_default: bool
    toolstack_note: str = ""  # what the toolstack screen says; "" = use the plan's warnings
    asks_nic: bool = False  # the bridge takes over a NIC the operator may choose (--nic)
    bridge_max_len: int = 15  # Linux's limit; 13 where an alias BR:0 must fit too
    udp_checksum_optional: bool = False  # the plan honours --[no-]udp-checksum-workaround

    @abstractmethod
    def matches(self, facts: SystemFacts) -> bool:
        """Whether detection picks this profile for the system."""

    @abstractmethod
    def steps(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> list[Step]:
        """The ordered steps; raise PlanError when the system cannot be handled."""

    def warnings(self, config: WizardConfig, facts: SystemFacts) -> list[str]:
        """Profile-specific things the operator must read before applying."""
        return []

    def primary_nic(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> object | None:
        """The NIC the bridge takes over (current releases: a `current.NicChoice` with name,
        reason, mac, candidates, backend, error); None where xend makes the bridge."""
        return None

    def ssh_warning(self, config: WizardConfig, facts: SystemFacts, nic: str | None) -> str | None:
        """Plain words for the welcome/preview screens when SSH runs through that NIC."""
        return None

    def build(self, config: WizardConfig, facts: SystemFacts, fs: RootFS, reason: str) -> Plan:
        from xenwizard.preflight import warnings

        return Plan(
            profile=self.name,
            profile_reason=reason,
            root=str(fs.root),
            steps=tuple(self.steps(config, facts, fs)),
            answers=config.to_answers(),
            warnings=tuple(self.warnings(config, facts) + warnings(config, facts)),
            toolstack=facts.toolstack,
        )


def packages_step(step_id: str, wanted: tuple[str, ...], facts: SystemFacts) -> InstallPackages:
    missing = tuple(p for p in wanted if p not in facts.installed_packages)
    present = tuple(p for p in wanted if p in facts.installed_packages)
    notes = [f"install {', '.join(missing)}"] if missing else ["all packages already installed"]
    if missing and present:
        notes.append(f"already installed, left alone: {', '.join(present)}")
    return InstallPackages(
        id=step_id,
        title="Install packages",
        packages=missing,
        already_installed=present,
        notes=tuple(notes),
    )


def symlink_step(
    step_id: str,
    fs: RootFS,
    base: str,
    name: str,
    target: str,
    title: str,
    package: str | None = None,
    *,
    target_kind: str = "dir",
    create_dirs: bool = False,
) -> Symlink:
    """`base/name -> target` when missing; `package` is the one that brings `base`.

    `target_kind`: whether the target must be a directory or a file when the link is made;
    `create_dirs`: `base` is made when missing (journaled; a rollback removes it again).
    """
    path = f"{base}/{name}"
    exists = fs.is_symlink(path) or fs.exists(path)
    if exists:
        note = f"{path} already exists; left alone"
    elif fs.is_dir(base):
        note = f"create {path} -> {target}"
    elif create_dirs:
        note = f"create {path} -> {target} (and the directory {base})"
    else:
        note = f"create {path} -> {target} once the package has created {base}"
    return Symlink(
        id=step_id,
        title=title,
        path=path,
        target=target,
        exists=exists,
        notes=(note,),
        package=package,
        target_kind=target_kind,
        create_dirs=create_dirs,
    )


def edit_step(
    step_id: str,
    title: str,
    fs: RootFS,
    path: str,
    transform: Callable[[str | None], EditResult],
    *,
    installing: tuple[str, ...] = (),
    mode: int = 0o644,
    executable: bool = False,
) -> EditFile:
    """Read `path`, run the edit; defer it when the file comes with a package being installed.

    `executable`: the file must end up executable; an existing file without the x bits gets
    them (and the preview says so), since e.g. rc.local is skipped at boot otherwise.
    """
    before = fs.read_text(path)
    mode_before = fs.mode(path) if before is not None else None

    def checked(text: str | None) -> EditResult:
        try:
            return transform(text)
        except EditError as exc:
            raise PlanError(f"{path}: {exc}") from None

    step = EditFile(
        id=step_id,
        title=title,
        path=path,
        before=before,
        after=None,
        transform=checked,
        mode=mode,
        executable=executable,
        mode_before=mode_before,
    )
    if before is None and installing:
        reason = (
            f"{path} comes with {', '.join(installing)}, which this plan installs; "
            "the change is computed right after installation"
        )
        return replace(step, notes=(reason,), deferred_reason=reason, installing=installing)
    result = checked(before)
    step = replace(step, after=result.text, notes=result.notes)
    if step.needs_chmod and mode_before is not None:
        note = (
            f"{path} is not executable (mode {mode_before:04o}); it becomes "
            f"{executable_mode(mode_before):04o}, or it would be skipped at boot"
        )
        step = replace(step, notes=(*step.notes, note))
    return step


def require_file(
    expected: str, edit: Callable[[str], EditResult]
) -> Callable[[str | None], EditResult]:
    """Wrap an edit of an existing file: a missing file is an error that says what was expected."""

    def transform(text: str | None) -> EditResult:
        if text is None:
            raise EditError(f"missing; expected {expected}")
        return edit(text)

    return transform
