"""`verify` after an isolated apply (issue 25): the shape's own check (no NIC on the bridge,
the default route not through it), no DHCP confinement check, the NAT check kept; a bridged
run's verify has no isolated check. A real apply of the fixture roots, a fake live system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_verify_checks import by_name
from tests.unit.test_verify_current import applied, healthy_current
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck import CommandOutput, run_checks

PORTS = ("ip", "-j", "link", "show", "master", "br0")
ROUTE = ("ip", "-j", "-4", "route", "show", "default")


def ports(*names: str) -> CommandOutput:
    return CommandOutput(0, json.dumps([{"ifname": n, "master": "br0"} for n in names]), "")


def default_via(dev: str) -> CommandOutput:
    return CommandOutput(
        0, json.dumps([{"dst": "default", "gateway": "192.0.2.1", "dev": dev}]), ""
    )


def isolated_live(root: Path, *port_names: str, route_dev: str = "eno1"):
    live = healthy_current(root)
    live.commands[PORTS] = ports(*port_names)
    live.commands[ROUTE] = default_via(route_dev)
    return live


@pytest.mark.parametrize("release", ["debian-12", "ubuntu-24.04"])
def test_isolated_run_passes_with_only_vifs_on_the_bridge(tmp_path, capsys, release) -> None:
    root = applied(tmp_path, release, capsys, "--isolated")
    results = run_checks(RootFS(root), isolated_live(root, "vif3.0", "vif4.0-emu"))
    found = by_name(results)
    assert found["isolated-bridge"].line() == (
        "PASS isolated-bridge: br0 has no NIC among its ports (ports: vif3.0, vif4.0-emu); "
        "the default route leaves through eno1"
    )
    assert "dhcp-confinement" not in found
    assert found["guest-nat"].line().startswith("PASS ")
    assert [r.line() for r in results if r.failed] == []


def test_a_nic_on_the_isolated_bridge_fails_with_the_reason(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys, "--isolated")
    found = by_name(run_checks(RootFS(root), isolated_live(root, "eno1", "vif3.0")))
    assert found["isolated-bridge"].line() == (
        "FAIL isolated-bridge: eno1 is a port of br0, which the applied run made isolated (no "
        "NIC): the guests' frames reach that network with their Xen MACs; take it off "
        "(`ip link set eno1 nomaster`) and find what put it there"
    )


def test_the_default_route_through_the_bridge_fails(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys, "--isolated")
    found = by_name(run_checks(RootFS(root), isolated_live(root, route_dev="br0")))
    assert found["isolated-bridge"].failed
    assert "the default route leaves through br0" in found["isolated-bridge"].reason


def test_a_bridged_run_has_no_isolated_check(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    found = by_name(run_checks(RootFS(root), healthy_current(root)))
    assert "isolated-bridge" not in found and "dhcp-confinement" in found
