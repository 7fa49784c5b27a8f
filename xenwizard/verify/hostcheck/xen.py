"""The checks of Xen: it runs with this host as dom0, with the run's dom0_mem and toolstack."""

from __future__ import annotations

import re

from xenwizard.target.probe import parse_shell_vars
from xenwizard.target.rootfs import RootError
from xenwizard.verify.hostcheck.applied import AppliedRun, planned_toolstack, skipped_result
from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed

# Linux: drivers/xen/sys-hypervisor.c (type_show prints "xen"); drivers/xen/xenfs/super.c
# (xenfs's "capabilities" file, "control_d" in dom0). Not on the test host: the VM tests see them.
HYPERVISOR_TYPE = "/sys/hypervisor/type"
XEN_CAPABILITIES = "/proc/xen/capabilities"
XL_INFO_SHOWN = ("xen_version", "virt_caps")


def check_xen(ctx: Context) -> CheckResult:
    """Xen runs and this is dom0; on current releases `xl info` answers too."""
    kind = ctx.live.read_text(HYPERVISOR_TYPE)
    if kind is None:
        return failed(
            "xen",
            f"{HYPERVISOR_TYPE} is missing: this kernel is not running on Xen; reboot into "
            "GRUB's Xen entry (`... with Xen hypervisor`)",
        )
    if kind.strip() != "xen":
        return failed("xen", f"{HYPERVISOR_TYPE} is {kind.strip()!r}, not xen")
    caps = ctx.live.read_text(XEN_CAPABILITIES)
    if caps is None:
        return failed(
            "xen",
            f"{XEN_CAPABILITIES} is missing: xenfs is not mounted on /proc/xen "
            "(see `systemctl status proc-xen.mount`)",
        )
    if "control_d" not in caps.split():
        return failed(
            "xen", f"{XEN_CAPABILITIES} has no control_d: this is a Xen guest (domU), not dom0"
        )
    found = f"{HYPERVISOR_TYPE} is xen, {XEN_CAPABILITIES} has control_d (dom0)"
    if ctx.run is not None and ctx.run.profile == "ubuntu-precise":
        return passed("xen", f"{found}; xm toolstack: `xl info` not asked")
    done = ctx.live.run(["xl", "info"])
    if done is None:
        return failed(
            "xen", "Xen runs (dom0), but there is no `xl`: the Xen tools are not installed"
        )
    if done.returncode != 0:
        detail = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
        return failed(
            "xen",
            f"Xen runs (dom0), but `xl info` failed (exit {done.returncode}"
            f"{': ' + detail if detail else ''}); run as root, and see "
            "`systemctl status xencommons`",
        )
    info = _xl_info(done.stdout)
    shown = ", ".join(f"{key} {info[key]}" for key in XL_INFO_SHOWN if info.get(key))
    return passed("xen", f"{found}, `xl info`: {shown or 'answered'}")


GRUB_STEP = "grub-xen"  # the GRUB defaults that put Xen's options on its command line
_DOM0_MEM = re.compile(r"(?<![^\s\"'])dom0_mem=([^\s\"']+)")


def planned_dom0_mem(run: AppliedRun | None) -> str | None:
    """The `dom0_mem=` value the run's GRUB step gave Xen (the last one in its text), if any."""
    step = run.step(GRUB_STEP) if run is not None else None
    after = step.get("after") if step else None
    found = _DOM0_MEM.findall(after) if isinstance(after, str) else []
    return found[-1] if found else None


def check_dom0_mem(ctx: Context) -> CheckResult:
    """Xen booted with the dom0_mem the run put on its command line: Xen's own view of its
    command line, the `xen_commandline` of `xl info` (xend's `xm info` on ubuntu-precise,
    whose XendNode.xeninfo lists it too)."""
    run, want = ctx.run, planned_dom0_mem(ctx.run)
    assert run is not None and want is not None  # only listed for such a run
    index = run.step_index(GRUB_STEP)
    why = run.skipped(index) if index is not None else None
    if why is not None:
        return skipped_result(run, "dom0-mem", why)
    tool = "xm" if run.profile == "ubuntu-precise" else "xl"
    done = ctx.live.run([tool, "info"])
    if done is None or done.returncode != 0:
        how = "is not installed" if done is None else f"failed (exit {done.returncode})"
        return failed("dom0-mem", f"cannot read Xen's command line: `{tool} info` {how}")
    line = _xl_info(done.stdout).get("xen_commandline")
    if line is None:
        return failed("dom0-mem", f"`{tool} info` shows no xen_commandline")
    found = _DOM0_MEM.findall(line)
    where = f"/{(run.step(GRUB_STEP) or {}).get('path', '')}"
    if not found or found[-1] != want:
        seen = f"dom0_mem={found[-1]}" if found else "no dom0_mem"
        return failed(
            "dom0-mem",
            f"Xen booted with {seen}, not dom0_mem={want} as run {run.run_id} set in {where}: "
            "dom0 may hold all the RAM; run update-grub and reboot into the Xen entry",
        )
    return passed("dom0-mem", f"Xen's command line has dom0_mem={want} (`{tool} info`)")


def _xl_info(text: str) -> dict[str, str]:
    """`xl info`'s `key : value` lines."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _shown(value: str | None) -> str:
    return "no TOOLSTACK line" if value is None else f"TOOLSTACK={value!r}"


def check_toolstack(ctx: Context) -> CheckResult:
    try:
        text = ctx.fs.read_text("etc/default/xen")
    except RootError as exc:
        return failed("toolstack", str(exc))
    current = None if text is None else parse_shell_vars(text).get("TOOLSTACK")
    if ctx.run is None:
        return passed("toolstack", f"{_shown(current)} (no applied run to compare with)")
    known, planned = planned_toolstack(ctx.run)
    xm_era = ctx.run.profile == "ubuntu-precise"
    if xm_era and current == "xl":
        return failed(
            "toolstack",
            "TOOLSTACK='xl': xl creates no bridge and breaks autostart on "
            "this release; set it back to empty (xm)",
        )
    if known and current != planned:
        return failed(
            "toolstack",
            f"etc/default/xen has {_shown(current)}; it had "
            f"{_shown(planned)} when run {ctx.run.run_id} was planned",
        )
    return passed(
        "toolstack",
        f"{_shown(current)}, as when run {ctx.run.run_id} was planned"
        if known
        else _shown(current),
    )
