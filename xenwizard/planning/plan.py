"""What a run will do, as pure data: steps with their before/after and a summary.

A profile builds a `Plan`; `xenwizard plan`, the preview screen and the engine all read the same
object, so what the operator previewed is exactly what gets applied.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from xenwizard.edits import EditResult

# Edits whose input file does not exist yet at plan time (it comes with a package the plan
# installs) are computed by the engine right after the package step, from this transform.
Transform = Callable[[str | None], EditResult]


@dataclass(frozen=True, slots=True)
class InstallPackages:
    """Install the packages that are missing; the ones already there are listed, not touched."""

    id: str
    title: str
    packages: tuple[str, ...]  # to install
    already_installed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    refresh: str | None = None  # run after the undo's purge (engine.refresh.REFRESH's names)
    kind: str = "packages"

    @property
    def changed(self) -> bool:
        return bool(self.packages)


@dataclass(frozen=True, slots=True)
class Symlink:
    """Create `path -> target` when the link is missing; an existing link is left alone."""

    id: str
    title: str
    path: str  # relative to the root, posix
    target: str  # as written into the link
    exists: bool = False
    notes: tuple[str, ...] = ()
    package: str | None = None  # the package that brings the link's directory, when known
    target_kind: str = "dir"  # what the target must be when the link is made: "dir" or "file"
    create_dirs: bool = False  # make missing directories that hold the link (journaled, undone)
    kind: str = "symlink"

    @property
    def changed(self) -> bool:
        return not self.exists


@dataclass(frozen=True, slots=True)
class Expected:
    """A deferred edit run on the file its package ships, when that file is known before the
    install (`xenwizard.target.shippedfile`): what the preview can show of the change to come."""

    source: str  # where the package's file was read, relative to the root
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class EditFile:
    """Replace a file's text; `before is None` means the file is created."""

    id: str
    title: str
    path: str  # relative to the root, posix
    before: str | None
    after: str | None  # None: deferred, computed by `transform` once the package is installed
    transform: Transform = field(compare=False, repr=False)
    notes: tuple[str, ...] = ()
    mode: int = 0o644  # for a file the step creates
    deferred_reason: str | None = None
    executable: bool = False  # the file must end up executable (rc.local is skipped otherwise)
    mode_before: int | None = None  # permission bits at plan time, None: file missing
    installing: tuple[str, ...] = ()  # deferred: the packages of this plan that bring the file
    expected: Expected | None = None  # deferred: the change against the package's own file
    refresh: str | None = None  # a name in engine.refresh.REFRESH: run after writing and undoing
    kind: str = "edit"

    @property
    def needs_chmod(self) -> bool:
        return (
            self.executable
            and self.mode_before is not None
            and executable_mode(self.mode_before) != self.mode_before
        )

    @property
    def changed(self) -> bool:
        return self.after is None or self.before != self.after or self.needs_chmod

    @property
    def deferred(self) -> bool:
        return self.after is None

    def diff(self) -> str:
        """Unified diff with a/ b/ paths relative to the root (`patch -p1 -d ROOT` applies it)."""
        if self.after is None:
            return ""
        return unified_diff(self.path, self.before, self.after)

    def expected_diff(self) -> str:
        """A deferred edit's diff against the package's file, when known (preview only: the
        file is not on the target yet, so it is no patch for it)."""
        if self.expected is None:
            return ""
        return unified_diff(self.path, self.expected.before, self.expected.after)


@dataclass(frozen=True, slots=True)
class SetSysctl:
    """A kernel parameter set on the running system now (a file in /etc/sysctl.d keeps it from
    boot on). The journal keeps the value it had, which a rollback writes back. Planned only
    for the live root (`/`): a target tree's kernel is not this machine's, and the file does
    the job at its boot."""

    id: str
    title: str
    key: str  # a name in engine.journalschema.SYSCTL_KEYS
    value: str
    current: str | None = None  # the value at plan time
    notes: tuple[str, ...] = ()
    kind: str = "sysctl"

    @property
    def changed(self) -> bool:
        return self.current != self.value


