"""Issue 26 item 2: a bridge name that is already something else is refused up front, by the
CLI and by the Bridge page, on every profile, with one line naming what the name is.

Before: `plan --bridge lo` exited 0 on precise, 22.04 and 24.04; `--bridge eno1` on netplan
failed with netplan's raw "changes device type"; precise `--bridge eth0` said "configured: none".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.kits import gallery
from tests.kits.helpers import FIXTURES, run_cli
from tests.tui.test_app_wizard import sync

SAMPLES = Path(__file__).resolve().parents[2] / "xenwizard" / "samples"
# every root -> its NIC (the one the bridge takes over)
ROOTS = {
    FIXTURES / "precise-root": "eth0",
    FIXTURES / "debian-12-root": "eno1",
    FIXTURES / "debian-13-root": "enp1s0",
    FIXTURES / "ubuntu-22.04-root": "eno1",
    FIXTURES / "ubuntu-24.04-root": "eno1",
    SAMPLES / "debian-12": "eno1",
    SAMPLES / "ubuntu-12.04": "eth0",
}
IFUPDOWN_BOND = """
iface eno9 inet manual
    bond-master bond0

iface bond0 inet manual
    bond-slaves eno9
"""
NETPLAN_BOND = """network:
  version: 2
  ethernets:
    eno9: {}
  bonds:
    bond0:
      interfaces: [eno9]
"""


def with_bond(root: Path, tmp_path: Path) -> Path:
    """A copy of the root whose network configuration adds bond0 with the member eno9."""
    copy = tmp_path / "root"
    shutil.copytree(root, copy, symlinks=True)
    netplan = copy / "etc/netplan"
    if netplan.is_dir() and any(netplan.iterdir()):
        (netplan / "60-bond.yaml").write_text(NETPLAN_BOND)
    else:
        with open(copy / "etc/network/interfaces", "a") as handle:
            handle.write(IFUPDOWN_BOND)
    return copy


def plan_refusal(root: Path, bridge: str) -> tuple[int, str]:
    done = run_cli("plan", "--root", str(root), "--bridge", bridge)
    return done.returncode, done.stderr


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: p.name)
def test_the_cli_refuses_lo_the_nic_and_a_bond_member(root: Path, tmp_path: Path) -> None:
    cases = {
        "lo": (root, "lo is the loopback interface"),
        ROOTS[root]: (root, f"{ROOTS[root]} is "),
        "eno9": (with_bond(root, tmp_path), "a member of bond bond0"),
        "bond0": (tmp_path / "root", "bond0 is already a"),
    }
    for bridge, (where, words) in cases.items():
        code, err = plan_refusal(where, bridge)
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1, (bridge, code, err)
        assert lines[0].startswith(f"xenwizard: error: invalid answer bridge: {bridge} is"), err
        assert words in lines[0] and "choose another bridge name" in lines[0], (bridge, err)
        assert "Traceback" not in err


@pytest.mark.parametrize("root", [r for r in ROOTS if r.parent == FIXTURES], ids=lambda p: p.name)
@sync
async def test_the_bridge_page_refuses_them_too(root: Path, tmp_path: Path) -> None:
    """The Bridge page says why next to the field, and Next stays refused."""
    facts = {}
    if ROOTS[root] == "enp1s0":
        from xenwizard.target.probe import DefaultRoute

        facts = {
            "interfaces": gallery.lan_interfaces("enp1s0", "52:54:00:8a:1c:03"),
            "default_route": DefaultRoute(gateway="192.168.1.1", interface="enp1s0"),
        }
    item = gallery.Scenario("names", "bridge names", facts=facts)
    with gallery.pinned():
        app, runner = gallery.build_app(item, tmp_path, root)
        async with app.run_test(size=gallery.SIZE) as pilot:
            await gallery.drive(pilot, ("enter",), runner)
            for bridge, words in (("lo", "loopback"), (ROOTS[root], ROOTS[root])):
                field = app.screen.query_one("#bridge", Input)
                field.value = ""
                await gallery.drive(pilot, (*bridge, "enter"), runner)
                reason = str(app.screen.query_one(".reason").render())
                assert app.screen.PAGE == "Bridge", (bridge, reason)
                assert reason.startswith(f"invalid: {bridge} is") and words in reason, reason


@pytest.mark.parametrize(
    ("root", "words", "absent"),
    [
        (FIXTURES / "precise-root", "at most 13\ncharacters here, so that the alias NAME:0", ""),
        (FIXTURES / "debian-12-root", "at most 15\ncharacters (the kernel's limit)", "alias"),
    ],
    ids=["precise", "debian-12"],
)
def test_the_bridge_help_gives_the_profiles_own_limit(
    root: Path, words: str, absent: str, tmp_path: Path
) -> None:
    """Issue 26 item 7: Debian 12 has no alias (15 characters are accepted); the help said 13
    "so that the alias NAME:0 fits" on every profile."""
    from xenwizard.tui.screens.bridge import BridgeScreen

    app, _runner = gallery.build_app(gallery.Scenario("help", "help"), tmp_path, root)
    text = BridgeScreen(app.ctx).help_text()
    assert words in text, text
    assert not absent or absent not in text, text
