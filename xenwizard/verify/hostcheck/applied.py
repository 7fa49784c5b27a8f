"""The last applied run, from its journal: what it planned and what it wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError
from xenwizard.engine.journal import Journal, list_runs
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck.results import CheckResult, skipped


@dataclass(frozen=True, slots=True)
class AppliedRun:
    """What the latest applied run planned and wrote, from its journal."""

    run_id: str
    plan: dict[str, Any]
    records: list[dict[str, Any]] = field(repr=False)

    @property
    def profile(self) -> str:
        return str(self.plan.get("profile", ""))

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.plan.get("steps", []))

    def step(self, step_id: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s.get("id") == step_id), None)

    def config(self) -> WizardConfig:
        answers = {k: v for k, v in dict(self.plan.get("answers", {})).items() if k != "profile"}
        return build_config(answers)

    @property
    def skip_packages(self) -> bool:
        """The apply ran with --skip-packages (its `run` record says so)."""
        return any(r.get("type") == "run" and r.get("skip_packages") for r in self.records)

    def skipped(self, index: int) -> str | None:
        """Why the apply skipped step `index` (its journal's `skipped` record), or None."""
        reasons = [
            str(r.get("reason") or "")
            for r in self.records
            if r.get("type") == "skipped" and r.get("index") == index
        ]
        return reasons[-1] if reasons else None

    def step_index(self, step_id: str) -> int | None:
        return next((i for i, s in enumerate(self.steps) if s.get("id") == step_id), None)

    def nic(self, bridge: str) -> str | None:
        """The NIC the plan made the bridge's port: the `dhcp-confine` step's own `nic`, the
        answers' `nic` (`--nic`), or the port of BR in the file the `bridge` step wrote."""
        confine = self.step("dhcp-confine")
        if confine and confine.get("nic"):
            return str(confine["nic"])
        answered = dict(self.plan.get("answers", {})).get("nic")
        if answered:
            return str(answered)
        step = self.step("bridge")
        if not step or not isinstance(step.get("after"), str):
            return None
        return bridge_port(str(step.get("path", "")), step["after"], bridge)

    def written_sha(self, index: int) -> str | None:
        """sha256 of what the run wrote for step `index` (deferred edits have no plan text)."""
        shas = [
            r.get("sha_after")
            for r in self.records
            if r.get("type") == "intent" and r.get("index") == index and r.get("kind") == "edit"
        ]
        return shas[-1] if shas else None


def latest_applied_run(fs: RootFS) -> AppliedRun | None:
    """The newest run whose outcome is 'applied' (not rolled back since), or None."""
    applied = [info for info in list_runs(fs) if info.state == "applied"]
    if not applied:
        return None
    run_id = applied[-1].run_id
    journal = Journal(fs, run_id)  # read through the run's checked descriptors
    plan = json.loads(journal.read("plan.json") or b"{}")
    return AppliedRun(run_id, plan, journal.records())


def planned_toolstack(run: AppliedRun) -> tuple[bool, str | None]:
    """(known, value) of TOOLSTACK when the run was planned; value None means no such line."""
    facts = run.plan.get("facts")
    if isinstance(facts, dict) and "toolstack" in facts:
        return True, facts["toolstack"]
    return False, None


def bridge_port(path: str, text: str, bridge: str) -> str | None:
    """The first port of BR in a network configuration xenwizard wrote (ifupdown or netplan),
    read with the format's own reader; None when it names none."""
    try:
        if path.startswith("etc/netplan/"):
            from xenwizard.edits import yamldoc

            data = yamldoc.parse(text).data()
            network = data.get("network") if isinstance(data, dict) else None
            bridges = network.get("bridges") if isinstance(network, dict) else None
            ours = bridges.get(bridge) if isinstance(bridges, dict) else None
            ports = ours.get("interfaces") if isinstance(ours, dict) else None
            return str(ports[0]) if isinstance(ports, list) and ports else None
        from xenwizard.edits.ifupdown_bridge import configured_interfaces

        return next((name for name, _m, is_port in configured_interfaces(text) if is_port), None)
    except EditError:
        return None


def skipped_result(run: AppliedRun, name: str, why: str) -> CheckResult:
    """A step the apply skipped wrote nothing: there is nothing of it to compare."""
    detail = why.removeprefix("skipped: ")
    if run.skip_packages:
        return skipped(
            name,
            f"skipped by the apply (--skip-packages): {detail}; `xenwizard apply` again once "
            "they are installed",
        )
    return skipped(name, f"skipped by run {run.run_id}: {detail}")
