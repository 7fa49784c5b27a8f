"""The isolated bridge (issue 25): `--isolated` plans a bridge with no NIC in a file of
xenwizard's own on every current profile's fixture root and leaves the host's network files as
they are; ubuntu-precise and `--isolated --nic` are refused in one line; a later run switches
shapes (bridged -> isolated -> bridged) and each rollback restores the run before it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.kits.enginekit import diff_manifests, manifest
from tests.kits.helpers import FIXTURES, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.fields import ANSWERS
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits import ifupdown_isolated, netplan, nftconfine
from xenwizard.edits.yamldoc import parse as parse_yaml
from xenwizard.planning.plan import EditFile

CURRENT = ("debian-12-root", "debian-13-root", "ubuntu-22.04-root", "ubuntu-24.04-root")
NETWORK_FILES = ("etc/network/interfaces", "etc/netplan")
ISOLATED = WizardConfig(isolated=True)


def network_files(root: Path) -> dict[str, bytes]:
    """The host's own network configuration: interfaces and every netplan file but ours."""
    found: dict[str, bytes] = {}
    for top in NETWORK_FILES:
        base = root / top
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for path in paths:
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in (netplan.OWN_PATH, ifupdown_isolated.PATH):
                found[rel] = path.read_bytes()
    return found


def edited_paths(root: Path, config: WizardConfig) -> dict[str, EditFile]:
    plan = plan_for(root, config)
    return {s.path: s for s in plan.steps if isinstance(s, EditFile)}


@pytest.mark.parametrize("name", CURRENT)
def test_plan_on_every_current_root_is_a_bridge_without_nic(name: str) -> None:
    """The bridge step writes only xenwizard's own file, which names no port; no step touches
    a network file of the host's; no DHCP confinement (there is no LAN port)."""
    root = FIXTURES / name
    plan = plan_for(root, ISOLATED)
    ids = [s.id for s in plan.steps]
    assert "dhcp-confine" not in ids
    assert "guest-nat" in ids  # nat is the default, and the guests' only way out
    bridge = next(s for s in plan.steps if s.id == "bridge")
    assert isinstance(bridge, EditFile) and bridge.after is not None
    assert any("no network lockout risk" in n for n in bridge.notes)
    own = edited_paths(root, ISOLATED)
    assert not set(own) & set(network_files(root)), "a host network file is edited"
    if bridge.path == netplan.OWN_PATH:
        data = parse_yaml(bridge.after).data()
        settings = data["network"]["bridges"]["br0"]
        assert settings["interfaces"] == [] and settings["addresses"] == ["10.0.0.1/24"]
        assert "ethernets" not in data["network"]
    else:
        assert bridge.path == ifupdown_isolated.PATH
        assert "    bridge_ports none\n" in bridge.after
        assert "    address 10.0.0.1/24\n" in bridge.after
    nat = next(s for s in plan.steps if s.id == "guest-nat")
    assert not any("bridge also carries the LAN" in n for n in nat.notes), nat.notes


@pytest.mark.parametrize("name", CURRENT)
def test_bridged_plan_on_the_same_root_still_takes_the_nic(name: str) -> None:
    """The default shape is unchanged: the NIC is the port and DHCP is confined."""
    plan = plan_for(FIXTURES / name)
    assert "dhcp-confine" in [s.id for s in plan.steps]


def test_precise_is_refused_in_one_line() -> None:
    done = run_cli("plan", "--root", str(FIXTURES / "precise-root"), "--isolated")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "isolated: not on ubuntu-precise" in lines[0], done.stderr


def test_isolated_with_nic_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"isolated": True, "nic": "eno1"})
    assert [p.field for p in caught.value.problems] == ["nic"]
    assert "isolated bridge takes no NIC" in str(caught.value)
    done = run_cli(
        "plan", "--root", str(FIXTURES / "debian-12-root"), "--isolated", "--nic", "eno1"
    )
    assert done.returncode != 0 and "nic: cannot be given with isolated" in done.stderr


def test_answer_round_trips_through_the_answers_file_form() -> None:
    assert ANSWERS["isolated"].default is False
    config = build_config({"isolated": "yes"})
    assert config.isolated and config.to_answers()["isolated"] is True
    assert build_config(config.to_answers()) == config
    assert "isolated" not in WizardConfig().to_answers()


