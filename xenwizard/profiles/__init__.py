"""Profiles by name, and detection of the one that fits the target system."""

from __future__ import annotations

from xenwizard.config import WizardConfig
from xenwizard.plan import Plan
from xenwizard.probe import SystemFacts
from xenwizard.profiles.base import PlanError, Profile
from xenwizard.profiles.debian import Debian12, Debian13
from xenwizard.profiles.ubuntu import Ubuntu2204, Ubuntu2404
from xenwizard.profiles.ubuntu_precise import UbuntuPrecise
from xenwizard.rootfs import RootFS

PROFILES: dict[str, Profile] = {
    p.name: p for p in (UbuntuPrecise(), Debian12(), Debian13(), Ubuntu2204(), Ubuntu2404())
}


def select_profile(facts: SystemFacts, name: str | None = None) -> tuple[Profile, str]:
    """The profile and why it was chosen; PlanError names the supported ones otherwise."""
    supported = ", ".join(PROFILES)
    if name:
        if name not in PROFILES:
            raise PlanError(f"unknown profile {name!r}; supported profiles: {supported}")
        return PROFILES[
            name
        ], f"chosen with --profile {name} (system: {facts.pretty_name or 'unknown'})"
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
    return chosen.build(config, facts, fs, reason)


__all__ = ["PROFILES", "PlanError", "Profile", "make_plan", "select_profile"]
