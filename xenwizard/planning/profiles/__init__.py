"""Profiles by name, and detection of the one that fits the target system."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from importlib import import_module

from xenwizard.answers.model import WizardConfig
from xenwizard.planning.plan import Plan
from xenwizard.planning.profiles.base import PlanError, Profile
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

# Detection order, and where each profile lives: "module:Class".
PROFILE_CLASSES = {
    "ubuntu-precise": "xenwizard.planning.profiles.ubuntu_precise:UbuntuPrecise",
    "debian-12": "xenwizard.planning.profiles.debian:Debian12",
    "debian-13": "xenwizard.planning.profiles.debian:Debian13",
    "ubuntu-22.04": "xenwizard.planning.profiles.ubuntu:Ubuntu2204",
    "ubuntu-24.04": "xenwizard.planning.profiles.ubuntu:Ubuntu2404",
}


class _LazyProfiles(Mapping[str, Profile]):
    """Profiles by name, each module imported on first use: a precise plan never loads the
    current-release recipes (netplan, ifupdown bridges), which keeps `xenwizard plan` fast."""

    def __init__(self, classes: dict[str, str]):
        self._classes = classes
        self._loaded: dict[str, Profile] = {}

    def __getitem__(self, name: str) -> Profile:
        if name not in self._loaded:
            module, _, cls = self._classes[name].partition(":")
            self._loaded[name] = getattr(import_module(module), cls)()
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)


PROFILES: Mapping[str, Profile] = _LazyProfiles(PROFILE_CLASSES)


def select_profile(facts: SystemFacts, name: str | None = None) -> tuple[Profile, str]:
    """The profile and why it was chosen; PlanError names the supported ones otherwise."""
    supported = ", ".join(PROFILES)
    if name:
        if name not in PROFILES:
            raise PlanError(f"unknown profile {name!r}; supported profiles: {supported}")
        reason = f"chosen with --profile {name} (system: {facts.pretty_name or 'unknown'})"
        return PROFILES[name], reason
    for profile in PROFILES.values():
        if profile.matches(facts):
            return profile, f"detected {facts.pretty_name} ({facts.release})"
    raise PlanError(
        f"unsupported release {facts.release!r} ({facts.pretty_name or 'no os-release'}); "
        f"supported profiles: {supported}; choose one with --profile"
    )


def make_plan(
    config: WizardConfig, facts: SystemFacts, fs: RootFS, profile: str | None = None
) -> Plan:
    chosen, reason = select_profile(facts, profile)
    return pin_profile(chosen.build(config, facts, fs, reason), profile)


def pin_profile(plan: Plan, profile: str | None) -> Plan:
    """The plan whose answers name the profile only when the operator chose one: an answers
    file from a detected run detects again on the next host instead of forcing this recipe."""
    if not profile:
        return plan
    return replace(plan, answers={"profile": profile, **plan.answers})


__all__ = ["PROFILES", "PlanError", "Profile", "make_plan", "pin_profile", "select_profile"]
