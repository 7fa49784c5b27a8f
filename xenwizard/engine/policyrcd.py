"""The policy-rc.d lifecycle: while apt-get runs on another root, no maintainer script may start
or stop a service (the target is not running), and the file of ours is journaled so that a
rollback after a kill at any point knows whether a policy-rc.d it finds is ours."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from xenwizard.engine import atomic
from xenwizard.engine.journal import Record
from xenwizard.engine.stepcontext import StepContext, remove_dirs
from xenwizard.target.rootfs import RootError, read_regular

# While apt-get runs on another root (in the sandbox of engine.runner), maintainer scripts must
# not start or stop the target's services: the target is not running, and a daemon started in
# the sandbox would run there, without network, until the command's end killed it.
# invoke-rc.d and deb-systemd-invoke ask usr/sbin/policy-rc.d first; exit 101 = "not allowed".
POLICY_RC_D = "usr/sbin/policy-rc.d"
POLICY_RC_D_TEXT = b"#!/bin/sh\nexit 101\n"


def _policy_path(ctx: StepContext) -> Path:
    return ctx.root.path(POLICY_RC_D)


def _is_ours(path: Path) -> bool:
    """A regular file with exactly our content (the admin's own is never touched)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        return read_regular(path, POLICY_RC_D, 4096, follow=False) == POLICY_RC_D_TEXT
    except RootError:
        return False


def _policy_records(ctx: StepContext, intent: Record) -> tuple[bool, list[str]]:
    """Whether xenwizard's policy-rc.d may be in place now (made and not yet removed), from the
    intent and the `policy-rc.d` records after it; and every directory made for it."""
    ours = bool(intent.get("policy_rc_d"))
    dirs = list(intent.get("policy_dirs") or [])
    for record in ctx.records:
        if record.get("type") == "policy-rc.d" and record.get("index") == ctx.index:
            ours = bool(record.get("present"))
            dirs += record.get("dirs") or []
    return ours, dirs


def plan(ctx: StepContext) -> list[str] | None:
    """Directories to make for a policy-rc.d of our own (usually none, they are root-relative),
    or None when xenwizard makes none: the root is `/` (apt-get runs on this host, whose
    services are meant to start), or one is there already (the admin's: used as it is)."""
    if ctx.root.is_live:
        return None
    path = _policy_path(ctx)
    if os.path.lexists(path):
        return None
    dirs = atomic.missing_dirs(path.parent, ctx.root.real_root)
    return [d.relative_to(ctx.root.real_root).as_posix() for d in dirs]


def for_undo(ctx: StepContext, intent: Record) -> list[str] | None:
    """For an undo: the directories of our policy-rc.d (to remove with it afterwards), or None
    when none of ours is to be used. Ours from a killed run is used as it is; a missing one is
    journaled (a `policy-rc.d` record, present: true) before `held` makes it."""
    if ctx.root.is_live:
        return None
    ours, dirs = _policy_records(ctx, intent)
    path = _policy_path(ctx)
    if os.path.lexists(path):
        return dirs if ours and _is_ours(path) else None
    new_dirs = plan(ctx) or []
    ctx.journal.append(
        {"type": "policy-rc.d", "index": ctx.index, "present": True, "dirs": new_dirs}
    )
    return dirs + new_dirs


@contextmanager
def held(
    ctx: StepContext, dirs: list[str] | None, notes: list[str] | None = None
) -> Iterator[None]:
    """An `exit 101` usr/sbin/policy-rc.d in place while package commands run on another root,
    so maintainer scripts start or stop no service; removed again afterwards.

    `dirs` is None when xenwizard uses no policy-rc.d of its own (root `/`, or the admin's is
    there), else the directories made for it. The caller journaled that plan before (the
    step's intent, or `for_undo`'s record); a `present: false` record follows the removal,
    so a rollback after a kill at any point knows whether a policy-rc.d there is ours.
    """
    path = _policy_path(ctx)
    if dirs is None:
        if not ctx.root.is_live:
            note = f"{POLICY_RC_D} exists: left as it is (its rules decide what may start)"
            ctx.output(f"xenwizard: {note}")
            if notes is not None:
                notes.append(note)
        yield
        return
    try:
        if not os.path.lexists(path):
            atomic.make_dirs([ctx.root.path(d) for d in dirs], root=ctx.root)
            atomic.write_atomic(path, POLICY_RC_D_TEXT, mode=0o755, root=ctx.root)
            ctx.output(f"xenwizard: {POLICY_RC_D} in place: maintainer scripts start no service")
        yield
    finally:  # also when making it failed halfway: no directory of ours is left either
        _remove_policy(ctx, path, dirs)


def _remove_policy(ctx: StepContext, path: Path, dirs: list[str]) -> None:
    tmp = atomic.tmp_path(path)
    if os.path.lexists(tmp):
        atomic.unlink_at(tmp, ctx.root)
    if _is_ours(path):
        atomic.unlink_at(path, ctx.root)
        ctx.output(f"xenwizard: {POLICY_RC_D} removed again")
    remove_dirs(ctx.root, sorted(set(dirs), key=len))
    with suppress(OSError):  # informational: a later rollback finds no file either way
        ctx.journal.append({"type": "policy-rc.d", "index": ctx.index, "present": False})


def drop(ctx: StepContext, intent: Record) -> None:
    """Remove our policy-rc.d (and directories made for it) that a kill or a failure left,
    when no package command needs it now."""
    if ctx.root.is_live:
        return
    ours, dirs = _policy_records(ctx, intent)
    if ours:
        _remove_policy(ctx, _policy_path(ctx), dirs)
