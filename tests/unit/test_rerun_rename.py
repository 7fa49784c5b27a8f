"""A re-run with other answers on a configured host: a new bridge name, subnet or range
replaces xenwizard's own last applied run (one managed copy, nothing of the old left), and
the clash checks ignore that run's own address, in the CLI and the wizard; an address that
xenwizard did not configure still clashes. Rollback of the second run restores the first."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import diff_manifests, manifest
from tests.kits.helpers import FIXTURES, copy_root, run_cli

ROOTS = (
    "debian-12-root",
    "debian-13-root",
    "ubuntu-22.04-root",
    "ubuntu-24.04-root",
    "precise-root",
)
STATE = ("var/lib/xenwizard", "var/log")
RENAMED = ("--bridge", "xenbr7", "--address", "10.0.7.1/24", "--dhcp-range", "10.0.7.20,10.0.7.30")


def apply(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("apply", "--yes", "--skip-packages", "--root", str(root), *extra)


def mentions(root: Path, word: str) -> list[str]:
    """Files under the root (xenwizard's journal and log left out) whose text names `word`."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or not path.is_file() or rel.startswith(STATE):
            continue
        if word.encode() in path.read_bytes():
            found.append(rel)
    return found


@pytest.fixture(params=ROOTS)
def applied(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A fixture root after a default apply (bridge br0, 10.0.0.1/24)."""
    root = copy_root(FIXTURES / request.param, tmp_path / "root")
    done = apply(root)
    assert done.returncode == 0, done.stderr
    assert mentions(root, "br0"), "the first run configured br0"
    return root


def test_same_subnet_new_bridge_is_not_a_clash_with_the_own_last_run(applied: Path) -> None:
    """The issue's case: the default subnet, only the bridge renamed (before: "10.0.0.1 is
    already used (configured for br0)", on precise "... br0:0")."""
    done = run_cli("plan", "--root", str(applied), "--bridge", "xenbr7")
    assert done.returncode in (0, 2), done.stderr
    assert "already used" not in done.stderr and "overlaps" not in done.stdout + done.stderr
    assert "+interface=xenbr7" in done.stdout and "-interface=br0" in done.stdout


@pytest.mark.parametrize(
    "answers",
    [
        ("--bridge", "xenbr7"),
        ("--bridge", "xenbr7", "--dhcp-range", "10.0.0.50,10.0.0.60"),
        RENAMED,
    ],
    ids=["bridge", "bridge+range", "bridge+subnet+range"],
)
def test_rename_applies_one_copy_and_rolls_back_to_the_first_run(
    applied: Path, answers: tuple[str, ...]
) -> None:
    first = manifest(applied)
    done = apply(applied, *answers)
    assert done.returncode == 0, done.stdout + done.stderr
    assert mentions(applied, "br0") == [], "nothing of the old bridge is left"
    written = mentions(applied, "xenbr7")
    assert "etc/dnsmasq.d/xenwizard.conf" in written
    dnsmasq = (applied / "etc/dnsmasq.d/xenwizard.conf").read_text()
    assert dnsmasq.count("interface=") == 1 and "interface=xenbr7\n" in dnsmasq
    assert dnsmasq.count("dhcp-range=") == 1
    if "--address" in answers:
        assert mentions(applied, "10.0.0.") == [], "nothing of the old subnet is left"
    again = run_cli("plan", "--root", str(applied), *answers)
    assert again.returncode == 0, again.stdout + again.stderr  # converged: nothing to change
    rolled = run_cli("rollback", "--root", str(applied))
    assert rolled.returncode == 0, rolled.stderr
    assert diff_manifests(first, manifest(applied)) == []


@pytest.mark.parametrize("name", ["debian-12-root", "precise-root"])
def test_renamed_interfaces_pass_the_real_ifup(tmp_path: Path, name: str) -> None:
    root = copy_root(FIXTURES / name, tmp_path / "root")
    assert apply(root).returncode == 0
    assert apply(root, *RENAMED).returncode == 0
    interfaces = root / "etc/network/interfaces"
    bridge = "xenbr7:0" if name == "precise-root" else "xenbr7"
    state = tmp_path / "state"
    state.mkdir()
    done = subprocess.run(
        [
            programs.require("ifup"),
            "--no-act",
            "--no-mappings",
            "--state-dir",
            str(state),
            "-i",
            str(interfaces),
            "--",
            bridge,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "10.0.7.1" in done.stdout + done.stderr or "10.0.7.1" in interfaces.read_text()
    assert "br0" not in interfaces.read_text()


def test_renamed_netplan_generates_one_bridge(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    assert apply(root).returncode == 0
    assert apply(root, *RENAMED).returncode == 0
    scratch = tmp_path / "scratch"
    shutil.copytree(root / "etc/netplan", scratch / "etc/netplan")
    done = subprocess.run(
        [programs.require("netplan"), "generate", "--root-dir", str(scratch)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    networkd = sorted(p.name for p in (scratch / "run/systemd/network").iterdir())
    assert any("xenbr7" in n for n in networkd) and not any("br0" in n for n in networkd), networkd


HAND_MADE = "\n# by hand, not xenwizard\nauto eth9\niface eth9 inet static\n    address {}\n"


@pytest.mark.parametrize("name", ["debian-12-root", "precise-root"])
def test_an_address_xenwizard_did_not_configure_still_clashes(tmp_path: Path, name: str) -> None:
    """After a default apply, an operator's own eth9 on 10.0.7.1: a re-run onto it is refused."""
    root = copy_root(FIXTURES / name, tmp_path / "root")
    assert apply(root).returncode == 0
    with (root / "etc/network/interfaces").open("a") as handle:
        handle.write(HAND_MADE.format("10.0.7.1/24"))
    done = run_cli("plan", "--root", str(root), *RENAMED)
    assert done.returncode == 1
    assert "10.0.7.1 is already used (configured for eth9)" in done.stderr, done.stderr


@pytest.mark.parametrize("name", ["debian-12-root", "precise-root"])
def test_a_hand_made_br0_on_the_default_address_still_clashes(tmp_path: Path, name: str) -> None:
    """No xenwizard run here: a br0 someone configured on 10.0.0.1 is not xenwizard's own, so
    a plan for xenbr7 on 10.0.0.1 is refused as before."""
    root = copy_root(FIXTURES / name, tmp_path / "root")
    with (root / "etc/network/interfaces").open("a") as handle:
        handle.write(HAND_MADE.replace("eth9", "br0").format("10.0.0.1/24"))
    done = run_cli("plan", "--root", str(root), "--bridge", "xenbr7", "--address", "10.0.0.1/24")
    assert done.returncode == 1
    assert "10.0.0.1 is already used (configured for br0)" in done.stderr, done.stderr


def test_a_rolled_back_run_is_not_the_own_last_run(tmp_path: Path) -> None:
    """Once the run is rolled back its address is gone; a hand-made br0 on the same address
    afterwards clashes again (the rolled-back run does not excuse it)."""
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    assert apply(root).returncode == 0
    assert run_cli("rollback", "--root", str(root)).returncode == 0
    with (root / "etc/network/interfaces").open("a") as handle:
        handle.write(HAND_MADE.replace("eth9", "br0").format("10.0.0.1/24"))
    done = run_cli("plan", "--root", str(root), "--bridge", "xenbr7", "--address", "10.0.0.1/24")
    assert done.returncode == 1 and "configured for br0" in done.stderr, done.stderr


@pytest.mark.parametrize("name", ["debian-12-root", "precise-root"])
def test_the_wizard_judges_a_rename_like_the_cli(tmp_path: Path, name: str) -> None:
    """The wizard's context (as `xenwizard --root` builds it) knows the own last run: its
    target and the Subnet page's overlap check find nothing for xenbr7 on 10.0.0.1."""
    from xenwizard.answers.build import build_config
    from xenwizard.answers.clashes import target_problems
    from xenwizard.planning.preflight import subnet_overlaps
    from xenwizard.tui.launch import context_from_args

    root = copy_root(FIXTURES / name, tmp_path / "root")
    assert apply(root).returncode == 0
    args = argparse.Namespace(root=str(root), profile=None, answers=None, demo=False)
    ctx = context_from_args(args)
    renamed = build_config({"bridge": "xenbr7"}, ctx.config)
    assert target_problems(renamed, ctx.target) == []
    assert subnet_overlaps(renamed, ctx.facts) == []
