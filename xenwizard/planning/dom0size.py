"""dom0's memory on this target: the rule of `answers.dom0mem` applied to the RAM the facts
show, the plan's note, preflight's headroom warning and Xen's command-line option. Sizes are MiB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenwizard.answers.dom0mem import GUEST_HEADROOM_MIB, RULE, UNKNOWN_RAM_MIB, default_mib

if TYPE_CHECKING:
    from xenwizard.answers.model import WizardConfig
    from xenwizard.target.probe import SystemFacts


def xen_options(mib: int) -> tuple[str, ...]:
    """Xen's command-line options for dom0 fixed at `mib`: it starts there and never grows."""
    return (f"dom0_mem={mib}M,max:{mib}M",)


def machine_mib(facts: SystemFacts) -> int | None:
    """The machine's RAM, None when unknown. Under Xen, MemTotal is dom0's share (the probe
    runs no commands, so `xl info` is not asked): the machine's RAM is unknown then."""
    return None if facts.hypervisor == "xen" else facts.mem_total_mib


def chosen_mib(config: WizardConfig, facts: SystemFacts) -> int:
    """The operator's answer, else the rule's default for the target's RAM. RAM unknown (a
    host already running Xen): the size GRUB's defaults already give dom0, so a plan made
    after the reboot keeps what the apply set; else 1 GiB."""
    if config.dom0_mem is not None:
        return config.dom0_mem
    total = machine_mib(facts)
    if total is not None:
        return default_mib(total)
    if facts.configured_dom0_mem is not None:
        return facts.configured_dom0_mem[0]
    return UNKNOWN_RAM_MIB


def default_text(facts: SystemFacts) -> str:
    """Where the default comes from when the rule cannot apply (the RAM is unknown)."""
    if facts.configured_dom0_mem is not None:
        return f"as configured in {facts.configured_dom0_mem[1]}"
    return "as the RAM is unknown"


def ram_text(facts: SystemFacts) -> str:
    """The target's RAM as the page and the plan name it."""
    if facts.hypervisor == "xen":
        share = f"{facts.mem_total_mib} MiB" if facts.mem_total_mib is not None else "a share"
        return f"unknown (this host runs Xen: /proc/meminfo shows dom0's {share})"
    if facts.mem_total_mib is None:
        return "unknown (no MemTotal in /proc/meminfo)"
    return f"{facts.mem_total_mib} MiB"


def plan_note(config: WizardConfig, facts: SystemFacts) -> str:
    """One line for the plan: dom0's size, where it comes from, and what it leaves."""
    mib = chosen_mib(config, facts)
    total = machine_mib(facts)
    if config.dom0_mem is not None:
        source = "chosen with dom0-mem"
    elif total is None:
        source = f"{default_text(facts)}; RAM {ram_text(facts)}; choose with dom0-mem"
    else:
        source = f"the default for {total} MiB of RAM: {RULE}"
    left = f"; {total - mib} MiB of {total} MiB left for guests" if total is not None else ""
    return f"dom0 memory: {mib} MiB ({source}){left}; ballooning off"


def headroom_warning(config: WizardConfig, facts: SystemFacts) -> str | None:
    """Preflight: too little RAM left beside dom0 for a guest (None when enough or unknown)."""
    total = machine_mib(facts)
    if total is None:
        return None
    mib = chosen_mib(config, facts)
    left = total - mib
    if left >= GUEST_HEADROOM_MIB:
        return None
    return (
        f"too little RAM for dom0 plus a guest: dom0 takes {mib} MiB of {total} MiB, leaving "
        f"{max(left, 0)} MiB; a guest needs at least {GUEST_HEADROOM_MIB} MiB"
    )
