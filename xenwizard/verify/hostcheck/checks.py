"""`run_checks`, which runs the checks in order (see the package doc), and the first: the run."""

from __future__ import annotations

import os

from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.engine.journal import JournalError
from xenwizard.paths import STATE_DIR
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck import guestaccess, isolated
from xenwizard.verify.hostcheck.applied import AppliedRun, latest_applied_run
from xenwizard.verify.hostcheck.bridge import check_alias, check_bridge, check_bridge_address
from xenwizard.verify.hostcheck.confinement import check_dhcp_confinement
from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.dnsmasq import check_dnsmasq
from xenwizard.verify.hostcheck.files import check_files
from xenwizard.verify.hostcheck.live import KernelLive, LiveSystem
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed, skipped
from xenwizard.verify.hostcheck.xen import (
    check_dom0_mem,
    check_toolstack,
    check_xen,
    planned_dom0_mem,
)


def check_run(fs: RootFS) -> tuple[CheckResult, AppliedRun | None, WizardConfig]:
    where = f"{fs.root.as_posix().rstrip('/')}/{STATE_DIR}"
    try:
        run = latest_applied_run(fs)
    except (OSError, ValueError, JournalError) as exc:
        return failed("run", f"cannot read the journal under {where}: {exc}"), None, WizardConfig()
    if run is None:
        return (
            failed("run", f"no applied run found under {where}; checks below assume the defaults"),
            None,
            WizardConfig(),
        )
    try:
        config = run.config()
    except ConfigError as exc:
        reason = f"run {run.run_id}: its answers are not valid ({exc}); using the defaults"
        return failed("run", reason), run, WizardConfig()
    return (
        passed(
            "run",
            f"{run.run_id} applied with profile {run.profile or '?'} "
            f"(bridge {config.bridge}, address {config.address})",
        ),
        run,
        config,
    )


LIVE_CHECKS = (
    "xen",
    "dom0-mem",
    "bridge",
    "bridge-address",
    "alias",
    "dnsmasq",
    "dnsmasq-config",
    "dnsmasq-dhcp",
    "dhcp-confinement",
)


def not_running_system(fs: RootFS) -> str | None:
    """Why ROOT's live state cannot be seen from this process, or None when ROOT is `/` (the
    same directory, also through another path such as a bind mount)."""
    try:
        if os.path.samefile(fs.root, "/"):
            return None
    except OSError:
        pass
    return f"{fs.root} is not the running system (--root)"


def run_checks(
    fs: RootFS, live: LiveSystem | None = None, *, skip_live: str | None = None
) -> list[CheckResult]:
    """Every check, in order; never raises for a failing check. With `skip_live` (the reason,
    e.g. from `not_running_system`), the live checks are reported SKIP and only the journal and
    the files are checked."""
    first, run, config = check_run(fs)
    ctx = Context(fs=fs, live=live or KernelLive(), run=run, config=config)
    results = [first]
    if skip_live is None:
        results += _live_checks(ctx)
    else:
        why = f"not run: {skip_live}, so its live state cannot be seen from here"
        results += [skipped(name, why) for name in _live_check_names(ctx)]
    results += check_files(ctx)
    results.append(check_toolstack(ctx))
    return results


def _live_check_names(ctx: Context) -> list[str]:
    names = [n for n in LIVE_CHECKS if n != "bridge-address" or ctx.labelled_alias]
    if not ctx.confined:
        names.remove("dhcp-confinement")
    if planned_dom0_mem(ctx.run) is None:
        names.remove("dom0-mem")
    return names + isolated.check_names(ctx) + guestaccess.check_names(ctx)


def _live_checks(ctx: Context) -> list[CheckResult]:
    results = [check_xen(ctx)]
    if planned_dom0_mem(ctx.run) is not None:
        results.append(check_dom0_mem(ctx))
    results.append(check_bridge(ctx))
    if ctx.labelled_alias:
        results.append(check_bridge_address(ctx))
    results.append(check_alias(ctx))
    results += check_dnsmasq(ctx)
    if ctx.confined:
        results.append(check_dhcp_confinement(ctx))
    results += isolated.checks(ctx)
    results += guestaccess.checks(ctx)
    assert [r.name for r in results] == _live_check_names(ctx)
    return results
