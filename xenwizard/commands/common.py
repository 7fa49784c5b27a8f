"""From parsed command-line arguments to config, facts and plan: shared by every command."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace

from xenwizard.answers.build import build_config, split_profile
from xenwizard.answers.clashes import Target, free_default_address
from xenwizard.answers.fields import ANSWER_FIELDS
from xenwizard.answers.file import load_answers
from xenwizard.answers.model import ConfigError, FieldProblem, WizardConfig
from xenwizard.engine.hangup import SafeWriter
from xenwizard.paths import RUNS_DIR
from xenwizard.planning.plan import Plan
from xenwizard.planning.preflight import lan_clash, target_of
from xenwizard.planning.profiles import PlanError, make_plan, select_profile
from xenwizard.target.probe import SystemFacts, probe
from xenwizard.target.rootfs import RootFS


@dataclass(frozen=True, slots=True)
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


def config_from_args(
    args: argparse.Namespace, target: Target | None = None
) -> tuple[WizardConfig, str | None]:
    """The validated config and the profile the operator named (None: detect)."""
    answers, profile = split_profile(answers_from_args(args))
    return build_config(answers, target=target), profile


def answered_keys(args: argparse.Namespace) -> frozenset[str]:
    """The answer keys the operator gave, by flag or answers file."""
    return frozenset(split_profile(answers_from_args(args))[0])


def with_own_run(facts: SystemFacts, fs: RootFS) -> SystemFacts:
    """The facts with the guest address xenwizard's own last applied run gave its bridge (and
    its BR:0 alias): that run is what this one replaces, so a re-run with another bridge name,
    subnet or range is not refused as a clash with it. The same address configured by anyone
    else still clashes."""
    if not fs.is_dir(RUNS_DIR):
        return facts  # no run yet: the journal code (and json) is not even loaded
    from xenwizard.engine.journal import JournalError
    from xenwizard.verify.hostcheck.applied import latest_applied_run

    try:
        run = latest_applied_run(fs)
        config = run.config() if run is not None else None
    except (OSError, ValueError, JournalError):
        return facts  # an unreadable run is no evidence that an address is xenwizard's
    if config is None:
        return facts
    own = ((config.bridge, config.interface), (config.alias, config.interface))
    return replace(facts, replaced_addresses=own)


def target_for(facts: SystemFacts, fs: RootFS, profile: str | None) -> Target:
    """The target's used addresses and the chosen profile's rules (NIC, bridge length)."""
    try:
        chosen, _ = select_profile(facts, profile)
    except PlanError:
        chosen = None  # make_plan says why; the answers are judged without the profile
    return target_of(facts, fs, chosen)


def inputs_from_args(args: argparse.Namespace) -> Inputs:
    answers, profile = split_profile(answers_from_args(args))  # the answers file is read once
    fs = RootFS(args.root)
    facts = with_own_run(probe(fs), fs)
    target = target_for(facts, fs, profile)
    config = build_config(answers, target=target)
    taken = lan_clash(
        config, facts, lambda why: SafeWriter(sys.stderr).write_line(f"xenwizard: note: {why}")
    )
    if taken:
        raise ConfigError([FieldProblem("address", taken)])
    if answers.get("address") is None and answers.get("subnet-pool") is None:
        _address, why = free_default_address(target)
        if why:
            SafeWriter(sys.stderr).write_line(f"xenwizard: note: {why}")
    return Inputs(fs=fs, facts=facts, config=config, profile=profile)


def plan_from_args(args: argparse.Namespace) -> tuple[Inputs, Plan]:
    inputs = inputs_from_args(args)
    plan = make_plan(inputs.config, inputs.facts, inputs.fs, inputs.profile)
    return inputs, plan
