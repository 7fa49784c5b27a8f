"""Doing and undoing one step, journaled write-ahead.

Each `do_*` journals an intent record (with everything needed to undo it and, for files, the
original bytes as a backup) before it touches anything, and a result record after. Each
`undo_*` works from those records alone and is idempotent: it must be safe whether the step
happened fully, partly or not at all, because after a `kill -9` an intent without a result is
exactly that unknown.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from xenwizard.engine import atomic, leftovers, policyrcd
from xenwizard.engine.freshness import link_location, stale
from xenwizard.engine.journal import Record
from xenwizard.engine.refresh import run_refresh
from xenwizard.engine.stepcontext import StepContext, StepError, remove_dirs
from xenwizard.planning.plan import EditFile, InstallPackages, Symlink, executable_mode
from xenwizard.target import dpkgstatus
from xenwizard.target.rootfs import (
    ENCODING,
    ERRORS,
    READ_FLAGS,
    RootError,
    RootFS,
    open_error,
    read_open_file,
)

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _read_regular(root: RootFS, path: Path, rel: str) -> bytes | None:
    """The file's bytes, None when absent; a directory, FIFO or device there is an error (the
    file is checked on the open descriptor, opened in its directory's descriptor beneath the
    root with no link followed anywhere, so a swap cannot lead the read out of the root)."""
    try:
        dir_fd = root.open_dir(path.parent)
    except FileNotFoundError:
        return None
    except RootError as exc:
        raise StepError(f"{exc}; expected a text file") from None
    try:
        fd = os.open(path.name, READ_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        is_link = os.path.islink(path)
        raise StepError(f"{open_error(exc, rel, is_link)}; expected a text file") from None
    finally:
        os.close(dir_fd)
    try:
        return read_open_file(fd, rel)
    except RootError as exc:
        raise StepError(f"{exc}; expected a text file") from None


def _real(root: RootFS, rel: str) -> tuple[Path, str]:
    """Where a file really is (an in-root symlink followed), host path and root-relative."""
    real = Path(os.path.realpath(root.path(rel)))
    return real, real.relative_to(root.real_root).as_posix()


# --- files ---------------------------------------------------------------------------------


def do_edit(ctx: StepContext, step: EditFile) -> tuple[bool, tuple[str, ...]]:
    real, _ = _real(ctx.root, step.path)
    current = _read_regular(ctx.root, real, step.path)
    text = None if current is None else current.decode(ENCODING, ERRORS)
    after: str | None
    if step.deferred:
        edited = step.transform(text)
        after, notes = edited.text, step.notes + edited.notes
    else:
        if text != step.before:  # e.g. a package this run installed rewrote it
            raise stale(step.path)
        after, notes = step.after, step.notes
    assert after is not None
    extra = {"refresh": step.refresh} if step.refresh else {}
    changed = write_journaled(
        ctx,
        step.id,
        "edit",
        step.path,
        after.encode(ENCODING, ERRORS),
        step.mode,
        executable=step.executable,
        **extra,
    )
    if changed and step.refresh:
        run_refresh(ctx, step.refresh)
    return changed, notes


def write_journaled(
    ctx: StepContext,
    step_id: str,
    kind: str,
    rel: str,
    new: bytes,
    mode: int,
    *,
    executable: bool = False,
    **extra: object,
) -> bool:
    """Write `new` to `rel` (an in-root link followed), journaled write-ahead with the original
    bytes backed up, keeping mode, owner and group; False when it is already so."""
    real, real_rel = _real(ctx.root, rel)
    current = _read_regular(ctx.root, real, rel)
    st = os.lstat(real) if current is not None else None
    old_mode = stat.S_IMODE(st.st_mode) if st else mode
    wanted_mode = executable_mode(old_mode) if executable else old_mode
    if new == current and wanted_mode == old_mode:
        return False
    dirs = atomic.missing_dirs(real.parent, ctx.root.real_root)
    ctx.intent(
        step_id,
        kind,
        path=rel,
        real=real_rel,
        existed=current is not None,
        backup=ctx.journal.backup(ctx.index, current) if current is not None else None,
        mode=old_mode,
        uid=st.st_uid if st else None,
        gid=st.st_gid if st else None,
        mtime_ns=st.st_mtime_ns if st else None,
        sha_before=sha256(current),
        sha_after=sha256(new),
        dirs=[d.relative_to(ctx.root.real_root).as_posix() for d in dirs],
        **extra,
    )
    atomic.make_dirs(dirs, root=ctx.root)
    if st is not None:
        atomic.write_atomic(
            real, new, mode=wanted_mode, uid=st.st_uid, gid=st.st_gid, root=ctx.root
        )
    else:
        atomic.write_atomic(real, new, mode=mode, root=ctx.root)
    ctx.result(changed=True)
    return True


def undo_edit(ctx: StepContext, intent: Record) -> str:
    real = ctx.root.path(intent["real"])
    tmp = atomic.tmp_path(real)
    if os.path.lexists(tmp):
        atomic.unlink_at(tmp, ctx.root)
    current = _read_regular(ctx.root, real, intent["real"]) if os.path.lexists(real) else None
    state = "undone"
    if intent["existed"]:
        original = ctx.journal.read_backup(intent["backup"])
        if sha256(original) != intent["sha_before"]:
            raise StepError(
                f"{intent['real']}: its backup {intent['backup']} does not match the journal; "
                "left as it is"
            )
        st = os.lstat(real) if current is not None else None
        if (
            current == original
            and st is not None
            and (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            == (intent["mode"], intent["uid"], intent["gid"])
        ):
            state = "nothing-to-undo"
        else:
            state = _keep_unexpected(ctx, intent, current) or state
            atomic.write_atomic(
                real,
                original,
                mode=restored_mode(intent["mode"], st),
                uid=intent["uid"],
                gid=intent["gid"],
                mtime_ns=intent["mtime_ns"],
                root=ctx.root,
            )
    elif os.path.lexists(real):
        state = _keep_unexpected(ctx, intent, current) or state
        atomic.unlink_at(real, ctx.root)
    else:
        state = "nothing-to-undo"
    remove_dirs(ctx.root, intent.get("dirs", []))
    if intent.get("refresh") and state != "nothing-to-undo":
        run_refresh(ctx, intent["refresh"])
    return state


def restored_mode(mode: int, current: os.stat_result | None) -> int:
    """The journaled mode, without a setuid, setgid or sticky bit the file there now lacks:
    the journal lives in the root, so a mode it names never gains privileges by itself (the
    file xenwizard wrote kept the original's bits; one that lost them keeps them lost)."""
    special = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX
    kept = stat.S_IMODE(current.st_mode) & special if current is not None else 0
    return (mode & ~special) | (mode & kept)


def _keep_unexpected(ctx: StepContext, intent: Record, current: bytes | None) -> str | None:
    """Content that is neither ours nor the original was edited after the run: keep a copy."""
    if current is None or sha256(current) in (intent["sha_after"], intent["sha_before"]):
        return None
    kept = ctx.journal.save_extra(f"{ctx.index:03d}.found", current)
    return f"undone: it had been edited since the run; that version is kept in {kept}"


# --- symlinks ------------------------------------------------------------------------------


def do_symlink(ctx: StepContext, step: Symlink) -> tuple[bool, tuple[str, ...]]:
    if step.exists:
        return False, step.notes
    link = Path(link_location(ctx.root, step.path))
    parent_rel = os.path.dirname(step.path)
    if os.path.lexists(link):  # a package this run installed created it: leave it alone
        return False, (f"{step.path} now exists (installed by a package); left alone",)
    dirs = atomic.missing_dirs(link.parent, ctx.root.real_root) if step.create_dirs else []
    if not dirs and not link.parent.is_dir():
        raise StepError(f"{parent_rel}: missing; expected the directory to hold {step.path}")
    target_rel = (
        step.target if step.target.startswith("/") else os.path.join(parent_rel, step.target)
    )
    target = ctx.root.path(os.path.normpath(target_rel))
    if not (target.is_file() if step.target_kind == "file" else target.is_dir()):
        expected = "a file" if step.target_kind == "file" else "a directory"
        raise StepError(f"{step.path}: link target {step.target} is missing; expected {expected}")
    ctx.intent(
        step.id,
        "symlink",
        path=step.path,
        target=step.target,
        dirs=[d.relative_to(ctx.root.real_root).as_posix() for d in dirs],
    )
    atomic.make_dirs(dirs, root=ctx.root)
    dir_fd = ctx.root.open_dir(link.parent)  # the link is made inside the root, never beside it
    try:
        os.symlink(step.target, link.name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    ctx.result(changed=True)
    return True, step.notes


def undo_symlink(ctx: StepContext, intent: Record) -> str:
    link = Path(link_location(ctx.root, intent["path"]))
    if not os.path.lexists(link):
        state = "nothing-to-undo"
    elif not link.is_symlink() or os.readlink(link) != intent["target"]:
        return f"left-alone: {intent['path']} is no longer the link xenwizard made"
    else:
        atomic.unlink_at(link, ctx.root)
        state = "undone"
    remove_dirs(ctx.root, intent.get("dirs", []))
    return state


# --- packages ------------------------------------------------------------------------------


def do_packages(ctx: StepContext, step: InstallPackages) -> tuple[bool, tuple[str, ...]]:
    if not step.packages:
        return False, step.notes
    before = dpkgstatus.package_states(ctx.root)
    notes: list[str] = []
    try:  # what /etc and the accounts were, so a rollback can list what the purge leaves
        leftovers.save(ctx.root, ctx.journal)
    except OSError as exc:
        note = f"/etc not snapshotted ({exc.strerror or exc}): a rollback cannot list leftovers"
        ctx.output(f"xenwizard: {note}")
        notes.append(note)
    policy = policyrcd.plan(ctx)  # None: no policy-rc.d of ours (root is /, or one exists)
    ctx.intent(
        step.id,
        "packages",
        packages=list(step.packages),
        before=before,
        policy_rc_d=policy is not None,
        policy_dirs=policy or [],
        **({"refresh": step.refresh} if step.refresh else {}),
    )
    with policyrcd.held(ctx, policy, notes):
        # Stale or empty package lists (a fresh image, a server untouched for months) make
        # `install` fail or fetch what the mirror no longer has; a failed update (one source
        # down) still leaves the lists apt had, so the install is tried either way.
        updated = ctx.run(["apt-get", "update"], APT_ENV, network=True)
        if updated != 0:
            note = (
                f"apt-get update exited with status {updated}; "
                "installing from the package lists as they were"
            )
            ctx.output(f"xenwizard: {note}")
            notes.append(note)
        install = ["apt-get", "install", "-y", "--", *step.packages]
        if not ctx.root.is_live:
            # The sandbox's network is for apt's downloads only, which run no package's
            # scripts; the install that runs them (dpkg, maintainer scripts, update-grub
            # from Xen's postinst) then finds every .deb in the cache and has no network.
            download = [*install[:2], "--download-only", *install[2:]]
            _check_apt(" ".join(download[:3]), ctx.run(download, APT_ENV, network=True), updated)
        _check_apt("apt-get install", ctx.run(install, APT_ENV), updated)
    after = dpkgstatus.package_states(ctx.root)
    missing = [p for p in step.packages if after.get(p) != "installed"]
    if missing:
        raise StepError(f"apt-get install succeeded but {', '.join(missing)} is not installed")
    added = sorted(dpkgstatus.present(after) - dpkgstatus.present(before))
    ctx.result(changed=True, added=added, after=after)
    return True, (*step.notes, *notes, f"installed: {', '.join(added)}")


def _check_apt(what: str, code: int, updated: int) -> None:
    if code != 0:
        also = f" (apt-get update had failed too: status {updated})" if updated != 0 else ""
        raise StepError(f"{what} exited with status {code}{also}")


def undo_packages(ctx: StepContext, intent: Record, result: Record | None) -> str:
    """Remove what the run added (dependencies too); packages there before are not touched."""
    before: dict[str, str] = intent["before"]
    now = dpkgstatus.package_states(ctx.root)
    if result is not None:
        added = set(result["added"])
    else:  # killed during apt-get: whatever appeared since the intent is ours (we held the lock)
        added = dpkgstatus.present(now) - dpkgstatus.present(before)
    targets = sorted(p for p in added if p in dpkgstatus.present(now))
    if not targets:
        policyrcd.drop(ctx, intent)  # ours, left by a kill before apt-get even started
        return "nothing-to-undo"
    with policyrcd.held(ctx, policyrcd.for_undo(ctx, intent)):
        if result is None or any(now[p] != "installed" for p in targets):
            ctx.run(["dpkg", "--configure", "-a"], APT_ENV)  # no operands, so no `--`
        purge = [p for p in targets if before.get(p) != "config-files"]
        remove = [p for p in targets if before.get(p) == "config-files"]  # keep old conffiles
        for verb, names in (("purge", purge), ("remove", remove)):
            if names:
                code = ctx.run(["apt-get", verb, "-y", "--", *names], APT_ENV)
                if code != 0:
                    raise StepError(f"apt-get {verb} exited with status {code}")
    left = sorted(set(targets) & dpkgstatus.present(dpkgstatus.package_states(ctx.root)))
    if left:
        raise StepError(f"still installed after removal: {', '.join(left)}")
    if intent.get("refresh"):  # e.g. GRUB's menu without Xen once its conffiles are purged too
        run_refresh(ctx, intent["refresh"])
    return f"undone: removed {', '.join(targets)}"
