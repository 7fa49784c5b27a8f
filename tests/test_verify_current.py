"""`verify` on current releases (Debian 12/13, Ubuntu 22.04/24.04): a real apply of the fixture
roots with `--skip-packages`, a fake live system, exact reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FIXTURES, copy_root
from tests.test_verify_checks import FakeLive, by_name, healthy
from xenwizard.cli import main
from xenwizard.hostcheck import run_checks
from xenwizard.rootfs import RootFS


def applied(tmp_path: Path, release: str, capsys: pytest.CaptureFixture[str], *flags: str) -> Path:
    target = copy_root(FIXTURES / f"{release}-root", tmp_path / release)
    code = main(["apply", "--root", str(target), "--yes", "--skip-packages", *flags])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    return target


# --- 1. who makes the bridge ----------------------------------------------------------------


@pytest.mark.parametrize("release", ["debian-12", "debian-13"])
def test_a_missing_bridge_is_blamed_on_ifupdown_and_its_file(tmp_path, capsys, release) -> None:
    root = applied(tmp_path, release, capsys)
    live = healthy(root)
    del live.links["br0"]
    assert by_name(run_checks(RootFS(root), live))["bridge"].line() == (
        "FAIL bridge: br0 does not exist; ifupdown creates it at boot from "
        "etc/network/interfaces (`auto br0`, written by the bridge step): "
        "see `journalctl -b -u networking`"
    )


@pytest.mark.parametrize("release", ["ubuntu-22.04", "ubuntu-24.04"])
def test_a_missing_bridge_is_blamed_on_netplan_and_its_file(tmp_path, capsys, release) -> None:
    root = applied(tmp_path, release, capsys)
    live = healthy(root)
    del live.links["br0"]
    assert by_name(run_checks(RootFS(root), live))["bridge"].line() == (
        "FAIL bridge: br0 does not exist; netplan has systemd-networkd create it at boot from "
        "etc/netplan/90-xenwizard.yaml (written by the bridge step): see `netplan generate` "
        "and `journalctl -b -u systemd-networkd`"
    )


def test_without_a_run_the_bridge_reason_names_no_file(tmp_path) -> None:
    bare = copy_root(FIXTURES / "debian-12-root", tmp_path / "bare")
    result = by_name(run_checks(RootFS(bare), FakeLive()))["bridge"]
    assert result.line() == (
        "FAIL bridge: br0 does not exist; with no applied run to read, it is not known what "
        "should create it (ifupdown, netplan or the toolstack)"
    )
