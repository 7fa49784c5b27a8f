"""`verify` on current releases (Debian 12/13, Ubuntu 22.04/24.04): a real apply of the fixture
roots with `--skip-packages`, a fake live system, exact reasons."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root, run_cli
from tests.unit.test_verify_checks import FakeLive, by_name, healthy
from xenwizard.cli import main
from xenwizard.engine.runner import BASE_ENV
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck import CheckResult, CommandOutput, KernelLive, checks, run_checks


def applied(tmp_path: Path, release: str, capsys: pytest.CaptureFixture[str], *flags: str) -> Path:
    target = copy_root(FIXTURES / f"{release}-root", tmp_path / release)
    code = main(["apply", "--root", str(target), "--yes", "--skip-packages", *flags])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    return target


XL_INFO = """\
host                   : xenhost
release                : 6.1.0-28-amd64
machine                : x86_64
nr_cpus                : 2
virt_caps              : pv hvm hap shadow
total_memory           : 2047
free_memory            : 982
xen_major              : 4
xen_minor              : 17
xen_extra              : .5
xen_version            : 4.17.5
xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64
xen_scheduler          : credit2
xend_config_format     : 4
"""


def healthy_current(root: Path) -> FakeLive:
    """As on a booted current release: the guests' subnet address unlabelled on the bridge,
    `xl info` answers, and the DHCP confinement's table is loaded."""
    live = healthy(root)
    live.commands[("xl", "info")] = CommandOutput(0, XL_INFO, "")
    live.commands[NFT_LIST] = loaded()
    live.commands[NAT_LIST] = CommandOutput(0, (NFT / "guest-nat.json").read_text(), "")
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

LIVE_CHECKS = ["xen", "bridge", "alias", "dnsmasq", "dnsmasq-config", "dnsmasq-dhcp"]


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


# --- 4. Xen is running, and this is dom0 -----------------------------------------------------


def on_xen(live: FakeLive) -> FakeLive:
    live.files["/sys/hypervisor/type"] = "xen\n"
    live.files["/proc/xen/capabilities"] = "control_d\n"
    live.commands[("xl", "info")] = CommandOutput(0, XL_INFO, "")
    return live


def xen_line(root: Path, live: FakeLive) -> str:
    return by_name(run_checks(RootFS(root), live))["xen"].line()


