"""The target's network layout, read once and typed, and the primary NIC found in it."""

from __future__ import annotations

from collections import Counter
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.profiles import PROFILES
from xenwizard.target.netlayout import ConfiguredNic, NetLayout, NicChoice, primary_nic
from xenwizard.target.probe import probe
from xenwizard.target.rootfs import RootFS


class CountingFS(RootFS):
    """A RootFS that counts the reads of each file."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: Counter[str] = Counter()

    def read_text(self, rel: str) -> str | None:
        self.reads[rel] += 1
        return super().read_text(rel)


def test_an_ifupdown_target_is_read_into_typed_nics() -> None:
    layout = NetLayout.read(RootFS(FIXTURES / "debian-12-root"), "ifupdown")
    assert layout.backend == "ifupdown"
    assert layout.error is None
    assert layout.nics == (ConfiguredNic("eno1", addressed=True, ours=False),)
    assert "etc/network/interfaces" in layout.ifupdown_texts
    with pytest.raises(FrozenInstanceError):
        layout.backend = "netplan"  # type: ignore[misc]  # the point: the layout is frozen


def test_a_netplan_target_is_netplan_whatever_the_release_default() -> None:
    layout = NetLayout.read(RootFS(FIXTURES / "ubuntu-24.04-root"), "ifupdown")
    assert layout.backend == "netplan"
    assert layout.names and all(isinstance(nic, ConfiguredNic) for nic in layout.nics)
    assert layout.where == "etc/netplan/*.yaml"


def test_an_unreadable_configuration_is_the_layouts_error(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    (root / "etc/network/interfaces").write_text("source interfaces\n")
    layout = NetLayout.read(RootFS(root), "netplan")
    assert layout.backend == "ifupdown"
    assert layout.error is not None and layout.error.startswith("etc/network/interfaces")
    choice = primary_nic(WizardConfig(), probe(RootFS(root), live=False), layout)
    assert (choice.name, choice.error) == (None, layout.error)
    profile = PROFILES["debian-12"]
    assert profile.nic_problem("eno1", probe(RootFS(root), live=False), RootFS(root)) is None


def test_the_profiles_primary_nic_reads_the_configuration_once() -> None:
    """Detection, the candidates and the MAC come from one read of the files (the old code
    read interfaces three times for one answer)."""
    fs = CountingFS(FIXTURES / "debian-12-root")
    facts = probe(RootFS(FIXTURES / "debian-12-root"), live=False)
    choice = PROFILES["debian-12"].primary_nic(WizardConfig(), facts, fs)
    assert isinstance(choice, NicChoice)
    assert (choice.name, choice.backend, choice.candidates) == ("eno1", "ifupdown", ("eno1",))
    assert fs.reads["etc/network/interfaces"] == 1