@dataclass(frozen=True, slots=True)
class BootOnce:
    """The next boot, once, into the Xen entry; GRUB's saved default stays `previous` until
    `xenwizard confirm` (grubenv's next_entry and saved_entry). `entry` is the title expected
    from xen.cfg's rule; the engine takes the real one from grub.cfg after update-grub."""

    id: str
    title: str
    previous: str  # saved_entry: what boots by default until confirmed
    entry: str  # next_entry: the Xen entry
    path: str = "boot/grub/grubenv"
    notes: tuple[str, ...] = ()
    done: bool = False  # grubenv already says so (plan after apply: no change)
    kind: str = "grubenv"

    @property
    def changed(self) -> bool:
        return not self.done


@dataclass(frozen=True, slots=True)
class BootNext:
    """What the plan says about the reboot: which entry boots next, whether it is Xen, what the
    default stays until confirmed, and the boot guard (its deadline, or why there is none)."""

    next_entry: str
    next_is_xen: bool
    default_entry: str
    guard_minutes: int | None  # None: no boot guard
    guard_note: str = ""

    def lines(self) -> list[str]:
        xen = "Xen" if self.next_is_xen else "not Xen"
        out = [f"next boot: {self.next_entry!r} ({xen})"]
        if self.guard_minutes is not None:
            out.append(
                f"default until `xenwizard confirm`: {self.default_entry!r}; the boot guard "
                f"rolls the run back {self.guard_minutes} min after boot unless confirmed"
            )
        else:
            out.append(f"default from then on: {self.default_entry!r}")
        if self.guard_note:
            out.append(self.guard_note)
        return out

    def data(self) -> dict[str, object]:
        return {
            "next_entry": self.next_entry,
            "next_is_xen": self.next_is_xen,
            "default_entry": self.default_entry,
            "boot_guard": self.guard_minutes is not None,
            "confirm_within": self.guard_minutes,
            "note": self.guard_note,
        }


BOOT_STEP_IDS: tuple[str, ...] = ("grub-xen", "boot-once", "boot-guard-service", "boot-guard-timer")
BOOT_STEP_IDS += ("boot-guard-enable",)


def needs_xen_entry(step: Step) -> bool:
    """A boot step: it configures Xen's GRUB entry, which comes with the Xen packages (so it
    waits when they were skipped)."""
    return step.id in BOOT_STEP_IDS


def executable_mode(mode: int) -> int:
    """The mode with an execute bit for everyone who may read (0644 -> 0755, 0600 -> 0700)."""
    return mode | ((mode & 0o444) >> 2)


Step = InstallPackages | Symlink | EditFile | BootOnce | SetSysctl


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered steps one profile chose for one config on one system."""

    profile: str
    profile_reason: str
    root: str
    steps: tuple[Step, ...]
    answers: dict[str, object] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()
    toolstack: str | None = None  # TOOLSTACK= when planned (None: no line); verify compares
    boot: BootNext | None = None  # the reboot, where the profile knows it

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)

    def file_steps(self) -> tuple[EditFile, ...]:
        return tuple(s for s in self.steps if isinstance(s, EditFile))

    def diff(self) -> str:
        return "".join(s.diff() for s in self.file_steps())


def _split_lf(text: str) -> list[str]:
    """Lines split on \\n only, so a \\r of CRLF stays in the line and shows in the diff."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def unified_diff(path: str, before: str | None, after: str) -> str:
    """A patch(1)-compatible diff, including '\\ No newline at end of file' markers."""
    old = _split_lf(before) if before is not None else []
    new = _split_lf(after)
    if old == new:
        return ""
    fromfile = f"a/{path}" if before is not None else "/dev/null"
    out: list[str] = []
    for line in difflib.unified_diff(old, new, fromfile, f"b/{path}", n=3):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