def test_xen_passes_on_dom0_and_names_the_version(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    assert xen_line(root, on_xen(healthy_current(root))) == (
        "PASS xen: /sys/hypervisor/type is xen, /proc/xen/capabilities has control_d (dom0), "
        "`xl info`: xen_version 4.17.5, virt_caps pv hvm hap shadow"
    )


def test_xen_fails_when_not_booted_into_xen(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    live = on_xen(healthy_current(root))
    live.files["/sys/hypervisor/type"] = None
    assert xen_line(root, live) == (
        "FAIL xen: /sys/hypervisor/type is missing: this kernel is not running on Xen; "
        "reboot into GRUB's Xen entry (`... with Xen hypervisor`)"
    )
    live.files["/sys/hypervisor/type"] = "kvm\n"
    assert xen_line(root, live) == "FAIL xen: /sys/hypervisor/type is 'kvm', not xen"


def test_xen_fails_in_a_guest_or_without_xenfs(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    live = on_xen(healthy_current(root))
    live.files["/proc/xen/capabilities"] = ""
    assert xen_line(root, live) == (
        "FAIL xen: /proc/xen/capabilities has no control_d: this is a Xen guest (domU), not dom0"
    )
    live.files["/proc/xen/capabilities"] = None
    assert xen_line(root, live) == (
        "FAIL xen: /proc/xen/capabilities is missing: xenfs is not mounted on /proc/xen "
        "(see `systemctl status proc-xen.mount`)"
    )


def test_xen_fails_when_xl_info_does(tmp_path, capsys) -> None:
    root = applied(tmp_path, "debian-12", capsys)
    live = on_xen(healthy_current(root))
    live.commands[("xl", "info")] = CommandOutput(
        1, "", "xencall: error: Could not obtain handle on privileged command interface\n"
    )
    assert xen_line(root, live) == (
        "FAIL xen: Xen runs (dom0), but `xl info` failed (exit 1: xencall: error: Could not "
        "obtain handle on privileged command interface); run as root, and see "
        "`systemctl status xencommons`"
    )
    del live.commands[("xl", "info")]
    assert xen_line(root, live) == (
        "FAIL xen: Xen runs (dom0), but there is no `xl`: the Xen tools are not installed"
    )


def test_xen_on_precise_does_not_ask_xl(root_precise) -> None:
    live = on_xen(healthy(root_precise))
    del live.commands[("xl", "info")]
    assert xen_line(root_precise, live) == (
        "PASS xen: /sys/hypervisor/type is xen, /proc/xen/capabilities has control_d (dom0); "
        "xm toolstack: `xl info` not asked"
    )


@pytest.fixture
def root_precise(tmp_path, capsys) -> Path:
    target = copy_root(FIXTURES / "precise-root", tmp_path / "precise")
    assert main(["apply", "--root", str(target), "--yes", "--skip-packages"]) == 0
    capsys.readouterr()
    return target


def test_kernel_live_runs_commands_with_a_timeout() -> None:
    live = KernelLive()
    assert live.run(["true"]) == CommandOutput(0, "", "")
    assert live.run(["no-such-program-xenwizard"]) is None
    slow = live.run(["sleep", "5"], timeout=0.2)
    assert slow is not None and slow.returncode != 0 and "timed out" in slow.stderr


def test_kernel_live_commands_see_only_the_clean_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The operator's environment (LD_PRELOAD, PYTHONPATH, a PATH with a planted `xl`) must not
    steer the commands verify runs, as it does not steer the runner's."""
    monkeypatch.setenv("XW_LEAK", "leaked")
    monkeypatch.setenv("PATH", "/nonexistent:" + os.environ["PATH"])
    seen = live_env()
    assert "XW_LEAK" not in seen
    assert seen == BASE_ENV


def live_env() -> dict[str, str]:
    out = KernelLive().run(["env", "-0"])
    assert out is not None and out.returncode == 0, out
    pairs = (item.split("=", 1) for item in out.stdout.split("\0") if item)
    return {key: value for key, value in pairs}


# --- 5. the DHCP confinement (only when the plan has a dhcp-confine step) --------------------

NFT = FIXTURES / "nft"
NFT_LIST = ("nft", "-j", "list", "table", "bridge", "xenwizard")
NAT_LIST = ("nft", "-j", "list", "table", "ip", "xenwizard-nat")  # nat, the default (issue 12)
NOT_LOADED = CommandOutput(
    1, "", "Error: No such file or directory\nlist table bridge xenwizard\n                  ^^^^\n"
)


def add_confine_step(root: Path, ruleset: str | None = None, nic: str | None = None) -> None:
    """Give the applied run the `dhcp-confine` step another change adds, with its file written
    (and, when given, a `nic` of its own, which names the NIC before the bridge step does)."""
    text = ruleset if ruleset is not None else (NFT / "dhcp-confine.nft").read_text()
    run_dir = next((root / "var/lib/xenwizard/runs").iterdir())
    plan = json.loads((run_dir / "plan.json").read_text())
    step = {
        "id": "dhcp-confine",
        "kind": "edit",
        "title": "nftables: DHCP stays on the guests' side of br0",
        "path": "etc/xenwizard/dhcp-confine.nft",
        "creates": True,
        "deferred": False,
        "before": None,
        "after": text,
        "mode": "0o644",
        **({"nic": nic} if nic else {}),
    }
    ids = [s["id"] for s in plan["steps"]]  # in its place: the journal's indexes stay right
    if "dhcp-confine" in ids:
        plan["steps"][ids.index("dhcp-confine")] = step
    else:
        plan["steps"].append(step)
    (run_dir / "plan.json").write_text(json.dumps(plan))
    (root / "etc/xenwizard").mkdir(parents=True, exist_ok=True)
    (root / "etc/xenwizard/dhcp-confine.nft").write_text(text)


def confined_root(tmp_path, capsys, *flags: str) -> Path:
    root = applied(tmp_path, "debian-12", capsys, *flags)
    add_confine_step(root)
    return root


def loaded(json_text: str | None = None) -> CommandOutput:
    return CommandOutput(0, json_text or (NFT / "dhcp-confine.json").read_text(), "")


def confinement(root: Path, live: FakeLive) -> CheckResult:
    return by_name(run_checks(RootFS(root), live))["dhcp-confinement"]


def test_no_confinement_check_without_the_step(tmp_path, capsys) -> None:
    """A run applied before the confinement existed (its plan has no such step)."""
    root = applied(tmp_path, "debian-12", capsys)
    run_dir = next((root / "var/lib/xenwizard/runs").iterdir())
    plan = json.loads((run_dir / "plan.json").read_text())
    plan["steps"] = [step for step in plan["steps"] if not step["id"].startswith("dhcp-confine")]
    (run_dir / "plan.json").write_text(json.dumps(plan))
    live = healthy_current(root)
    live.commands[NFT_LIST] = NOT_LOADED  # would fail, were it asked
    assert "dhcp-confinement" not in by_name(run_checks(RootFS(root), live))


def test_confinement_passes_with_the_table_loaded(tmp_path, capsys) -> None:
    root = confined_root(tmp_path, capsys)
    live = healthy_current(root)
    live.commands[NFT_LIST] = loaded()
    results = run_checks(RootFS(root), live)
    assert by_name(results)["dhcp-confinement"].line() == (
        "PASS dhcp-confinement: table bridge xenwizard is loaded and drops udp dport 67 and 68 "
        "on eno1 (chains forward, input), and router solicitations/advertisements and DHCPv6 "
        "between the guests and the NIC on eno1"
    )
    assert [r.line() for r in results if r.failed] == []
    assert [r.name for r in results].index("dhcp-confinement") == [r.name for r in results].index(
        "dnsmasq-dhcp"
    ) + 1


def test_confinement_fails_when_the_table_is_not_loaded(tmp_path, capsys) -> None:
    root = confined_root(tmp_path, capsys)
    live = healthy_current(root)
    live.commands[NFT_LIST] = NOT_LOADED
    assert confinement(root, live).line() == (
        "FAIL dhcp-confinement: table bridge xenwizard is not loaded: guests may get leases from "
        "the LAN's DHCP server, and the host's dnsmasq hears LAN machines; load "
        "etc/xenwizard/dhcp-confine.nft (`nft -f /etc/xenwizard/dhcp-confine.nft`)"
    )
    del live.commands[NFT_LIST]
    assert confinement(root, live).reason.startswith(
        "`nft` is not installed, so table bridge xenwizard cannot be seen: guests may get leases"
    )
    live.commands[NFT_LIST] = CommandOutput(1, "", "Error: Operation not permitted\n")
    assert confinement(root, live).reason == (
        "`nft -j list table bridge xenwizard` failed (exit 1: Error: Operation not permitted); "
        "run as root"
    )
    live.commands[NFT_LIST] = CommandOutput(0, "not json", "")
    assert confinement(root, live).reason.startswith("cannot read `nft -j`'s output: not JSON")


def test_confinement_fails_without_drops_on_the_plans_nic(tmp_path, capsys) -> None:
    data = json.loads((NFT / "dhcp-confine.json").read_text())
    root = confined_root(tmp_path, capsys)
    live = healthy_current(root)
    # only the input chain's rule (udp dport 67): nothing drops the clients' port 68
    only_input = [
        item for item in data["nftables"] if item.get("rule", {}).get("chain") != "forward"
    ]
    live.commands[NFT_LIST] = loaded(json.dumps({"nftables": only_input}))
    assert confinement(root, live).line() == (
        "FAIL dhcp-confinement: table bridge xenwizard is loaded but drops no udp dport 68 on "
        "eno1: guests may get leases from the LAN's DHCP server, and the host's dnsmasq hears LAN "
        "machines; load etc/xenwizard/dhcp-confine.nft again "
        "(`nft -f /etc/xenwizard/dhcp-confine.nft`)"
    )
    # the rules are there, but for another NIC than the plan's
    add_confine_step(root, nic="eth7")
    live.commands[NFT_LIST] = loaded()
    assert confinement(root, live).reason.startswith(
        "table bridge xenwizard is loaded but drops no udp dport 67 or 68 on eth7: "
    )


def test_confinement_fails_without_the_ipv6_drops(tmp_path, capsys) -> None:
    data = json.loads((NFT / "dhcp-confine.json").read_text())
    root = confined_root(tmp_path, capsys)
    live = healthy_current(root)
    # the output chain's rules gone: the host's own advertisements would reach the LAN
    no_output = [item for item in data["nftables"] if item.get("rule", {}).get("chain") != "output"]
    live.commands[NFT_LIST] = loaded(json.dumps({"nftables": no_output}))
    assert confinement(root, live).line() == (
        "FAIL dhcp-confinement: table bridge xenwizard is loaded but lacks the IPv6 drops "
        "output: icmpv6 type 134 out through eno1; output: udp dport 546 out through eno1: "
        "guests may take addresses on the LAN's IPv6 prefix (its router advertisements or "
        "DHCPv6) and route around this host; load etc/xenwizard/dhcp-confine.nft again "
        "(`nft -f /etc/xenwizard/dhcp-confine.nft`)"
    )
    # a run of a version that wrote no IPv6 rules is held to its own (DHCPv4) rules only
    v4_only = "\n".join(
        line for line in (NFT / "dhcp-confine.nft").read_text().splitlines() if "icmp" not in line
    )
    add_confine_step(root, v4_only)
    assert confinement(root, live).ok


def test_ipv6_drops_read_names_numbers_sets_and_ranges() -> None:
    from xenwizard.verify.hostcheck.nftables import ipv6_drops

    def rule(chain: str, key: str, proto: str, field: str, right: object, verdict="drop") -> dict:
        left = {"payload": {"protocol": proto, "field": field}}
        return {
            "rule": {
                "family": "bridge",
                "table": "xenwizard",
                "chain": chain,
                "expr": [
                    {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "eno1"}},
                    {"match": {"op": "==", "left": left, "right": right}},
                    {verdict: None},
                ],
            }
        }

    assert ipv6_drops([rule("forward", "iif", "icmpv6", "type", {"set": [133, 134]})], "eno1") == {
        ("forward", "in", "icmpv6", 133),
        ("forward", "in", "icmpv6", 134),
    }
    assert ipv6_drops(
        [rule("output", "oifname", "icmpv6", "type", "nd-router-advert")], "eno1"
    ) == {("output", "out", "icmpv6", 134)}
    assert ipv6_drops([rule("forward", "oif", "udp", "dport", {"range": [540, 550]})], "eno1") == {
        ("forward", "out", "udp", 546),
        ("forward", "out", "udp", 547),
    }
    assert ipv6_drops([rule("input", "iifname", "udp", "dport", 547, "accept")], "eno1") == set()
    assert ipv6_drops([rule("input", "iifname", "icmpv6", "type", 135)], "eno1") == set()
    assert ipv6_drops([rule("input", "iifname", "udp", "dport", 547)], "eth9") == set()


def test_confinement_reads_sets_ranges_and_accepts_no_other_verdict(tmp_path, capsys) -> None:
    from xenwizard.verify.hostcheck import dhcp_drops

    def rule(chain: str, dport: object, verdict: str = "drop", key: str = "iifname") -> dict:
        return {
            "rule": {
                "family": "bridge",
                "table": "xenwizard",
                "chain": chain,
                "expr": [
                    {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "eno1"}},
                    {
                        "match": {
                            "op": "==",
                            "left": {"payload": {"protocol": "udp", "field": "dport"}},
                            "right": dport,
                        }
                    },
                    {verdict: None},
                ],
            }
        }

    assert dhcp_drops([rule("forward", {"range": [67, 68]})], "eno1") == {
        67: ["forward"],
        68: ["forward"],
    }
    assert dhcp_drops([rule("forward", {"set": [53, 67]}, key="oifname")], "eno1") == {
        67: ["forward"],
        68: [],
    }
    assert dhcp_drops([rule("forward", 67, verdict="accept")], "eno1") == {67: [], 68: []}
    assert dhcp_drops([rule("forward", 67, key="ibrname")], "eno1") == {67: [], 68: []}
    other_table = rule("forward", 67)
    other_table["rule"]["table"] = "filter"
    assert dhcp_drops([other_table], "eno1") == {67: [], 68: []}


def test_confinement_is_a_live_check_skipped_with_another_root(tmp_path, capsys) -> None:
    root = confined_root(tmp_path, capsys)
    done = run_cli("verify", "--root", str(root))
    assert f"SKIP dhcp-confinement: not run: {root} is not the running system" in done.stdout
    assert "PASS file etc/xenwizard/dhcp-confine.nft: as run " in done.stdout
    assert done.returncode == 0, done.stdout
