"""The isolated bridge's network step on the current releases (`--isolated`): a bridge with no
NIC, in a file of xenwizard's own (ifupdown's interfaces.d, or netplan's 90-xenwizard.yaml), the
host's own network configuration untouched. A run that replaces an earlier bridged run of
xenwizard's on ifupdown gives the NIC its addressing back in the same plan.

Hosting providers that allow one MAC per switch port are the case for it: with the NIC on the
bridge, the guests' ARP and broadcasts leave through the uplink with 00:16:3e source MACs.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import (
    EditError,
    EditResult,
    ifupdown,
    ifupdown_bridge,
    ifupdown_isolated,
    netplan,
)
from xenwizard.planning.plan import Step
from xenwizard.planning.profiles.base import PlanError, edit_step
from xenwizard.target.netlayout import NETPLAN, NetLayout
from xenwizard.target.rootfs import RootFS

INTERFACES = ifupdown.INTERFACES
NO_LOCKOUT = (
    "no network lockout risk: the host's own network configuration is not touched, so the "
    "reboot brings its NIC up exactly as now"
)
NOT_SOURCED = (
    f"isolated: {INTERFACES} does not read {ifupdown_isolated.DIRECTORY}/ (no `source "
    f"/{ifupdown_isolated.DIRECTORY}/*` line), where the isolated bridge goes without touching "
    "the host's own network file; add that line, or answer isolated = false"
)


def steps(config: WizardConfig, fs: RootFS, layout: NetLayout, warnings: list[str]) -> list[Step]:
    """The isolated bridge's steps for the layout's backend, checked like the bridged ones."""
    if layout.error is not None:
        raise PlanError(layout.error)
    if layout.backend == NETPLAN:
        return _netplan_steps(config, fs, layout, warnings)
    return _ifupdown_steps(config, fs, layout, warnings)


def _ifupdown_steps(
    config: WizardConfig, fs: RootFS, layout: NetLayout, warnings: list[str]
) -> list[Step]:
    texts = layout.ifupdown_texts
    if not ifupdown_isolated.is_sourced(texts):
        raise PlanError(NOT_SOURCED)
    title = (
        f"isolated bridge {config.bridge} (ifupdown, no NIC), with the guests' subnet "
        f"{config.address}"
    )
    bridge = edit_step(
        "bridge",
        title,
        fs,
        ifupdown_isolated.PATH,
        partial(ifupdown_isolated.set_bridge, config=config),
        mode=ifupdown_isolated.MODE,
    )
    assert bridge.after is not None
    found: list[Step] = []
    after = {**texts, ifupdown_isolated.PATH: bridge.after}
    for path, text in texts.items():
        if path != ifupdown_isolated.PATH and ifupdown_bridge.has_block(text):
            back = edit_step(
                "bridge-given-back",
                f"ifupdown: the NIC bridged by the last run gets its addressing back ({path})",
                fs,
                path,
                lambda current: ifupdown_bridge.remove_block(current or ""),
            )
            assert back.after is not None
            after[path] = back.after
            found.append(back)
    from xenwizard.planning import netcheck  # runs a program: loaded when needed

    checked = netcheck.check_ifupdown(after.get(INTERFACES, ""), fs, (config.bridge,), files=after)
    before = partial(netcheck.check_ifupdown, texts.get(INTERFACES, ""), fs, (), files=texts)
    versions = netcheck.tool_versions("ifupdown", fs)
    judged = netcheck.verdict(checked, ifupdown_isolated.PATH, versions, before)
    if judged.refusal is not None:
        raise PlanError(judged.refusal)
    if judged.warning is not None:
        warnings.append(judged.warning)
    notes = [NO_LOCKOUT, judged.note, *bridge.notes]
    return [replace(bridge, notes=tuple(n for n in notes if n)), *found]


def _netplan_steps(
    config: WizardConfig, fs: RootFS, layout: NetLayout, warnings: list[str]
) -> list[Step]:
    texts = layout.netplan_texts
    try:
        change = netplan.plan_isolated(netplan.load_files(texts), config)
    except EditError as exc:
        raise PlanError(str(exc)) from None
    from xenwizard.planning import netcheck  # runs a program: loaded when needed

    after = {**texts, netplan.OWN_PATH: change.own_text}
    versions = netcheck.tool_versions("netplan.io", fs)
    judged = netcheck.verdict(
        netcheck.check_netplan(after),
        netplan.OWN_PATH,
        versions,
        partial(netcheck.check_netplan, texts),
    )
    if judged.refusal is not None:
        raise PlanError(judged.refusal)
    if judged.warning is not None:
        warnings.append(judged.warning)
    result = EditResult(change.own_text, ())
    step = edit_step(
        "bridge",
        f"isolated bridge {config.bridge} (netplan, no NIC), with the guests' subnet "
        f"{config.address}",
        fs,
        netplan.OWN_PATH,
        lambda _text: result,
        mode=netplan.MODE,
    )
    notes = [NO_LOCKOUT, judged.note, *change.own_notes, *step.notes]
    return [replace(step, notes=tuple(n for n in notes if n))]


def retire_steps(fs: RootFS, bridge: str) -> list[Step]:
    """A bridged run after an isolated one on ifupdown: the isolated file becomes a comment."""
    text = fs.read_text(ifupdown_isolated.PATH)
    if text is None or not ifupdown_bridge.has_block(text):
        return []
    return [
        edit_step(
            "bridge-isolated-off",
            f"ifupdown: the earlier run's isolated bridge file given up ({bridge} takes the NIC)",
            fs,
            ifupdown_isolated.PATH,
            partial(ifupdown_isolated.retire, bridge=bridge),
        )
    ]
