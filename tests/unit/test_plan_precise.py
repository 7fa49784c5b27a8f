"""The ubuntu-precise profile: the seed's seven steps, consistent answers, patchable diffs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.kits.helpers import PRECISE_ROOT, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.plan import EditFile, InstallPackages, Symlink

SEED_STEP_IDS = [
    "packages",
    "xen-tools-hooks",
    "xen-tools-conf",  # not in the seed: xen-create-image's guests on the bridge, issue 23
    "xend-bridge",
    "grub-xen",  # not in the seed: dom0_mem on Xen's command line (/etc/default/grub), issue 23
    "dnsmasq",
    "dhcp-confine",  # not in the seed: DHCP kept on the bridge (ebtables), issue 9
    "alias-interface",
    "rc-local",
    "vif-bridge-checksum",
]
# not in the seed: guests reach other networks (nat by default: forwarding, masquerade in
# rc.local), issue 12
FORWARD_STEP_IDS = ["guest-forward"]  # and "guest-forward-now" on the live system


def test_default_plan_is_the_seven_seed_steps_and_the_dhcp_confinement() -> None:
    plan = plan_for(PRECISE_ROOT)
    assert [s.id for s in plan.steps] == SEED_STEP_IDS + FORWARD_STEP_IDS
    assert plan.profile == "ubuntu-precise"
    steps = plan.steps[:10]
    packages, hooks, _tools, sxp, _grub, dnsmasq, confine, interfaces, rc_local, vif = steps
    assert isinstance(packages, InstallPackages)
    # the fixture has Xen, xen-tools and ethtool; ebtables for the DHCP confinement
    assert packages.packages == ("dnsmasq", "ebtables")
    assert isinstance(hooks, Symlink)
    assert (hooks.path, hooks.target) == ("usr/lib/xen-tools/precise.d", "karmic.d")
    assert all(
        isinstance(s, EditFile) and s.changed
        for s in (sxp, dnsmasq, confine, interfaces, rc_local, vif)
    )
    after = {s.path: s.after for s in plan.file_steps()}
    assert "(network-script 'network-bridge bridge=br0')" in after["etc/xen/xend-config.sxp"]
    assert "(vif-script 'vif-bridge bridge=br0')" in after["etc/xen/xend-config.sxp"]
    assert "interface=br0" in after["etc/dnsmasq.d/xenwizard.conf"]
    assert "dhcp-range=10.0.0.10,10.0.0.100,12h" in after["etc/dnsmasq.d/xenwizard.conf"]
    assert "iface br0:0 inet static" in after["etc/network/interfaces"]
    assert "address 10.0.0.1" in after["etc/network/interfaces"]
    assert "netmask 255.255.255.0" in after["etc/network/interfaces"]
    assert "broadcast 10.0.0.255" in after["etc/network/interfaces"]
    assert 'ifup "br0:0"' in after["etc/rc.local"]
    assert "ethtool -K ${dev} tx off" in after["etc/xen/scripts/vif-bridge"]
    assert any("xm" in w for w in plan.warnings)


def test_custom_answers_appear_consistently_in_every_file() -> None:
    config = build_config(
        {
            "bridge": "xenbr7",
            "address": "192.168.77.1/25",
            "dhcp-range": "192.168.77.20-192.168.77.90",
            "lease": "45m",
        }
    )
    plan = plan_for(PRECISE_ROOT, config)
    after = {s.path: s.after or "" for s in plan.file_steps()}
    everything = "\n".join(after.values())
    assert "br0" not in everything.replace("xenbr7", "")
    assert "bridge=xenbr7" in after["etc/xen/xend-config.sxp"]
    assert "interface=xenbr7" in after["etc/dnsmasq.d/xenwizard.conf"]
    assert "dhcp-range=192.168.77.20,192.168.77.90,45m" in after["etc/dnsmasq.d/xenwizard.conf"]
    assert "iface xenbr7:0 inet static" in after["etc/network/interfaces"]
    assert "netmask 255.255.255.128" in after["etc/network/interfaces"]
    assert "broadcast 192.168.77.127" in after["etc/network/interfaces"]
    assert 'ifup "xenbr7:0"' in after["etc/rc.local"]


def test_plan_diff_applies_with_patch(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    plan = plan_for(root)
    patch = tmp_path / "plan.diff"
    patch.write_text(plan.diff())
    subprocess.run(["patch", "-s", "-p1", "-d", str(root), "-i", str(patch)], check=True)
    for step in plan.file_steps():
        assert (root / step.path).read_text() == step.after, step.path


def test_cli_plan_prints_steps_and_diffs() -> None:
    done = run_cli("plan", "--root", str(PRECISE_ROOT))
    assert done.returncode == 0, done.stderr
    assert "[1/11] Install packages: change (apt-get install dnsmasq ebtables)" in done.stdout
    assert "--- a/etc/xen/xend-config.sxp" in done.stdout
    assert "+++ b/etc/dnsmasq.d/xenwizard.conf" in done.stdout
    assert "Plan: 11 of 11 steps change something." in done.stdout


def test_cli_plan_json_and_detailed_exitcode() -> None:
    done = run_cli("plan", "--root", str(PRECISE_ROOT), "--json", "--detailed-exitcode")
    assert done.returncode == 2, done.stderr
    data = json.loads(done.stdout)
    assert [s["id"] for s in data["steps"]] == SEED_STEP_IDS + FORWARD_STEP_IDS
    assert data["answers"]["bridge"] == "br0"


def test_detailed_exitcode_zero_when_already_applied(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    plan = plan_for(root)
    for step in plan.file_steps():
        target = root / step.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(step.after or "")
        target.chmod(0o755 if step.executable else 0o644)
    (root / "usr/lib/xen-tools/precise.d").symlink_to("karmic.d")
    status = root / "var/lib/dpkg/status"
    installed = "".join(
        f"\nPackage: {name}\nStatus: install ok installed\n" for name in ("dnsmasq", "ebtables")
    )
    status.write_text(status.read_text() + installed)
    done = run_cli("plan", "--root", str(root), "--detailed-exitcode")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Plan: 0 of 11 steps change something." in done.stdout


def test_answers_file_and_flags_override(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('bridge = "xbr1"\nlease = "1h"\ndhcp-xen-only = false\n')
    done = run_cli(
        "plan", "--root", str(PRECISE_ROOT), "--answers", str(answers), "--lease", "2h", "--json"
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answers"]["bridge"] == "xbr1"
    assert data["answers"]["lease"] == "2h"
    assert data["answers"]["dhcp-xen-only"] is False


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bridge", 'br0"; reboot; "'], "invalid answer bridge:"),
        (["--bridge", "averyverylongbr"], "at most 13"),
        (["--address", "10.0.0.0/24"], "network address"),
        (["--address", "10.0.0.255/24"], "broadcast address"),
        (["--address", "fe80::1/64"], "IPv4"),
        (["--dhcp-range", "10.0.0.100-10.0.0.10"], "is after end"),
        (["--dhcp-range", "10.0.1.10-10.0.1.20"], "outside the subnet"),
        (["--dhcp-range", "10.0.0.1-10.0.0.20"], "contains the host address"),
        (["--lease", "1m"], "2 minutes"),
        (["--lease", "soon"], "expected seconds"),
        (["--profile", "windows-95"], "supported profiles: ubuntu-precise"),
    ],
)
def test_invalid_input_is_one_line_exit_1(args: list[str], expected: str) -> None:
    done = run_cli("plan", "--root", str(PRECISE_ROOT), *args)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("xenwizard: error: ")
    assert expected in lines[0]
    assert "Traceback" not in done.stderr


def test_every_bad_field_is_reported() -> None:
    done = run_cli("plan", "--root", str(PRECISE_ROOT), "--bridge", "", "--lease", "x")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 2
    assert "bridge" in done.stderr and "lease" in done.stderr


def test_missing_root_and_root_not_a_directory(tmp_path: Path) -> None:
    missing = run_cli("plan", "--root", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert "no such directory" in missing.stderr and "Traceback" not in missing.stderr
    afile = tmp_path / "file"
    afile.write_text("x")
    notdir = run_cli("plan", "--root", str(afile))
    assert notdir.returncode == 1 and "not a directory" in notdir.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("bridge = ", "not valid TOML"),
        ("colour = 'red'\n", "unknown answer"),
        ("bridge = 3\n", "expected a string"),
        ("[wizard]\nbridge = 'br1'\n", "unexpected table"),
    ],
)
def test_malformed_answers_file(tmp_path: Path, content: str, expected: str) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(content)
    done = run_cli("plan", "--root", str(PRECISE_ROOT), "--answers", str(answers))
    assert done.returncode == 1
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_unsupported_release(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    (root / "etc/os-release").write_text('ID=fedora\nVERSION_ID="40"\n')
    (root / "etc/lsb-release").unlink()
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1
    assert "unsupported release 'fedora-40'" in done.stderr
    assert "supported profiles:" in done.stderr


def test_file_in_unknown_shape_names_the_file(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    (root / "etc/xen/scripts/vif-bridge").write_text("#!/bin/bash\necho nothing here\n")
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1
    assert done.stderr.startswith("xenwizard: error: etc/xen/scripts/vif-bridge:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_xen_file_when_xen_is_installed(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    (root / "etc/xen/xend-config.sxp").unlink()
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1
    assert "etc/xen/xend-config.sxp: missing; expected" in done.stderr


def test_fresh_system_defers_edits_of_files_from_packages(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    shutil.rmtree(root / "etc/xen")
    shutil.rmtree(root / "usr/lib/xen-tools")
    (root / "var/lib/dpkg/status").write_text("Package: base-files\nStatus: install ok installed\n")
    plan = plan_for(root)
    by_id = {s.id: s for s in plan.steps}
    assert by_id["packages"].packages == (
        "xen-hypervisor-4.1-amd64",
        "xen-tools",
        "dnsmasq",
        "ethtool",
        "ebtables",
    )
    assert by_id["xend-bridge"].deferred and by_id["vif-bridge-checksum"].deferred
    assert "computed right after installation" in by_id["xend-bridge"].notes[0]
    assert not by_id["rc-local"].deferred


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    (root / "etc/network/interfaces").unlink()
    (root / "etc/network/interfaces").mkdir()
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1
    assert "etc/network/interfaces: is a directory; expected a file" in done.stderr


def test_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    outside = tmp_path / "outside"
    outside.write_text("#!/bin/sh -e\nexit 0\n")
    (root / "etc/rc.local").unlink()
    (root / "etc/rc.local").symlink_to(outside)
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1
    assert "etc/rc.local: resolves to" in done.stderr and "outside the root" in done.stderr


def _install_dnsmasq(root: Path) -> None:
    status = root / "var/lib/dpkg/status"
    status.write_text(status.read_text() + "\nPackage: dnsmasq\nStatus: install ok installed\n")


def test_competing_dnsmasq_settings_get_a_step_of_their_own(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    _install_dnsmasq(root)
    conf = root / "etc/dnsmasq.conf"
    conf.write_text(conf.read_text() + "dhcp-range=10.0.0.50,10.0.0.60,1h\n")
    plan = plan_for(root)
    assert [s.id for s in plan.steps] == [
        *SEED_STEP_IDS[:6],
        "dnsmasq-conflicts",
        *SEED_STEP_IDS[6:],
        *FORWARD_STEP_IDS,
    ]
    step = next(s for s in plan.file_steps() if s.id == "dnsmasq-conflicts")
    assert "#dhcp-range=10.0.0.50,10.0.0.60,1h" in (step.after or "").replace("# ", "#")
    assert step.notes


def test_block_in_dnsmasq_conf_when_conf_dir_is_not_read(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    _install_dnsmasq(root)
    default = root / "etc/default/dnsmasq"
    default.write_text(default.read_text().replace("CONFIG_DIR=", "#CONFIG_DIR="))
    plan = plan_for(root)
    step = next(s for s in plan.file_steps() if s.id == "dnsmasq")
    assert step.path == "etc/dnsmasq.conf"
    assert "# BEGIN xenwizard" in (step.after or "")
    assert "interface=br0" in (step.after or "")


def test_rc_local_without_execute_bits_is_made_executable_and_restored(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    rc_local = root / "etc/rc.local"
    rc_local.chmod(0o644)
    step = next(s for s in plan_for(root).file_steps() if s.id == "rc-local")
    assert step.needs_chmod
    assert any("not executable (mode 0644); it becomes 0755" in n for n in step.notes)
    applied = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert applied.returncode == 0, applied.stderr
    assert rc_local.stat().st_mode & 0o777 == 0o755
    again = next(s for s in plan_for(root).file_steps() if s.id == "rc-local")
    assert not again.changed
    rolled = run_cli("rollback", "--root", str(root))
    assert rolled.returncode == 0, rolled.stderr
    assert rc_local.stat().st_mode & 0o777 == 0o644
    assert rc_local.read_bytes() == (PRECISE_ROOT / "etc/rc.local").read_bytes()


def test_udp_checksum_workaround_can_be_switched_off_and_back(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    off = plan_for(root, WizardConfig(udp_checksum_workaround=False))
    assert [s.id for s in off.steps] == SEED_STEP_IDS[:-1] + FORWARD_STEP_IDS
    applied = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert applied.returncode == 0, applied.stderr
    vif = root / "etc/xen/scripts/vif-bridge"
    assert "ethtool -K" in vif.read_text()
    off = plan_for(root, WizardConfig(udp_checksum_workaround=False))
    step = next(s for s in off.steps if s.id == "vif-bridge-checksum")
    assert step.changed
    assert step.after == (PRECISE_ROOT / "etc/xen/scripts/vif-bridge").read_text()
