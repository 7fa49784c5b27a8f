"""The boot steps of the current-release profiles: xenwizard's GRUB drop-in (update-grub after
it), the one-shot first boot into Xen, and the boot guard's units; and what the plan says
about the reboot (`BootNext`).

The entry that boots by default now is read from the target: GRUB_DEFAULT in /etc/default/grub
(a number, a title, or "saved" = grubenv's saved_entry), overridden by the Xen package's xen.cfg
when it is installed already, named by its title in the generated grub.cfg. The Xen entry is
xen.cfg's rule, "$GRUB_DISTRIBUTOR GNU/Linux, with Xen hypervisor"; the engine reads the real
title from grub.cfg after update-grub.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import grubcfg, grubenv, grubxen, guardunits
from xenwizard.planning.plan import BootNext, BootOnce, Step
from xenwizard.planning.profiles.base import PlanError, edit_step, enable_unit_step
from xenwizard.target import boot
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

NO_GUARD_ADVICE = (
    "keep a console (IPMI, iLO, the VM console) at hand before rebooting; if Xen does not "
    "come up, choose the previous entry in GRUB's menu (hold Shift, or press Esc, while it "
    "starts) and run `xenwizard rollback`"
)


@dataclass(frozen=True, slots=True)
class BootChoice:
    """What the reboot will be: the entries, and whether the guard watches it (or why not)."""

    previous: str
    xen: str
    guard: bool
    why_not: str = ""  # no guard: the reason and what to do instead
    xenwizard: str = ""  # the guard's command


def xen_title(fs: RootFS, facts: SystemFacts) -> str:
    distributor = grubcfg.distributor(fs.read_text(grubcfg.DEFAULT_GRUB), facts.os_id)
    return f"{distributor} GNU/Linux{grubcfg.XEN_SUFFIX}"


def default_now(fs: RootFS, xen: str) -> str:
    """The title of the entry GRUB boots by default today (a number when the menu is unknown)."""
    texts = [fs.read_text(grubcfg.DEFAULT_GRUB) or ""]
    xen_cfg = fs.read_text(grubxen.XEN_CFG)
    default = grubcfg.grub_default(texts[0])
    if xen_cfg is not None and "XEN_OVERRIDE_GRUB_DEFAULT=0" not in texts[0] + xen_cfg:
        default = xen
    if "GRUB_DEFAULT=saved" in (fs.read_text(grubxen.DROPIN) or ""):
        default = "saved"
    if default == "saved":
        saved = grubenv.read(fs.read_bytes(grubenv.PATH, limit=grubenv.SIZE * 4))
        default = saved.get("saved_entry") or "0"
    return grubcfg.resolve(default, grubcfg.top_entries(fs.read_text(grubcfg.GRUB_CFG)))


def choose(config: WizardConfig, facts: SystemFacts, fs: RootFS) -> BootChoice:
    xen = xen_title(fs, facts)
    previous = default_now(fs, xen)
    if not config.boot_guard:
        return BootChoice(
            previous, xen, False, f"boot guard off (--no-boot-guard): {NO_GUARD_ADVICE}"
        )
    if not boot.has_systemd(fs):
        return BootChoice(
            previous,
            xen,
            False,
            f"the boot guard is not available: it needs systemd, and /{boot.SYSTEMD[0]} is "
            f"missing; {NO_GUARD_ADVICE}",
        )
    command, why = boot.guard_program(fs)
    if command is None:
        raise PlanError(
            f"boot guard: no xenwizard only root can change to run at boot ({why}); its unit "
            "runs it as root at every boot until confirmed: install xenwizard as root (the "
            ".deb's /usr/bin/xenwizard, or a venv under /opt or /usr/local owned by root, in "
            "the target with --root) and run that, or use --no-boot-guard"
        )
    return BootChoice(previous, xen, True, xenwizard=command)


SETTLED = (
    "Xen already boots by default and this run changes nothing: no reboot is needed, so no "
    "boot guard and nothing to confirm"
)


def boot_next(
    config: WizardConfig, facts: SystemFacts, fs: RootFS, steps: Sequence[Step]
) -> BootNext:
    choice = choose(config, facts, fs)
    if choice.guard and any(step.id == "boot-guard-enable" for step in steps):
        return BootNext(choice.xen, True, choice.previous, config.confirm_within)
    return BootNext(choice.xen, True, choice.xen, None, choice.why_not or SETTLED)


def boot_steps(
    config: WizardConfig,
    facts: SystemFacts,
    fs: RootFS,
    xen_options: tuple[str, ...],
    others_change: bool,
) -> list[Step]:
    """The drop-in, and the one-shot boot and the guard when there is a reboot to watch: a
    re-run on a confirmed host (Xen already the default) that changes nothing plans no guard,
    which would otherwise re-arm at every run and roll back a host nobody reboots into."""
    choice = choose(config, facts, fs)
    steps: list[Step] = []
    if xen_options or choice.guard:
        dropin = edit_step(
            "grub-xen",
            "GRUB: xenwizard's drop-in for Xen's boot (update-grub after it)",
            fs,
            grubxen.DROPIN,
            partial(grubxen.set_dropin, xen_options=xen_options, saved_default=choice.guard),
        )
        steps.append(replace(dropin, refresh="update-grub"))
    if not choice.guard:
        return steps
    settled = choice.previous == choice.xen and not others_change
    if settled and not any(step.changed for step in steps):
        return steps
    env = grubenv.read(fs.read_bytes(grubenv.PATH, limit=grubenv.SIZE * 4))
    steps.append(
        BootOnce(
            id="boot-once",
            title="GRUB: the first boot into Xen is one-shot",
            previous=choice.previous,
            entry=choice.xen,
            notes=(
                f"next boot: {choice.xen!r} once (grubenv next_entry); the default stays "
                f"{choice.previous!r} (saved_entry) until `xenwizard confirm`, so a Xen that "
                "hangs comes back on the previous entry at the next reset",
            ),
            done=(env.get("saved_entry"), env.get("next_entry")) == (choice.previous, choice.xen),
        )
    )
    minutes = config.confirm_within
    service = guardunits.render_service(choice.xenwizard)
    timer = guardunits.render_timer(minutes)
    for step_id, title, path, text in (
        ("boot-guard-service", "boot guard: its service", guardunits.SERVICE_PATH, service),
        (
            "boot-guard-timer",
            f"boot guard: deadline {minutes} min after boot",
            guardunits.TIMER_PATH,
            timer,
        ),
    ):
        steps.append(edit_step(step_id, title, fs, path, partial(guardunits.own, path, after=text)))
    link = enable_unit_step(
        "boot-guard-enable",
        fs,
        guardunits.TIMER_LINK,
        guardunits.TIMER_TARGET,
        "boot guard: the timer enabled at boot (timers.target wants it)",
    )
    note = (
        f"after the reboot: log in within {minutes} min and run `xenwizard confirm`; otherwise "
        f"{guardunits.NAME}.service rolls this run back and reboots into {choice.previous!r}"
    )
    steps.append(replace(link, notes=(*link.notes, note)))
    return steps
