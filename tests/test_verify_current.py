"""`verify` on current releases (Debian 12/13, Ubuntu 22.04/24.04): a real apply of the fixture
roots with `--skip-packages`, a fake live system, exact reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, copy_root, run_cli
from tests.test_verify_checks import FakeLive, by_name, healthy
from xenwizard.cli import main
from xenwizard.hostcheck import checks, run_checks
from xenwizard.rootfs import RootFS


def applied(tmp_path: Path, release: str, capsys: pytest.CaptureFixture[str], *flags: str) -> Path:
    target = copy_root(FIXTURES / f"{release}-root", tmp_path / release)
    code = main(["apply", "--root", str(target), "--yes", "--skip-packages", *flags])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    return target


def healthy_current(root: Path) -> FakeLive:
    """As on a booted current release: the guests' subnet address unlabelled on the bridge."""
    live = healthy(root)
    lan = live.addrs.pop("br0:0")
    live.addrs["br0"] = [*live.addrs["br0"], *lan]
    return live


# --- 1. who makes the bridge ----------------------------------------------------------------


@pytest.mark.parametrize("release", ["debian-12", "debian-13"])
def test_a_missing_bridge_is_blamed_on_ifupdown_and_its_file(tmp_path, capsys, release) -> None:
    root = applied(tmp_path, release, capsys)
    live = healthy_current(root)
    del live.links["br0"]
    assert by_name(run_checks(RootFS(root), live))["bridge"].line() == (
        "FAIL bridge: br0 does not exist; ifupdown creates it at boot from "
        "etc/network/interfaces (`auto br0`, written by the bridge step): "
        "see `journalctl -b -u networking`"
    )


@pytest.mark.parametrize("release", ["ubuntu-22.04", "ubuntu-24.04"])
def test_a_missing_bridge_is_blamed_on_netplan_and_its_file(tmp_path, capsys, release) -> None:
    root = applied(tmp_path, release, capsys)
    live = healthy_current(root)
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


# --- 2. steps --skip-packages skipped -------------------------------------------------------


def test_a_file_step_the_apply_skipped_is_reported_skip_not_fail(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    results = run_checks(RootFS(root), healthy_current(root))
    found = by_name(results)
    assert found["file etc/xen/xl.conf"].line() == (
        "SKIP file etc/xen/xl.conf: skipped by the apply (--skip-packages): etc/xen/xl.conf "
        "comes with xen-system-amd64, and packages were skipped; `xenwizard apply` again once "
        "they are installed"
    )
    assert not found["file etc/xen/xl.conf"].failed
    # the steps the apply did write are still checked
    assert found["file etc/network/interfaces"].line().startswith("PASS ")
    assert [r.line() for r in results if r.failed] == []


def test_a_link_step_the_apply_skipped_is_reported_skip(tmp_path, capsys) -> None:
    root = applied(tmp_path, "ubuntu-24.04", capsys)
    found = by_name(run_checks(RootFS(root), healthy_current(root)))
    link = found["link usr/share/xen-tools/noble.d"]
    assert link.status == "SKIP" and not link.failed
    assert link.reason.startswith("skipped by the apply (--skip-packages): usr/share/xen-tools ")


def test_skipped_steps_do_not_fail_the_command(tmp_path, capsys, monkeypatch) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    monkeypatch.setattr(checks, "KernelLive", lambda: healthy_current(root))
    assert main(["verify", "--root", str(root), "--json"]) == 0
    data = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert data["file etc/xen/xl.conf"]["status"] == "SKIP"
    assert data["file etc/xen/xl.conf"]["ok"] is None
    assert data["file etc/network/interfaces"]["ok"] is True


# --- 3. --root DIR: the live checks cannot see the target ------------------------------------

LIVE_CHECKS = ["bridge", "alias", "dnsmasq", "dnsmasq-config", "dnsmasq-dhcp"]


def test_with_another_root_the_live_checks_say_they_did_not_run(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    done = run_cli("verify", "--root", str(root))
    assert done.returncode == 0, done.stdout + done.stderr  # every check that ran passed
    found = {line.split(":", 1)[0]: line for line in done.stdout.splitlines()}
    for name in LIVE_CHECKS:
        assert found[f"SKIP {name}"] == (
            f"SKIP {name}: not run: {root} is not the running system (--root), "
            "so its live state cannot be seen from here"
        )
    assert found["PASS run"].startswith("PASS run: ")
    assert "PASS file etc/network/interfaces" in found
    assert "PASS toolstack" in found
    # a failing file check still fails the command
    (root / "etc/network/interfaces").write_text("auto lo\n")
    again = run_cli("verify", "--root", str(root))
    assert again.returncode == 1
    assert "FAIL file etc/network/interfaces: changed since run " in again.stdout


def test_assume_live_runs_the_live_checks_against_this_machine(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    done = run_cli("verify", "--root", str(root), "--assume-live", "--json")
    data = {d["name"]: d for d in json.loads(done.stdout)}
    assert data["dnsmasq"]["status"] in ("PASS", "FAIL")  # it ran, on whatever this machine has
    assert not any(d["reason"].startswith("not run: ") for d in data.values())


def test_the_running_systems_root_is_not_skipped(tmp_path) -> None:
    assert checks.not_running_system(RootFS("/")) is None
    reason = checks.not_running_system(RootFS(tmp_path))
    assert reason == f"{tmp_path} is not the running system (--root)"
    results = by_name(run_checks(RootFS(tmp_path), FakeLive(), skip_live=reason))
    assert results["bridge"].status == "SKIP"
    assert results["toolstack"].status == "PASS"
