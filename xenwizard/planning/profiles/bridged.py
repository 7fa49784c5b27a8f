"""The bridged network step on the current releases: the NIC's bridge in ifupdown or netplan.

Checked with the real tool (`ifup --no-act`, `netplan generate`) before anything is applied, and
a plan that fails is refused; never activated on the running system."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

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
from xenwizard.planning.profiles.base import PlanError, edit_step, require_file, with_notes
from xenwizard.target.netlayout import NetLayout, NicChoice
from xenwizard.target.rootfs import RootFS

if TYPE_CHECKING:
    from xenwizard.planning.netcheck import Verdict

INTERFACES = ifupdown.INTERFACES
NETPLAN_PACKAGE = "netplan.io"  # the packages of the tools that check the network step
IFUPDOWN_PACKAGE = "ifupdown"
CLOUD_CFG = ("etc/cloud/cloud.cfg", "etc/cloud/cloud.cfg.d")


def ifupdown_steps(
    config: WizardConfig,
    fs: RootFS,
    layout: NetLayout,
    choice: NicChoice,
    warnings: list[str],
) -> list[Step]:
    nic = choice.name
    assert nic is not None
    title = f"bridge {config.bridge} on {nic} (ifupdown), with the guests' subnet {config.address}"
    texts = layout.ifupdown_texts  # read without error: primary_nic found the NIC in it
    path = _file_for(texts, nic)
    step = edit_step(
        "bridge",
        title,
        fs,
        path,
        require_file(
            "ifupdown's configuration of the primary NIC",
            partial(ifupdown_bridge.set_bridge, config=config, nic=nic, mac=choice.mac),
        ),
    )
    assert step.after is not None
    extra = [f"primary NIC {nic}: {choice.reason}", *_not_live_notes()]
    if path != INTERFACES:
        extra.append(f"{nic} is configured in {path} (sourced from {INTERFACES}): edited there")
    from xenwizard.planning import netcheck  # runs a program: loaded when needed

    after = {**texts, path: step.after}
    checked = netcheck.check_ifupdown(
        after.get(INTERFACES, step.after), fs, (config.bridge, nic), files=after
    )
    before = partial(netcheck.check_ifupdown, texts.get(INTERFACES, ""), fs, (nic,), files=texts)
    versions = netcheck.tool_versions(IFUPDOWN_PACKAGE, fs)
    extra.append(_validation(netcheck.verdict(checked, path, versions, before), warnings))
    return [with_notes(step, [*extra, *step.notes])]


def netplan_steps(
    config: WizardConfig,
    fs: RootFS,
    layout: NetLayout,
    choice: NicChoice,
    warnings: list[str],
) -> list[Step]:
    nic = choice.name
    assert nic is not None
    texts = layout.netplan_texts
    try:
        files = netplan.load_files(texts)
        change = netplan.plan_change(files, config, nic, choice.mac)
    except EditError as exc:
        raise PlanError(str(exc)) from None
    own_notes = [f"primary NIC {nic}: {choice.reason}", *_not_live_notes()]
    owned = [
        path
        for path, text in texts.items()
        if path != netplan.OWN_PATH and netplan.written_by_cloud_init(path, text)
    ]
    if owned and not netplan.cloud_init_network_disabled(_cloud_cfg_texts(fs)):
        message = (
            f"{', '.join(owned)} belongs to cloud-init, which may write it again (for "
            f"example when the instance changes) and bring {nic}'s addressing back. "
            f"xenwizard's {netplan.OWN_PATH} keeps DHCP off on {nic} even then; to stop "
            "cloud-init rewriting the network configuration, put `network: {config: "
            "disabled}` into /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg."
        )
        warnings.append(message)
        own_notes.append(f"cloud-init owns {', '.join(owned)}: see the warning above")
    after_texts = dict(texts)
    after_texts[netplan.OWN_PATH] = change.own_text
    for path, edit in change.edits.items():
        after_texts[path] = edit.text
    from xenwizard.planning import netcheck  # runs a program: loaded when needed

    checked = netcheck.check_netplan(after_texts)
    versions = netcheck.tool_versions(NETPLAN_PACKAGE, fs)
    before = partial(netcheck.check_netplan, texts)
    judged = netcheck.verdict(checked, netplan.OWN_PATH, versions, before)
    own_notes.append(_validation(judged, warnings))
    own_text = change.own_text
    own_result = EditResult(own_text, tuple(change.own_notes))

    steps: list[Step] = []
    own = edit_step(
        "bridge",
        f"bridge {config.bridge} on {nic} (netplan), with the guests' subnet {config.address}",
        fs,
        netplan.OWN_PATH,
        lambda _text: own_result,
        mode=netplan.MODE,
    )
    steps.append(with_notes(own, [*own_notes, *own.notes]))
    for path in sorted(change.edits):
        result = change.edits[path]
        steps.append(
            edit_step(
                "bridge-" + path.rsplit("/", 1)[-1].removesuffix(".yaml"),
                f"netplan: {nic}'s addresses leave {path.rsplit('/', 1)[-1]}",
                fs,
                path,
                partial(_fixed, result),
            )
        )
    return steps


def _validation(judged: Verdict, warnings: list[str]) -> str:
    """The check's note for the step; its refusal raised, its warning kept."""
    if judged.refusal is not None:
        raise PlanError(judged.refusal)
    if judged.warning is not None:
        warnings.append(judged.warning)
    return judged.note


def _fixed(result: EditResult, _text: str | None) -> EditResult:
    """An edit computed already (netplan's plan_change did the work for every file)."""
    return result


def _not_live_notes() -> list[str]:
    return [
        "takes effect at the next boot (Xen needs the reboot anyway); xenwizard never "
        "activates it on the running system"
    ]


def _cloud_cfg_texts(fs: RootFS) -> dict[str, str]:
    texts: dict[str, str] = {}
    candidates = [CLOUD_CFG[0]] + [
        f"{CLOUD_CFG[1]}/{name}" for name in fs.listdir(CLOUD_CFG[1]) if name.endswith(".cfg")
    ]
    for path in candidates:
        text = fs.read_text(path)
        if text is not None:
            texts[path] = text
    if fs.exists("etc/cloud/cloud-init.disabled"):
        texts["etc/cloud/cloud-init.disabled"] = "network: {config: disabled}\n"
    return texts


def _file_for(texts: dict[str, str], nic: str) -> str:
    """The file the bridge edit goes to: the one with xenwizard's block (an earlier run), else
    the one with NIC's stanza, else /etc/network/interfaces."""
    for path, text in texts.items():
        if path != ifupdown_isolated.PATH and ifupdown_bridge.has_block(text):
            return path
    for path, text in texts.items():
        if any(name == nic for name, _, _ in ifupdown_bridge.configured_interfaces(text)):
            return path
    return INTERFACES