def test_interfaces_without_source_line_is_refused(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    interfaces = root / "etc/network/interfaces"
    interfaces.write_text(interfaces.read_text().replace("source /etc/network/interfaces.d/*", ""))
    done = run_cli("plan", "--root", str(root), "--isolated")
    assert done.returncode == 1
    assert "does not read etc/network/interfaces.d/" in done.stderr, done.stderr


def apply(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("apply", "--yes", "--skip-packages", "--root", str(root), *extra)


@pytest.mark.parametrize("name", CURRENT)
def test_isolated_apply_leaves_the_network_files_and_rolls_back(name: str, tmp_path: Path) -> None:
    root = copy_root(FIXTURES / name, tmp_path / "root")
    before, files = manifest(root), network_files(root)
    done = apply(root, "--isolated")
    assert done.returncode == 0, done.stderr
    assert network_files(root) == files
    again = run_cli("plan", "--root", str(root), "--isolated")
    bridge_line = next(line for line in again.stdout.splitlines() if "isolated bridge br0" in line)
    assert again.returncode == 0 and ": no change (" in bridge_line, again.stdout
    back = run_cli("rollback", "--root", str(root))
    assert back.returncode == 0, back.stderr
    assert not diff_manifests(before, manifest(root))


@pytest.mark.parametrize("name", ("debian-12-root", "ubuntu-24.04-root"))
def test_switch_isolated_then_bridged_then_back(name: str, tmp_path: Path) -> None:
    """isolated -> bridged (the NIC taken, the isolated file given up) -> rollback restores the
    isolated run exactly -> rollback restores the fixture."""
    root = copy_root(FIXTURES / name, tmp_path / "root")
    original = manifest(root)
    assert apply(root, "--isolated").returncode == 0
    isolated = manifest(root)
    done = apply(root)
    assert done.returncode == 0, done.stderr
    plan = run_cli("plan", "--json", "--root", str(root))
    assert plan.returncode == 0, plan.stderr
    assert '"dhcp-confine"' in plan.stdout
    if (root / ifupdown_isolated.PATH).exists():  # ifupdown: br0 defined once, with eno1
        assert "BEGIN xenwizard" not in (root / ifupdown_isolated.PATH).read_text()
        assert "bridge_ports eno1" in (root / "etc/network/interfaces").read_text()
    else:
        own = parse_yaml((root / netplan.OWN_PATH).read_text()).data()
        assert own["network"]["bridges"]["br0"]["interfaces"]
    assert run_cli("rollback", "--root", str(root)).returncode == 0
    assert not diff_manifests(isolated, manifest(root))
    assert run_cli("rollback", "--root", str(root)).returncode == 0
    assert not diff_manifests(original, manifest(root))


def test_switch_bridged_to_isolated_on_ifupdown_gives_the_nic_back(tmp_path: Path) -> None:
    """bridged -> isolated on ifupdown: the NIC's stanza is byte-identical to the fixture's
    again, the bridge lives only in interfaces.d; the rollback restores the bridged run."""
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    fixture = (root / "etc/network/interfaces").read_bytes()
    assert apply(root).returncode == 0
    bridged = manifest(root)
    assert (root / "etc/network/interfaces").read_bytes() != fixture
    done = apply(root, "--isolated")
    assert done.returncode == 0, done.stderr
    assert (root / "etc/network/interfaces").read_bytes() == fixture
    assert "bridge_ports none" in (root / ifupdown_isolated.PATH).read_text()
    # the bridged run's DHCP confinement, still enabled at boot, now only removes its table
    confine = (root / nftconfine.RULES_PATH).read_text()
    assert "dport" not in confine and "delete table bridge xenwizard" in confine, confine
    assert (root / nftconfine.UNIT_LINK).is_symlink()
    assert run_cli("rollback", "--root", str(root)).returncode == 0
    assert not diff_manifests(bridged, manifest(root))


def test_switch_bridged_to_isolated_on_netplan_is_refused_in_one_line(tmp_path: Path) -> None:
    """netplan: the earlier run commented the NIC's addressing out of the host's files; only its
    rollback gives that back, so the switch asks for it."""
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    assert apply(root).returncode == 0
    done = run_cli("plan", "--root", str(root), "--isolated")
    assert done.returncode == 1
    assert "roll that run back first" in done.stderr and len(done.stderr.splitlines()) == 1
