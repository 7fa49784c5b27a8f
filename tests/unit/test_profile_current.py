"""Profiles for current releases: detection, the recipe per release, safety, convergence."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import FAKE_PACKAGES, FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import vifhook
from xenwizard.engine.executor import Engine
from xenwizard.planning import netcheck
from xenwizard.planning.plan import (
    BOOT_STEP_IDS,
    BootOnce,
    EditFile,
    InstallPackages,
    SetSysctl,
    Symlink,
)
from xenwizard.planning.profiles import PROFILES, PlanError, select_profile
from xenwizard.target.probe import DefaultRoute, InterfaceInfo, SystemFacts, probe
from xenwizard.target.rootfs import RootFS

ROOTS = {
    name: FIXTURES / f"{name}-root"
    for name in ("debian-12", "debian-13", "ubuntu-22.04", "ubuntu-24.04")
}
NIC_MAC = "52:54:00:12:34:56"
CONFINE_STEPS = ("dhcp-confine", "dhcp-confine-unit", "dhcp-confine-enable")
# guests reach other networks (nat by default), issue 12
NAT_STEPS = (
    "guest-forward",  # and "guest-forward-now" on the live system
    "guest-nat",
    "guest-nat-unit",
    "guest-nat-enable",
)
BOOT_STEPS = BOOT_STEP_IDS  # the GRUB drop-in, the one-shot boot and the boot guard
XEN_TOOLS_STEPS = ("xen-tools-role", "xen-tools-conf")  # issue 23


def facts_of(root: Path, **changes) -> SystemFacts:
    return replace(probe(RootFS(root), live=False), **changes)


def step(plan, step_id: str):
    return next(s for s in plan.steps if s.id == step_id)


def live(root: Path, *, ssh: str | None = None, route: str | None = "eno1", **extra) -> SystemFacts:
    """Facts as a live probe would give them: the NIC with its MAC and address, a route."""
    interfaces = (
        InterfaceInfo("lo", (ipaddress.IPv4Interface("127.0.0.1/8"),), "00:00:00:00:00:00"),
        InterfaceInfo(
            "eno1", (ipaddress.IPv4Interface("192.0.2.10/24"),), NIC_MAC, is_physical=True
        ),
        InterfaceInfo(
            "eno2",
            (ipaddress.IPv4Interface("198.51.100.10/24"),),
            "52:54:00:00:00:02",
            is_physical=True,
        ),
    )
    return facts_of(
        root,
        live=True,
        interfaces=interfaces,
        default_route=DefaultRoute("192.0.2.1", route) if route else None,
        ssh_connection=ssh,
        **extra,
    )


# --- detection and the recipes ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ROOTS))
def test_detected_from_os_release(name: str) -> None:
    profile, reason = select_profile(facts_of(ROOTS[name]))
    assert profile.name == name and "detected" in reason
    assert profile.toolstack == "xl" and profile.udp_checksum_default is False
    assert "xl is the only toolstack" in profile.toolstack_note
    assert "network-script" in profile.toolstack_note
    assert profile.asks_nic and profile.udp_checksum_optional  # the screens' NIC field, switch


def test_every_profile_is_registered_and_profile_flag_overrides() -> None:
    assert set(PROFILES) >= {"ubuntu-precise", *ROOTS}
    plan = plan_for(ROOTS["debian-12"], profile="debian-13")
    assert plan.profile == "debian-13" and "--profile debian-13" in plan.profile_reason


def test_debian_12_recipe() -> None:
    plan = plan_for(ROOTS["debian-12"])
    assert [s.id for s in plan.steps] == [
        "packages",
        "bridge",
        "xl-default-bridge",
        *XEN_TOOLS_STEPS,
        "dnsmasq",
        *CONFINE_STEPS,
        *NAT_STEPS,
        *BOOT_STEPS,
    ]
    assert "ifupdown (etc/network/interfaces)" in plan.profile_reason
    packages = step(plan, "packages")
    assert packages.packages == (
        "xen-system-amd64",
        "xen-tools",
        "dnsmasq",
        "ethtool",
        "nftables",
        "bridge-utils",
        "busybox-static",
    )
    assert any("bookworm.d" in n for n in packages.notes)
    assert any(n.startswith("busybox-static: `xenwizard verify --guest`") for n in packages.notes)
    bridge = step(plan, "bridge")
    assert bridge.path == "etc/network/interfaces"
    assert "checked with `ifup --no-act`: accepted" in bridge.notes
    assert any("never activates it" in n for n in bridge.notes)
    assert any("br0:0 alias and rc.local line are not needed" in n for n in bridge.notes)
    xl = step(plan, "xl-default-bridge")
    assert xl.deferred and "xen-system-amd64" in xl.deferred_reason
    dnsmasq = step(plan, "dnsmasq")
    assert "interface=br0" in dnsmasq.after and "address from br0:0" not in dnsmasq.after
    assert any("UDP checksum workaround: off" in n for n in dnsmasq.notes)
    assert plan.warnings == ()


def test_busybox_static_is_left_out_when_busybox_is_installed_and_the_plan_says_why() -> None:
    """busybox-static conflicts with busybox: installing it would remove busybox, which a
    rollback never reinstalls, so the plan leaves it out and tells the operator."""
    root = ROOTS["debian-12"]
    packages = facts_of(root).installed_packages | {"busybox"}
    plan = plan_for(root, facts=facts_of(root, installed_packages=packages))
    step_ = step(plan, "packages")
    assert "busybox-static" not in step_.packages
    assert any("busybox-static not installed: it would replace" in n for n in step_.notes)
    assert not any(n.startswith("busybox-static: `xenwizard") for n in step_.notes)


def test_debian_13_skips_xen_tools_and_says_why() -> None:
    plan = plan_for(ROOTS["debian-13"])
    packages = step(plan, "packages")
    assert "xen-tools" not in packages.packages
    assert packages.already_installed == ("ethtool",)
    text = " ".join(packages.notes)
    assert "xen-tools skipped: Debian 13 has no xen-tools package" in text
    assert "hook dir step skipped" in text
    assert not any(isinstance(s, Symlink) and s.id == "xen-tools-hooks" for s in plan.steps)
    done = run_cli("plan", "--root", str(ROOTS["debian-13"]))
    assert done.returncode == 0, done.stderr
    assert "xen-tools skipped: Debian 13 has no xen-tools package" in done.stdout


def test_ubuntu_22_04_links_jammy_d_and_writes_a_root_only_netplan_file() -> None:
    plan = plan_for(ROOTS["ubuntu-22.04"])
    assert [s.id for s in plan.steps] == [
        "packages",
        "xen-tools-hooks",
        "bridge",
        "bridge-00-installer-config",
        "xl-default-bridge",
        *XEN_TOOLS_STEPS,
        "dnsmasq",
        *CONFINE_STEPS,
        *NAT_STEPS,
        *BOOT_STEPS,
    ]
    packages = step(plan, "packages")
    assert "bridge-utils" not in packages.packages and "xen-tools" in packages.already_installed
    hooks = step(plan, "xen-tools-hooks")
    assert (hooks.path, hooks.target, hooks.exists) == (
        "usr/share/xen-tools/jammy.d",
        "artful.d",
        False,
    )
    own = step(plan, "bridge")
    assert own.path == "etc/netplan/90-xenwizard.yaml" and own.mode == 0o600 and own.before is None
    host, target = programs.package_version("netplan.io"), "0.106.1-7ubuntu0.22.04.4"
    whose = ""
    if host != target:  # the note names both versions (this machine's checked the root)
        older = subprocess.run(["dpkg", "--compare-versions", host, "lt", target]).returncode
        age = "older" if older == 0 else "newer"
        whose = f" (this machine's netplan.io {host} is {age} than the target's {target})"
    assert f"checked with `netplan generate --root-dir`: accepted{whose}" in own.notes
    assert "bind-dynamic" in step(plan, "dnsmasq").after
    assert "netplan (etc/netplan/)" in plan.profile_reason


def test_ubuntu_24_04_warns_about_cloud_init_and_uses_the_match_mac() -> None:
    plan = plan_for(ROOTS["ubuntu-24.04"])
    assert any(
        "belongs to cloud-init" in w and "network: {config: disabled}" in w for w in plan.warnings
    )
    assert 'macaddress: "52:54:00:8a:1c:02"' in step(plan, "bridge").after
    hooks = step(plan, "xen-tools-hooks")
    assert hooks.path == "usr/share/xen-tools/noble.d" and "once the package" in hooks.notes[0]
    assert not [s for s in plan.steps if s.id.startswith("bridge-")]  # DHCP: no other file edit


def test_cloud_init_disabled_means_no_warning(tmp_path: Path) -> None:
    root = copy_root(ROOTS["ubuntu-24.04"], tmp_path / "root")
    (root / "etc/cloud/cloud.cfg.d/99-disable-network-config.cfg").write_text(
        "network: {config: disabled}\n"
    )
    assert not any("cloud-init" in w for w in plan_for(root).warnings)


# --- the UDP checksum workaround ----------------------------------------------------------------


def test_udp_workaround_on_by_flag_is_an_executable_hook() -> None:
    plan = plan_for(ROOTS["debian-12"], build_config({"udp-checksum-workaround": True}))
    hook = step(plan, "udp-checksum-hook")
    assert isinstance(hook, EditFile)
    assert hook.path == vifhook.HOOK_PATH and hook.mode == 0o755
    assert "online|add)" in hook.after and "on (--udp-checksum-workaround)" in hook.notes


def test_udp_workaround_switched_off_again_disables_our_hook(tmp_path: Path) -> None:
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    hook = root / vifhook.HOOK_PATH
    hook.parent.mkdir(parents=True)
    hook.write_text(vifhook.render(True))
    plan = plan_for(root)
    off = step(plan, "udp-checksum-hook")
    assert off.after == vifhook.render(False) and "off (profile default)" in off.notes
    assert "ethtool" not in off.after.split("\n:", 1)[-1]


def test_precise_keeps_its_seed_default() -> None:
    assert PROFILES["ubuntu-precise"].udp_checksum_default is True


# --- the primary NIC ------------------------------------------------------------------------------


def two_nics(tmp_path: Path) -> Path:
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    interfaces = root / "etc/network/interfaces"
    interfaces.write_text(
        interfaces.read_text() + "\nallow-hotplug eno2\niface eno2 inet static\n"
        "    address 198.51.100.10/24\n\nallow-hotplug wlp2s0\niface wlp2s0 inet dhcp\n"
    )
    return root


def test_several_configured_nics_need_a_choice(tmp_path: Path) -> None:
    root = two_nics(tmp_path)
    with pytest.raises(PlanError, match=r"several NICs .*\(eno1, eno2\); choose .* --nic"):
        plan_for(root)
    plan = plan_for(root, build_config({"nic": "eno2"}))
    assert "bridge_ports eno2" in step(plan, "bridge").after
    notes = step(plan, "bridge").notes
    assert "primary NIC eno2: chosen by the operator (--nic or the bridge page)" in notes


def test_live_default_route_picks_the_nic_and_its_mac(tmp_path: Path) -> None:
    root = two_nics(tmp_path)
    plan = plan_for(root, facts=live(root))
    bridge = step(plan, "bridge")
    assert f"bridge_hw {NIC_MAC}" in bridge.after
    assert any("carries the default route" in n for n in bridge.notes)
    choice = PROFILES["debian-12"].primary_nic(WizardConfig(), live(root), RootFS(root))
    assert (choice.name, choice.mac, choice.backend) == ("eno1", NIC_MAC, "ifupdown")
    assert choice.candidates == ("eno1", "eno2", "wlp2s0")


def test_after_the_reboot_the_route_runs_over_the_bridge(tmp_path: Path) -> None:
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    first = plan_for(root, facts=live(root))
    (root / "etc/network/interfaces").write_text(step(first, "bridge").after)
    again = plan_for(root, facts=live(root, route="br0"))
    assert not step(again, "bridge").changed
    assert any("earlier run" in n for n in step(again, "bridge").notes)


def test_no_configured_nic_is_a_clear_error(tmp_path: Path) -> None:
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    (root / "etc/network/interfaces").write_text("auto lo\niface lo inet loopback\n")
    with pytest.raises(PlanError, match=r"no NIC configured .*--nic"):
        plan_for(root)
    with pytest.raises(PlanError, match="no `iface eno1` stanza"):
        plan_for(root, build_config({"nic": "eno1"}))


# --- SSH -----------------------------------------------------------------------------------------


def test_ssh_through_the_nic_is_said_plainly() -> None:
    root = ROOTS["debian-12"]
    facts = live(root, ssh="203.0.113.5 51234 192.0.2.10 22")
    plan = plan_for(root, facts=facts)
    (warning,) = [w for w in plan.warnings if "SSH" in w]
    assert "through eno1 (192.0.2.10)" in warning and "never activates" in warning
    assert "console" in warning
    profile = PROFILES["debian-12"]
    assert profile.ssh_warning(WizardConfig(), facts, "eno1") == warning


def test_ssh_through_another_nic_or_not_live_says_nothing() -> None:
    root = ROOTS["debian-12"]
    other = live(root, ssh="203.0.113.5 51234 198.51.100.10 22")
    assert not [w for w in plan_for(root, facts=other).warnings if "SSH" in w]
    not_live = facts_of(root, ssh_connection="203.0.113.5 51234 192.0.2.10 22")
    assert not [w for w in plan_for(root, facts=not_live).warnings if "SSH" in w]


# --- validation with the real tools -------------------------------------------------------------


def test_a_configuration_ifup_rejects_is_refused(tmp_path: Path) -> None:
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    interfaces = root / "etc/network/interfaces"
    interfaces.write_text(interfaces.read_text() + "\nauto eno2\niface eno2 inet static\n")
    programs.require("ifup")
    # eno2's stanza is broken before any change: the refusal says so (issue 28), not that the
    # plan's change broke it
    broken = r"fails `ifup --no-act` already, before any change: .*address.*; fix it first"
    with pytest.raises(PlanError, match=broken):
        plan_for(root, build_config({"nic": "eno1"}))
    done = run_cli("plan", "--root", str(root), "--nic", "eno1")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "fix it first" in done.stderr


def test_a_change_ifup_rejects_is_refused(tmp_path: Path, monkeypatch) -> None:
    """The target's file passes, the new one does not: the change is refused as the cause."""
    real = netcheck.check_ifupdown

    def check(text, fs, interfaces=(), files=None):
        if "BEGIN xenwizard" in text:
            return netcheck.Check(False, "ifup --no-act", "ifup: boom")
        return real(text, fs, interfaces, files)

    monkeypatch.setattr(netcheck, "check_ifupdown", check)
    programs.require("ifup")
    with pytest.raises(PlanError, match=r"fails `ifup --no-act`: ifup: boom; refusing this plan"):
        plan_for(ROOTS["debian-12"])


