"""From parsed command-line arguments to config, facts and plan: shared by every command."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from xenwizard.answers import load_answers
from xenwizard.config import ANSWER_FIELDS, WizardConfig, build_config, split_profile
from xenwizard.plan import Plan
from xenwizard.probe import SystemFacts, probe
from xenwizard.profiles import make_plan
from xenwizard.rootfs import RootFS


@dataclass(frozen=True)
class Inputs:
    fs: RootFS
    facts: SystemFacts
    config: WizardConfig
    profile: str | None


def answers_from_args(args: argparse.Namespace) -> dict[str, object]:
    """The answers file (if any) overlaid with the flags the operator gave."""
    answers: dict[str, object] = dict(load_answers(args.answers)) if args.answers else {}
    for spec in ANSWER_FIELDS:
        value = getattr(args, spec.dest, None)
        if value is not None:
            answers[spec.key] = value
    return answers


def config_from_args(args: argparse.Namespace) -> tuple[WizardConfig, str | None]:
    """The validated config and the profile the operator named (None: detect)."""
    answers, profile = split_profile(answers_from_args(args))
    return build_config(answers), profile


def inputs_from_args(args: argparse.Namespace) -> Inputs:
    config, profile = config_from_args(args)
    fs = RootFS(args.root)
    return Inputs(fs=fs, facts=probe(fs), config=config, profile=profile)


def plan_from_args(args: argparse.Namespace) -> tuple[Inputs, Plan]:
    inputs = inputs_from_args(args)
    plan = make_plan(inputs.config, inputs.facts, inputs.fs, inputs.profile)
    return inputs, plan
