"""The wizard walked by keyboard in the isolated shape (issue 25) at 80x24 on the Debian 12 and
Ubuntu 24.04 fixture roots: the bridge page's Shape choice hides the NIC field, the preview says
there is no network lockout risk, the apply writes the bridge into xenwizard's own file and
leaves the host's network files byte-identical, and the answers file records isolated = true.
Back to bridged on the bridge page brings the NIC field back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import gallery
from tests.tui.test_app_wizard import screen_text, sync
from xenwizard.edits import ifupdown_isolated, netplan
from xenwizard.tui.screens.bridge import BridgeScreen
from xenwizard.tui.widgets import ChoiceSet

pytestmark = pytest.mark.usefixtures("pinned_run_id")

HOST_FILES = {
    "debian-12": ("etc/network/interfaces",),
    "ubuntu-24.04": ("etc/netplan/50-cloud-init.yaml",),
}
OWN_FILE = {"debian-12": ifupdown_isolated.PATH, "ubuntu-24.04": netplan.OWN_PATH}


@pytest.mark.parametrize("release", ["debian-12", "ubuntu-24.04"])
@sync
async def test_isolated_walk_by_keyboard_applies_without_touching_the_nic(
    tmp_path: Path, release: str
) -> None:
    item = gallery.Scenario("isolated", "isolated", root=release)
    app, runner = gallery.build_app(item, tmp_path, gallery.ROOTS[release])
    root = tmp_path / "root"
    host_files = {path: (root / path).read_bytes() for path in HOST_FILES[release]}
    async with app.run_test(size=gallery.SIZE) as pilot:
        await gallery.drive(pilot, ("enter",), runner)  # welcome
        bridge = app.screen
        assert isinstance(bridge, BridgeScreen)
        text = screen_text(app)
        assert "Shape: (•) bridged  ( ) isolated" in text
        assert "one MAC per port" in text and "NIC to bridge" in text
        await gallery.drive(pilot, ("tab", "tab", "right"), runner)  # after the NIC field
        assert bridge.query_one("#shape", ChoiceSet).value == "isolated"
        assert "NIC to bridge" not in screen_text(app)
        await gallery.drive(pilot, ("left",), runner)  # bridged again: the field is back
        assert "NIC to bridge" in screen_text(app)
        await gallery.drive(pilot, ("right",), runner)
        await gallery.drive(pilot, gallery.XL_TO_PREVIEW[1:], runner)  # bridge .. toolstack
        preview = screen_text(app)
        assert "no network lockout risk at the reboot" in preview, preview
        assert app.ctx.config.isolated and app.ctx.config.nic is None
        await gallery.drive(pilot, ("a", "y", "@apply"), runner)
        assert "APPLIED" in screen_text(app)
    for path, data in host_files.items():
        assert (root / path).read_bytes() == data, f"{path} was touched"
    own = (root / OWN_FILE[release]).read_text()
    assert "br0" in own and ("bridge_ports none" in own or "interfaces: []" in own), own
    answers = root / f"var/lib/xenwizard/runs/{gallery.RUN_ID}/answers.toml"
    assert "isolated = true" in answers.read_text()