def test_a_netplan_configuration_netplan_rejects_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(
        netcheck,
        "check_netplan",
        lambda texts: netcheck.Check(
            "etc/netplan/90-xenwizard.yaml" not in texts, "netplan generate --root-dir", "boom"
        ),
    )  # the target's files pass, the plan's do not
    checked_by = (
        r" \(this machine's netplan.io \S+ is older than the target's 1.1.2-2~ubuntu24.04.1\)"
    )
    with pytest.raises(PlanError, match=f"fails `netplan generate --root-dir`{checked_by}: boom"):
        plan_for(ROOTS["ubuntu-24.04"])


def test_missing_tool_is_not_a_pass(monkeypatch) -> None:
    monkeypatch.setattr(netcheck, "find_program", lambda name: None)
    plan = plan_for(ROOTS["debian-12"])
    assert any("not validated: ifup is not installed" in w for w in plan.warnings)
    plan = plan_for(ROOTS["ubuntu-22.04"])
    assert any("not validated: netplan is not installed" in w for w in plan.warnings)


# --- applying, converging, rolling back ----------------------------------------------------------


@pytest.mark.parametrize("name", list(ROOTS))
def test_apply_then_plan_shows_no_file_change_and_rollback_restores(name: str, tmp_path: Path):
    root = copy_root(ROOTS[name], tmp_path / "root")
    if name == "ubuntu-24.04":  # the hook-dir link needs xen-tools' directory, skipped here
        (root / "usr/share/xen-tools/artful.d").mkdir(parents=True)
    before = manifest(root)
    done = run_cli(
        "apply", "--root", str(root), "--yes", "--skip-packages", "--udp-checksum-workaround"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hook = root / vifhook.HOOK_PATH
    assert os.stat(hook).st_mode & 0o777 == 0o755
    if name.startswith("ubuntu"):
        assert os.stat(root / "etc/netplan/90-xenwizard.yaml").st_mode & 0o777 == 0o600
    again = run_cli("plan", "--root", str(root), "--json", "--udp-checksum-workaround")
    assert again.returncode == 0, again.stderr
    changed = [s["id"] for s in json.loads(again.stdout)["steps"] if s["changed"]]
    # skipped packages, and what waits for them: the hook-dir link, xl.conf's and
    # xen-tools.conf's deferred edits, the boot steps (they need Xen's GRUB entry)
    assert set(changed) <= {
        "packages",
        "xen-tools-hooks",
        "xl-default-bridge",
        "xen-tools-conf",
        *BOOT_STEPS,
    }
    back = run_cli("rollback", "--root", str(root))
    assert back.returncode == 0, back.stdout + back.stderr
    assert diff_manifests(before, manifest(root)) == []


def test_debian_13_apply_succeeds_without_xen_tools(tmp_path: Path) -> None:
    root = copy_root(ROOTS["debian-13"], tmp_path / "root")
    done = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert done.returncode == 0, done.stdout + done.stderr
    plan = json.loads((next((root / "var/lib/xenwizard/runs").iterdir()) / "plan.json").read_text())
    assert any("xen-tools skipped" in n for n in plan["steps"][0]["notes"])
    # xl.conf comes with the skipped Xen packages: its edit waits for them, the apply goes on
    assert not (root / "etc/xen/xl.conf").exists()
    assert (
        "    note: skipped: etc/xen/xl.conf comes with xen-system-amd64, and packages were skipped"
        in done.stdout.splitlines()
    )
    assert "bridge_ports enp1s0" in (root / "etc/network/interfaces").read_text()


XL_SHIPPED = (
    "## Global XL config file ##\n\n"
    "# default bridge device to use with vif-bridge hotplug scripts\n"
    '#vif.default.bridge="xenbr0"\n'
)


def test_fake_install_fills_in_the_deferred_xl_conf_and_rollback_undoes_all(
    tmp_path: Path, monkeypatch
) -> None:
    """The package step (a fake apt-get) brings xl.conf; the deferred edit is made on it."""
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    for name in ("xen-tools", "ethtool", "bridge-utils", "busybox-static"):
        monkeypatch.setitem(FAKE_PACKAGES, name, ((), (f"usr/share/doc/{name}/copyright",)))
    monkeypatch.setitem(FAKE_PACKAGES, "xen-system-amd64", (("xen-utils-common",), ()))
    monkeypatch.setitem(FAKE_PACKAGES, "xen-utils-common", ((), ("etc/xen/xl.conf",)))
    runner = FakeRunner(root)
    original_put = runner._put

    def put(name: str, on_line) -> None:
        original_put(name, on_line)
        if name == "xen-utils-common":
            (root / "etc/xen/xl.conf").write_text(XL_SHIPPED)

    runner._put = put  # type: ignore[method-assign]
    before = manifest(root)
    plan = plan_for(root)
    result = Engine(plan, RootFS(root), runner).apply()
    assert result.outcome == "applied", result.message
    xl = (root / "etc/xen/xl.conf").read_text()
    assert xl == XL_SHIPPED + (
        '# BEGIN xenwizard\nvif.default.bridge="br0"\nautoballoon="off"\n# END xenwizard\n'
    )
    installs = [c for c in runner.calls if c[:2] == ["apt-get", "install"]]
    assert installs and "bridge-utils" in installs[0]
    rolled = Engine(None, RootFS(root), runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []


def test_answers_file_and_flags_for_the_new_keys(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('nic = "eno1"\nudp-checksum-workaround = true\n')
    done = run_cli("plan", "--root", str(ROOTS["debian-12"]), "--answers", str(answers), "--json")
    data = json.loads(done.stdout)
    assert data["answers"]["nic"] == "eno1" and data["answers"]["udp-checksum-workaround"] is True
    assert "udp-checksum-hook" in [s["id"] for s in data["steps"]]
    done = run_cli(
        "plan",
        "--root",
        str(ROOTS["debian-12"]),
        "--answers",
        str(answers),
        "--no-udp-checksum-workaround",
        "--json",
    )
    assert "udp-checksum-hook" not in [s["id"] for s in json.loads(done.stdout)["steps"]]


def test_plan_step_types() -> None:
    for name, root in ROOTS.items():
        plan = plan_for(root)
        assert isinstance(plan.steps[0], InstallPackages), name
        kinds = (InstallPackages, Symlink, EditFile, BootOnce, SetSysctl)
        assert all(isinstance(s, kinds) for s in plan.steps)


def test_current_plan_keeps_what_profile_build_sets() -> None:
    """CurrentRelease uses Profile.build: the plan records TOOLSTACK= as planned, so verify
    can compare it (it was dropped before)."""
    facts = facts_of(ROOTS["debian-12"], toolstack="xl")
    plan = plan_for(ROOTS["debian-12"], facts=facts)
    assert plan.toolstack == "xl"
    assert "xl toolstack, the bridge goes into ifupdown" in plan.profile_reason


CLOUD_NETPLAN = "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n"


def debian13_cloud(tmp_path: Path) -> Path:
    """Debian 13 as its cloud images are (and the real-Xen test's trixie image): netplan for
    systemd-networkd, no /etc/network/interfaces."""
    root = copy_root(ROOTS["debian-13"], tmp_path / "root")
    (root / "etc/network/interfaces").unlink()
    (root / "etc/netplan").mkdir()
    (root / "etc/netplan/90-default.yaml").write_text(CLOUD_NETPLAN)
    return root


def test_debian_13_with_systemd_resolved_binds_dnsmasq_dynamically(tmp_path: Path) -> None:
    """Found on the real trixie boot: systemd-resolved holds 127.0.0.53:53 and dnsmasq's
    wildcard bind failed with "address already in use", so no guest got a lease."""
    root = debian13_cloud(tmp_path)
    packages = facts_of(root).installed_packages | {"netplan.io", "systemd-resolved"}
    plan = plan_for(root, facts=facts_of(root, installed_packages=packages))
    assert "netplan (etc/netplan/)" in plan.profile_reason
    dnsmasq = step(plan, "dnsmasq")
    assert "\nbind-dynamic\n" in dnsmasq.after
    assert any("systemd-resolved" in note and "bind-dynamic" in note for note in dnsmasq.notes)
    plain = step(plan_for(ROOTS["debian-13"]), "dnsmasq")  # no resolved: the wildcard is free
    assert "bind-dynamic" not in plain.after


def test_resolved_binds_dnsmasq_dynamically_on_the_managed_block_path_too(
    tmp_path: Path,
) -> None:
    """A dnsmasq already installed that does not read etc/dnsmasq.d gets xenwizard's block in
    dnsmasq.conf: next to systemd-resolved it needs bind-dynamic there as much as in the
    drop-in (before, the block had none, and dnsmasq would fail on port 53 at boot)."""
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    conf = root / "etc/dnsmasq.conf"
    conf.write_text("# Configuration file for dnsmasq.\n#conf-dir=/etc/dnsmasq.d\n")
    default = root / "etc/default/dnsmasq"
    default.parent.mkdir(parents=True, exist_ok=True)
    default.write_text("ENABLED=1\n#CONFIG_DIR=/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new\n")
    packages = facts_of(root).installed_packages | {"dnsmasq", "systemd-resolved"}
    dnsmasq = step(plan_for(root, facts=facts_of(root, installed_packages=packages)), "dnsmasq")
    assert dnsmasq.path == "etc/dnsmasq.conf"
    assert "\nbind-dynamic\n" in dnsmasq.after
    assert any("systemd-resolved" in note and "bind-dynamic" in note for note in dnsmasq.notes)
    checked = tmp_path / "dnsmasq.conf"
    checked.write_text(dnsmasq.after)
    done = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={checked}"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    without = facts_of(root, installed_packages=packages - {"systemd-resolved"})
    assert "bind-dynamic" not in step(plan_for(root, facts=without), "dnsmasq").after


def test_a_kept_etc_default_dnsmasq_is_read_as_it_is_when_dnsmasq_is_not_installed(
    tmp_path: Path,
) -> None:
    """dnsmasq was removed but not purged, and the admin had commented CONFIG_DIR out: the
    install keeps that conffile, so dnsmasq will not read etc/dnsmasq.d. Before, the plan
    assumed the package's default and wrote a drop-in dnsmasq would never read."""
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    default = root / "etc/default/dnsmasq"
    default.parent.mkdir(parents=True, exist_ok=True)
    default.write_text("ENABLED=1\n#CONFIG_DIR=/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new\n")
    assert "dnsmasq" not in facts_of(root).installed_packages

    deferred = step(plan_for(root), "dnsmasq")  # dnsmasq.conf comes with the package
    assert deferred.path == "etc/dnsmasq.conf" and deferred.deferred
    assert deferred.installing == ("dnsmasq",)

    conf = root / "etc/dnsmasq.conf"
    conf.write_text("# Configuration file for dnsmasq.\n#conf-dir=/etc/dnsmasq.d\n")
    managed = step(plan_for(root), "dnsmasq")  # kept too: xenwizard's block goes in it
    assert managed.path == "etc/dnsmasq.conf" and "dhcp-range=" in managed.after
    checked = tmp_path / "dnsmasq.conf"
    checked.write_text(managed.after)
    done = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={checked}"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    default.write_text("CONFIG_DIR=/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new\n")
    assert step(plan_for(root), "dnsmasq").path == "etc/dnsmasq.d/xenwizard.conf"
