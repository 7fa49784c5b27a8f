"""The profile seam: one class per release family turns answers + facts into a Plan.

Profiles share the step builders here, so reading a file, deferring an edit until its package
is installed, and turning an edit's complaint into a one-line error happen in one place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, EditResult, nftunit
from xenwizard.edits.nftunit import NftBoot
from xenwizard.errors import XenwizardError
from xenwizard.planning.plan import (
    BootNext,
    EditFile,
    Expected,
    InstallPackages,
    Plan,
    Step,
    Symlink,
    executable_mode,
)
from xenwizard.planning.preflight import refusal, secure_boot_warning, warnings
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

if TYPE_CHECKING:
    from xenwizard.target.netlayout import NetLayout, NicChoice


class PlanError(XenwizardError, ValueError):
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
    guest_ipv6: bool = False  # the plan honours --guest-ipv6 PREFIX (the bridge takes ::1)
    needs_grub: bool = False  # the plan configures GRUB (refused on a target without it)

    @abstractmethod
    def matches(self, facts: SystemFacts) -> bool:
        """Whether detection picks this profile for the system."""

    @abstractmethod
    def steps(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> list[Step]:
        """The ordered steps; raise PlanError when the system cannot be handled."""

    def warnings(self, config: WizardConfig, facts: SystemFacts) -> list[str]:
        """Profile-specific things the operator must read before applying."""
        return []

    def primary_nic(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> NicChoice | None:
        """The NIC the bridge takes over, or why none was found (current releases); None where
        xend makes the bridge."""
        return None

    def nic_problem(self, name: str, facts: SystemFacts, fs: RootFS) -> str | None:
        """Why `name` cannot be the bridged NIC (None: it can, or the profile takes no NIC)."""
        return None

    def ssh_warning(self, config: WizardConfig, facts: SystemFacts, nic: str | None) -> str | None:
        """Plain words for the welcome/preview screens when SSH runs through that NIC."""
        return None

    def bridge_problem(
        self, bridge: str, nic: str | None, facts: SystemFacts, fs: RootFS
    ) -> str | None:
        """Why `bridge` cannot name the new bridge, in one line (None when it can): the name
        is the loopback, the NIC the bridge takes over (`nic`, else the detected one), a live
        interface that is not a bridge, or an interface the network configuration makes
        something else (a NIC, a bond or its member, a VLAN). Every profile refuses these: the
        plan would reconfigure (or fail late on) what already carries that name."""
        from xenwizard.target.netlayout import configured_as

        again = "; choose another bridge name"
        if bridge == "lo":
            return f"lo is the loopback interface{again}"
        if nic is None:
            try:
                choice = self.primary_nic(replace(WizardConfig(), bridge=bridge), facts, fs)
            except (PlanError, OSError):
                choice = None
            nic = choice.name if choice is not None else None
        if bridge == nic:
            return f"{bridge} is the NIC the bridge takes over{again}"
        info = facts.interface(bridge)
        if info is not None and not info.is_bridge:
            what = "a network card" if info.is_physical else "an interface"
            return f"{bridge} is {what} of this system, not a bridge{again}"
        kind = configured_as(self.layout(fs), bridge)
        return f"{bridge} is already {kind}{again}" if kind else None

    def layout(self, fs: RootFS) -> NetLayout:
        """The target's network configuration (netlayout); ifupdown where xend makes the
        bridge, the release's own stack on current releases."""
        from xenwizard.target.netlayout import IFUPDOWN, NetLayout

        return NetLayout.read(fs, IFUPDOWN)

    def plan_steps(
        self, config: WizardConfig, facts: SystemFacts, fs: RootFS, warnings: list[str]
    ) -> list[Step]:
        """`steps`, for profiles whose steps find things to warn about (added to `warnings`)."""
        return self.steps(config, facts, fs)

    def plan_reason(
        self, reason: str, facts: SystemFacts, fs: RootFS, config: WizardConfig | None = None
    ) -> str:
        """Why this profile, as the plan says it (a profile may add how it will do the job)."""
        return reason

    def boot_next(
        self, config: WizardConfig, facts: SystemFacts, fs: RootFS, steps: Sequence[Step]
    ) -> BootNext | None:
        """What the plan says about the reboot (None where the profile does not know)."""
        return None

    def build(self, config: WizardConfig, facts: SystemFacts, fs: RootFS, reason: str) -> Plan:
        refused = refusal(fs, needs_grub=self.needs_grub)
        if refused:
            raise PlanError(refused)
        found: list[str] = []
        steps = self.plan_steps(config, facts, fs, found)
        unknown = secure_boot_warning(fs)
        if unknown:
            found.append(unknown)
        return Plan(
            profile=self.name,
            profile_reason=self.plan_reason(reason, facts, fs, config),
            root=str(fs.root),
            steps=tuple(steps),
            answers=config.to_answers(),
            warnings=tuple(found + self.warnings(config, facts) + warnings(config, facts)),
            toolstack=facts.toolstack,
            boot=self.boot_next(config, facts, fs, steps),
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


def enable_unit_step(step_id: str, fs: RootFS, link: str, target: str, title: str) -> Symlink:
    """The link `systemctl enable` writes (`link` in a `*.wants` directory, made when missing),
    as a journaled step: no systemctl, so it works on any root, and a rollback removes it."""
    base, name = link.rsplit("/", 1)
    return symlink_step(
        step_id, fs, base, name, target, title, target_kind="file", create_dirs=True
    )


def nft_boot_steps(step_id: str, fs: RootFS, boot: NftBoot, what: str) -> list[Step]:
    """The unit that loads an nftables table of xenwizard's own at boot, and its enabling link
    (steps `ID-unit` and `ID-enable`); the rules file is the caller's step."""
    unit = edit_step(
        f"{step_id}-unit",
        f"systemd: unit that loads {what} at boot",
        fs,
        boot.unit_path,
        boot.set_unit,
        mode=nftunit.MODE,
    )
    link = enable_unit_step(
        f"{step_id}-enable",
        fs,
        boot.unit_link,
        boot.unit_target,
        "systemd: that unit enabled at boot (sysinit.target wants it)",
    )
    note = "what `systemctl enable` writes; `xenwizard rollback` removes it"
    return [unit, replace(link, notes=(*link.notes, note))]


def edit_step(
    step_id: str,
    title: str,
    fs: RootFS,
    path: str,
    transform: Callable[[str | None], EditResult],
    *,
    installing: tuple[str, ...] = (),
    shipped_by: tuple[str, ...] = (),
    mode: int = 0o644,
    executable: bool = False,
) -> EditFile:
    """Read `path`, run the edit; defer it when the file comes with a package being installed.

    `shipped_by`: the packages that hold the file itself (a dependency of `installing`, say);
    when one's .deb is in the target's apt cache, the deferred step carries the change it will
    make to that package's file, for the preview.

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
        step = replace(step, notes=(reason,), deferred_reason=reason, installing=installing)
        return with_expected(step, fs, shipped_by)
    result = checked(before)
    step = replace(step, after=result.text, notes=result.notes)
    if step.needs_chmod and mode_before is not None:
        note = (
            f"{path} is not executable (mode {mode_before:04o}); it becomes "
            f"{executable_mode(mode_before):04o}, or it would be skipped at boot"
        )
        step = replace(step, notes=(*step.notes, note))
    return step


def with_expected(step: EditFile, fs: RootFS, shipped_by: tuple[str, ...]) -> EditFile:
    """The deferred step, with its change against the package's own file when a .deb in the
    target's apt cache holds it (else as it is)."""
    if not shipped_by:
        return step
    from xenwizard.target.shippedfile import from_apt_cache  # a cached .deb is rare: loaded then

    shipped = from_apt_cache(fs, step.path, shipped_by)
    if shipped is None:
        return step
    try:
        result = step.transform(shipped.text)
    except PlanError:
        return step  # the engine will say so after the install, on the real file
    note = (
        f"{step.path} as {shipped.source} ships it is known: the preview shows the change "
        "it will get"
    )
    expected = Expected(shipped.source, shipped.text, result.text)
    return replace(step, expected=expected, notes=(*step.notes, note))


def with_notes(step: Step, notes: list[str]) -> Step:
    """The step with these notes, the empty ones left out."""
    return replace(step, notes=tuple(n for n in notes if n))


def require_file(
    expected: str, edit: Callable[[str], EditResult]
) -> Callable[[str | None], EditResult]:
    """Wrap an edit of an existing file: a missing file is an error that says what was expected."""

    def transform(text: str | None) -> EditResult:
        if text is None:
            raise EditError(f"missing; expected {expected}")
        return edit(text)

    return transform


def dnsmasq_steps(
    config: WizardConfig,
    facts: SystemFacts,
    fs: RootFS,
    *,
    title: str,
    alias_note: bool = True,
    extra: str = "",
    notes: Sequence[str] = (),
    clear_conflicts: bool = False,
) -> list[Step]:
    """The dnsmasq step of every profile: xenwizard's drop-in when dnsmasq reads
    etc/dnsmasq.d (the packages' default), else a managed block in dnsmasq.conf.

    `alias_note`: the drop-in says the address comes from the seed's alias BR:0; `extra`: a
    release's own lines for the drop-in, `notes` the step's notes beyond where it goes;
    `clear_conflicts`: with the drop-in, dnsmasq.conf gets a step of its own when it holds
    competing DHCP settings or an old xenwizard block (left out when it holds neither).
    """
    from functools import partial

    from xenwizard.edits import dnsmasq
    from xenwizard.edits.text import remove_block

    installed = "dnsmasq" in facts.installed_packages
    conf = fs.read_text(dnsmasq.CONF_PATH)
    default = fs.read_text(dnsmasq.DEFAULT_PATH)
    # An etc/default/dnsmasq already here (a removed package's conffile, an admin's edit) is
    # kept by the install: what it says counts, not what the package would ship.
    kept = installed or default is not None
    if kept and not dnsmasq.reads_conf_dir(default, conf):
        edit = partial(dnsmasq.set_managed_block, config=config, alias_note=alias_note, extra=extra)
        managed = edit_step(
            "dnsmasq",
            title,
            fs,
            dnsmasq.CONF_PATH,
            require_file("dnsmasq's main configuration file", edit),
            installing=() if installed else ("dnsmasq",),
        )
        return [replace(managed, notes=(*managed.notes, *notes)) if notes else managed]
    why = (
        "dnsmasq reads etc/dnsmasq.d (CONFIG_DIR in etc/default/dnsmasq or conf-dir)"
        if installed
        else "dnsmasq is installed by this plan; its package reads etc/dnsmasq.d"
    )
    result = EditResult(
        dnsmasq.render_dropin(config, alias_note, extra),
        (f"own file {dnsmasq.DROPIN_PATH}: {why}", *notes),
    )
    steps: list[Step] = [edit_step("dnsmasq", title, fs, dnsmasq.DROPIN_PATH, lambda _text: result)]
    if clear_conflicts and conf is not None:

        def clear_conf(text: str | None) -> EditResult:
            if text is None:
                return EditResult("", ())
            cleared, removed = remove_block(text, dnsmasq.CONF_PATH)
            result = dnsmasq.disable_conflicts(cleared, config)
            return EditResult(result.text, removed + result.notes)

        conflicts = edit_step(
            "dnsmasq-conflicts",
            "dnsmasq.conf: no competing DHCP settings",
            fs,
            dnsmasq.CONF_PATH,
            clear_conf,
        )
        if conflicts.changed:
            steps.append(conflicts)
    return steps
