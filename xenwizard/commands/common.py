"""From parsed command-line arguments to config, facts and plan: shared by every command."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from xenwizard.answers import load_answers
from xenwizard.config import WizardConfig, build_config
from xenwizard.plan import Plan
from xenwizard.probe import SystemFacts, probe
from xenwizard.profiles import make_plan
from xenwizard.rootfs import RootFS

# argparse destination -> answers-file key
FLAG_KEYS = {
    "bridge": "bridge",
    "address": "address",
    "dhcp_range": "dhcp-range",
    "lease": "lease",
    "dhcp_xen_only": "dhcp-xen-only",
    "nic": "nic",
    "udp_checksum_workaround": "udp-checksum-workaround",
}


@dataclass(frozen=True)
class Inputs:
    fs: RootFS
    facts: SystemFacts
    config: WizardConfig
    profile: str | None


def answers_from_args(args: argparse.Namespace) -> dict[str, object]:
    """The answers file (if any) overlaid with the flags the operator gave."""
    answers: dict[str, object] = dict(load_answers(args.answers)) if args.answers else {}
    for dest, key in FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            answers[key] = value
    return answers


def inputs_from_args(args: argparse.Namespace) -> Inputs:
    answers = answers_from_args(args)
    profile = answers.pop("profile", None)
    if getattr(args, "profile", None):
        profile = args.profile
    config = build_config(answers)
    fs = RootFS(args.root)
    return Inputs(fs=fs, facts=probe(fs), config=config, profile=profile)  # type: ignore[arg-type]


def plan_from_args(args: argparse.Namespace) -> tuple[Inputs, Plan]:
    inputs = inputs_from_args(args)
    plan = make_plan(inputs.config, inputs.facts, inputs.fs, inputs.profile)
    return inputs, plan
