"""The DHCP confinement: the nftables ruleset and its boot unit (edits/nftconfine.py), checked
with the real `nft -c` and `systemd-analyze verify`, and the profile steps that write them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.kits import programs
from tests.kits.enginekit import FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.edits import EditError, nftconfine
from xenwizard.engine.executor import Engine
from xenwizard.planning.plan import EditFile, Symlink
from xenwizard.planning.profiles import PlanError
from xenwizard.target.probe import InterfaceInfo, probe
from xenwizard.target.rootfs import RootFS

CONFINE = ("dhcp-confine", "dhcp-confine-unit", "dhcp-confine-enable")
NFT = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")

EXPECTED_RULES = """#!/usr/sbin/nft -f
# xenwizard: DHCP on bridge br0 stays between this host and its guests (NIC eth0 is the LAN).
# Loaded at boot by xenwizard-dhcp-confine.service; `xenwizard rollback` removes it.
table bridge xenwizard
delete table bridge xenwizard
table bridge xenwizard {
    chain forward {
        type filter hook forward priority 0; policy accept;
        oifname "eth0" udp dport 67 drop comment "guests' DHCP requests do not leave through the NIC"
        iifname "eth0" udp dport 68 drop comment "the LAN's DHCP answers do not reach the guests"
        iifname "eth0" icmpv6 type { nd-router-solicit, nd-router-advert } drop comment "the LAN's router advertisements do not reach the guests"
        oifname "eth0" icmpv6 type { nd-router-solicit, nd-router-advert } drop comment "guests' router solicitations and advertisements do not reach the LAN"
        iifname "eth0" udp dport { 546, 547 } drop comment "the LAN's DHCPv6 does not reach the guests"
        oifname "eth0" udp dport { 546, 547 } drop comment "guests' DHCPv6 does not reach the LAN"
    }
    chain input {
        type filter hook input priority 0; policy accept;
        iifname "eth0" udp dport 67 drop comment "the host's dnsmasq never hears a LAN machine"
        iifname "eth0" icmpv6 type nd-router-solicit drop comment "the host never answers a LAN machine's router solicitation"
        iifname "eth0" udp dport 547 drop comment "the host's DHCPv6 server never hears a LAN machine"
    }
    chain output {
        type filter hook output priority 0; policy accept;
        oifname "eth0" icmpv6 type nd-router-advert drop comment "the host's router advertisements stay on the guests' side"
        oifname "eth0" udp dport 546 drop comment "the host's DHCPv6 answers stay on the guests' side"
    }
}
"""  # noqa: E501 (the ruleset as nft reads it, one rule a line)


def nft_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    if NFT is None:
        programs.missing("nft")
    rules = tmp_path / "rules.nft"
    rules.write_text(text)
    return subprocess.run([NFT, "-c", "-f", str(rules)], capture_output=True, text=True, timeout=30)


# --- the edit module -----------------------------------------------------------------------------


def test_the_ruleset_as_rendered() -> None:
    assert nftconfine.render_rules("br0", "eth0") == EXPECTED_RULES
    assert (nftconfine.TABLE_FAMILY, nftconfine.TABLE_NAME) == ("bridge", "xenwizard")
    assert nftconfine.RULES_PATH == "etc/xenwizard/dhcp-confine.nft"


@pytest.mark.parametrize(("bridge", "nic"), [("br0", "eth0"), ("xenbr.7", "enp1s0f0_x-y")])
def test_nft_accepts_the_ruleset(tmp_path: Path, bridge: str, nic: str) -> None:
    done = nft_check(tmp_path, nftconfine.render_rules(bridge, nic))
    assert done.returncode == 0, done.stderr


def test_nft_check_is_a_real_check(tmp_path: Path) -> None:
    broken = EXPECTED_RULES.replace("udp dport 68", "udp dportt 68")
    assert nft_check(tmp_path, broken).returncode != 0


@pytest.mark.parametrize(
    ("bridge", "nic", "reason"),
    [
        ('br0"; reboot; "', "eth0", "bridge name"),
        ("br0", 'eth0" accept comment "', "NIC name"),
        ("br0", "eth0 }", "NIC name"),
        ("br0", "-eth0", "must not start with '-'"),
        ("br0", "a-very-long-nic-name", "at most 15"),
        ("br0", "", "must not be empty"),
        ("br0\n", "eth0", "bridge name"),
    ],
)
def test_bad_names_are_refused_not_quoted(bridge: str, nic: str, reason: str) -> None:
    with pytest.raises(EditError, match="refusing to write it into the rules") as caught:
        nftconfine.render_rules(bridge, nic)
    assert reason in str(caught.value)


def test_set_rules_converges_and_updates_our_file() -> None:
    first = nftconfine.set_rules(None, "br0", "eth0")
    assert first.text == EXPECTED_RULES
    assert nftconfine.set_rules(first.text, "br0", "eth0").notes == ("already as wanted",)
    again = nftconfine.set_rules(first.text, "xenbr1", "eno2")
    assert again.text == nftconfine.render_rules("xenbr1", "eno2") and '"eno2"' in again.text
    assert '"eth0"' not in again.text


def test_someone_elses_file_is_not_overwritten() -> None:
    with pytest.raises(EditError, match="not written by xenwizard"):
        nftconfine.set_rules("table inet filter {}\n", "br0", "eth0")
    with pytest.raises(EditError, match="not written by xenwizard"):
        nftconfine.set_unit("[Unit]\nDescription=mine\n")


def test_the_unit() -> None:
    unit = nftconfine.render_unit()
    lines = unit.splitlines()
    for wanted in (
        "[Unit]",
        "DefaultDependencies=no",
        "Wants=network-pre.target",
        "Before=network-pre.target",
        "After=nftables.service",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=/usr/sbin/nft -f /etc/xenwizard/dhcp-confine.nft",
        "ExecStop=-/usr/sbin/nft delete table bridge xenwizard",
        "[Install]",
        "WantedBy=sysinit.target",
    ):
        assert wanted in lines, wanted
    assert nftconfine.set_unit(unit).notes == ("already as wanted",)
    assert nftconfine.UNIT_PATH == "etc/systemd/system/xenwizard-dhcp-confine.service"
    assert nftconfine.UNIT_LINK == (
        "etc/systemd/system/sysinit.target.wants/xenwizard-dhcp-confine.service"
    )
    assert nftconfine.UNIT_TARGET == "/" + nftconfine.UNIT_PATH


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = programs.require("systemd-analyze")
    unit = tmp_path / "xenwizard-dhcp-confine.service"
    unit.write_text(nftconfine.render_unit())
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in done.stderr.splitlines() if unit.name in line]
    assert done.returncode == 0 and not ours, done.stderr


# --- the profile's steps -------------------------------------------------------------------------


def steps_of(plan) -> dict[str, object]:
    return {s.id: s for s in plan.steps if s.id in CONFINE}


@pytest.mark.parametrize(("name", "nic"), [("debian-12", "eno1"), ("ubuntu-24.04", "eno1")])
def test_current_releases_get_the_steps_after_dnsmasq(name: str, nic: str) -> None:
    plan = plan_for(FIXTURES / f"{name}-root")
    ids = [s.id for s in plan.steps]
    at = ids.index("dnsmasq")
    assert ids[at + 1 : at + 4] == list(CONFINE)
    rules, unit, link = (steps_of(plan)[i] for i in CONFINE)
    assert isinstance(rules, EditFile) and isinstance(unit, EditFile)
    assert rules.path == nftconfine.RULES_PATH and rules.before is None
    assert rules.after == nftconfine.render_rules("br0", nic)
    assert any("not forwarded out through " + nic in n for n in rules.notes)
    assert any("never loads the rules on the running system" in n for n in rules.notes)
    assert unit.path == nftconfine.UNIT_PATH and unit.after == nftconfine.render_unit()
    assert isinstance(link, Symlink)
    assert (link.path, link.target, link.exists) == (
        nftconfine.UNIT_LINK,
        "/etc/systemd/system/xenwizard-dhcp-confine.service",
        False,
    )
    assert "nftables" in plan.steps[0].packages


def test_debian_12_uses_the_nic_a_live_probe_or_nic_names(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    text = (root / "etc/network/interfaces").read_text()
    (root / "etc/network/interfaces").write_text(text.replace("eno1", "enp3s0"))
    assert '"enp3s0"' in steps_of(plan_for(root))["dhcp-confine"].after


def write_netplan(root: Path, body: str) -> None:
    netplan = root / "etc/netplan"
    for old in netplan.glob("*.yaml"):
        old.unlink()
    (netplan / "50-cloud-init.yaml").write_text(body)


NETPLAN_BY_MAC = """network:
    version: 2
    ethernets:
        {nic_id}:
            dhcp4: true
            match:
                macaddress: 52:54:00:8a:1c:02
{extra}"""


def test_netplan_set_name_is_the_kernel_name_not_the_id(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    write_netplan(
        root, NETPLAN_BY_MAC.format(nic_id="lan", extra="            set-name: uplink0\n")
    )
    plan = plan_for(root)
    bridge = next(s for s in plan.steps if s.id == "bridge")
    assert "interfaces: [lan]" in bridge.after  # netplan's file names the ID ...
    rules = steps_of(plan)["dhcp-confine"]
    assert '"uplink0"' in rules.after and '"lan"' not in rules.after  # ... nft the kernel's
    assert any(n.startswith("uplink0: the kernel's name of netplan's lan") for n in rules.notes)


def test_netplan_match_by_mac_takes_the_live_interface_with_that_mac(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    write_netplan(root, NETPLAN_BY_MAC.format(nic_id="lan", extra=""))
    fs = RootFS(root)
    facts = replace(
        probe(fs, live=False),
        interfaces=(
            InterfaceInfo("br0", mac="52:54:00:8a:1c:02", is_bridge=True),
            InterfaceInfo("enp7s0.10", mac="52:54:00:8a:1c:02"),
            InterfaceInfo("enp7s0", mac="52:54:00:8a:1c:02", is_physical=True),
        ),
    )
    rules = steps_of(plan_for(root, facts=facts))["dhcp-confine"]
    assert '"enp7s0"' in rules.after
    assert "enp7s0: the interface with lan's MAC 52:54:00:8a:1c:02" in rules.notes


def test_netplan_match_by_mac_alone_needs_the_name(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    write_netplan(root, NETPLAN_BY_MAC.format(nic_id="lan", extra=""))
    with pytest.raises(PlanError, match="selects its interface by MAC only"):
        plan_for(root)
    with pytest.raises(PlanError, match="selects its interface by MAC only"):  # the ID is no name
        plan_for(root, build_config({"nic": "lan"}))
    write_netplan(
        root, NETPLAN_BY_MAC.format(nic_id="lan", extra="            set-name: 'up\"link'\n")
    )
    with pytest.raises(PlanError, match="NIC name 'up\"link' may contain only"):
        plan_for(root)


def test_apply_writes_them_plan_converges_and_rollback_removes_them(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    before = manifest(root)
    config = build_config({"bridge": "xenbr0"})
    result = Engine(plan_for(root, config), RootFS(root), FakeRunner(root), skip_packages=True)
    done = result.apply()
    assert done.outcome == "applied", done.message
    assert (root / nftconfine.RULES_PATH).read_text() == nftconfine.render_rules("xenbr0", "eno1")
    assert (root / nftconfine.UNIT_PATH).read_text() == nftconfine.render_unit()
    link = root / nftconfine.UNIT_LINK
    assert os.readlink(link) == "/etc/systemd/system/xenwizard-dhcp-confine.service"
    again = plan_for(root, config)
    assert {i: s.changed for i, s in steps_of(again).items()} == dict.fromkeys(CONFINE, False)
    # a new bridge name rewrites the rules in place; unit and link stay
    renamed = steps_of(plan_for(root, build_config({"bridge": "xenbr1"})))
    assert [i for i, s in renamed.items() if s.changed] == ["dhcp-confine"]
    rolled = Engine(None, RootFS(root), FakeRunner(root)).rollback(done.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []
    assert not (root / "etc/systemd").exists() and not (root / "etc/xenwizard").exists()


def test_xenwizard_plan_shows_every_rule(tmp_path: Path) -> None:
    done = run_cli("plan", "--root", str(FIXTURES / "ubuntu-24.04-root"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "nftables: DHCP confined on br0 (the LAN's eno1 kept out): change" in out
    assert "+++ b/etc/xenwizard/dhcp-confine.nft" in out
    for line in nftconfine.render_rules("br0", "eno1").splitlines():
        assert f"+{line}" in out.splitlines()
    assert "+++ b/etc/systemd/system/xenwizard-dhcp-confine.service" in out
    assert (
        "(link etc/systemd/system/sysinit.target.wants/xenwizard-dhcp-confine.service -> "
        "/etc/systemd/system/xenwizard-dhcp-confine.service)"
    ) in out
    data = json.loads(run_cli("plan", "--root", str(FIXTURES / "debian-12-root"), "--json").stdout)
    assert [s["id"] for s in data["steps"] if s["id"] in CONFINE] == list(CONFINE)


@pytest.mark.parametrize("point", ["after-intent", "after-dirs", "after-link"])
def test_a_kill_while_enabling_the_unit_rolls_back_cleanly(tmp_path: Path, point: str) -> None:
    """Killed (os._exit, no cleanup) between the link step's journal record, its directory and
    the link itself: a fresh rollback from the journal leaves the root as it was."""
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    before = manifest(root)
    plan = plan_for(root)
    k = [s.id for s in plan.steps].index("dhcp-confine-enable")
    pid = os.fork()
    if pid == 0:  # the doomed apply
        try:
            from xenwizard.engine import atomic, stepops
            from xenwizard.engine.journal import Journal

            real_append, real_dirs, real_symlink = Journal.append, atomic.make_dirs, os.symlink

            def append(self, record) -> None:
                real_append(self, record)
                if point == "after-intent" and record.get("index") == k:
                    os._exit(137)

            def make_dirs(dirs, *a, **kw) -> None:
                real_dirs(dirs, *a, **kw)
                if point == "after-dirs" and any(str(d).endswith(".wants") for d in dirs):
                    os._exit(137)

            def symlink(target, link, *a, **kw) -> None:
                real_symlink(target, link, *a, **kw)
                if point == "after-link":
                    os._exit(137)

            Journal.append = append  # type: ignore[method-assign]
            atomic.make_dirs = make_dirs
            stepops.os.symlink = symlink  # type: ignore[attr-defined]
            Engine(plan, RootFS(root), FakeRunner(root), skip_packages=True).apply()
            os._exit(3)  # the kill point was never reached
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 137
    runs = sorted(os.listdir(root / "var/lib/xenwizard/runs"))
    rolled = Engine(None, RootFS(root), FakeRunner(root)).rollback(runs[0])
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []


# --- any name: refused, or a ruleset nft accepts --------------------------------------------------


IFNAMES = st.from_regex(r"[A-Za-z0-9_.\-]{1,16}", fullmatch=True)  # mostly valid, some not


@settings(max_examples=25, deadline=None)
@given(
    bridge=st.one_of(IFNAMES, st.text(st.characters(codec="ascii"), max_size=16)),
    nic=st.one_of(IFNAMES, st.text(st.characters(codec="ascii"), max_size=17)),
)
def test_any_name_is_refused_or_gives_rules_nft_accepts(bridge: str, nic: str) -> None:
    if NFT is None:
        programs.missing("nft")
    try:
        text = nftconfine.render_rules(bridge, nic)
    except EditError as exc:
        assert "refusing to write it into the rules" in str(exc)
        return
    assert text == EXPECTED_RULES.replace("br0", bridge).replace('"eth0"', f'"{nic}"').replace(
        "(NIC eth0 ", f"(NIC {nic} "
    )
    done = subprocess.run(
        [NFT, "-c", "-f", "-"], input=text, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr


def test_the_off_file_removes_only_its_table_and_nft_accepts_it(tmp_path: Path) -> None:
    """An isolated run after a bridged one: the rules file becomes one that deletes table
    bridge xenwizard (the real nft checks it), refuses a file xenwizard did not write, and a
    second run changes nothing."""
    bridged = nftconfine.set_rules(None, bridge="br0", nic="eth0").text
    off = nftconfine.set_off(bridged, bridge="br0")
    assert off.text.splitlines()[-2:] == [
        f"table {nftconfine.TABLE_FAMILY} {nftconfine.TABLE_NAME}",
        f"delete table {nftconfine.TABLE_FAMILY} {nftconfine.TABLE_NAME}",
    ]
    assert "dport" not in off.text and "isolated" in off.notes[0]
    assert nftconfine.set_off(off.text, bridge="br0").notes == ("already as wanted",)
    done = nft_check(tmp_path, off.text)
    assert done.returncode == 0, done.stderr
    with pytest.raises(EditError, match="xenwizard's DHCP rules"):
        nftconfine.set_off("table bridge mine {}\n", bridge="br0")
    # and the bridged run after it takes the file back as its own
    assert nftconfine.set_rules(off.text, bridge="br0", nic="eth0").text == bridged
