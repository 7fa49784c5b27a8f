"""The checks of the managed files and links: each still as the last applied run left it."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from xenwizard.target.rootfs import ENCODING, ERRORS, RootError
from xenwizard.verify.hostcheck.applied import AppliedRun, skipped_result
from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed


def check_files(ctx: Context) -> list[CheckResult]:
    """Each managed file and link still as the last applied run left it."""
    run = ctx.run
    if run is None:
        return []
    results = []
    for index, step in enumerate(run.steps):
        kind, path = step.get("kind"), step.get("path")
        if not path:
            continue
        if kind not in ("edit", "symlink"):
            continue
        if str(step.get("id", "")).startswith("boot-guard"):
            continue  # the boot guard's units: `xenwizard confirm` removes them by design
        name = f"{'file' if kind == 'edit' else 'link'} {path}"
        why = run.skipped(index)
        if why is not None:
            results.append(skipped_result(run, name, why))
        elif kind == "edit":
            results.append(_file_result(ctx, run, index, step))
        else:
            results.append(_link_result(ctx, run, step))
    return results


def _file_result(ctx: Context, run: AppliedRun, index: int, step: dict[str, Any]) -> CheckResult:
    path = str(step["path"])
    name = f"file {path}"
    try:
        current = ctx.fs.read_text(path)
    except RootError as exc:
        return failed(name, str(exc))
    after = step.get("after")
    if current is None:
        return failed(name, f"missing; run {run.run_id} wrote it")
    if after is not None:
        if current == after:
            return passed(name, f"as run {run.run_id} left it")
        line = _first_difference(after, current)
        return failed(
            name,
            f"changed since run {run.run_id} (first difference at line {line}; "
            "edited by hand?); `xenwizard plan` shows what it would change back",
        )
    sha = run.written_sha(index)
    if sha is None:
        return passed(name, f"not written by run {run.run_id} (nothing to compare)")
    if hashlib.sha256(current.encode(ENCODING, ERRORS)).hexdigest() == sha:
        return passed(name, f"as run {run.run_id} left it")
    return failed(name, f"changed since run {run.run_id} (edited by hand?)")


def _first_difference(expected: str, current: str) -> int:
    old, new = expected.split("\n"), current.split("\n")
    for number, (a, b) in enumerate(zip(old, new, strict=False), 1):
        if a != b:
            return number
    return min(len(old), len(new)) + 1


def _link_result(ctx: Context, run: AppliedRun, step: dict[str, Any]) -> CheckResult:
    path, target = str(step["path"]), str(step.get("target", ""))
    name = f"link {path}"
    try:
        host = ctx.fs.path(os.path.dirname(path)) / os.path.basename(path)
    except RootError as exc:
        return failed(name, str(exc))
    if host.is_symlink():
        actual = os.readlink(host)
        if step.get("exists") or actual == target:
            return passed(name, f"-> {actual}")
        return failed(name, f"points to {actual}, run {run.run_id} made it -> {target}")
    if host.exists() and step.get("exists"):
        return passed(name, "exists (it was there before the run)")
    return failed(name, f"missing; run {run.run_id} made it -> {target}")
