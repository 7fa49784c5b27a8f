"""The `guest-access` answer (issue 12): nat, routed, host-only in the answers, the plans of
the current releases and ubuntu-precise, the live forwarding step and its undo, and the
files checked with the real nft and dnsmasq."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import diff_manifests, manifest
from tests.kits.helpers import FIXTURES, PRECISE_ROOT, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits import guestnet, nftconfine
from xenwizard.engine.journalschema import SchemaError, validate_record
from xenwizard.planning.plan import EditFile, SetSysctl

DEBIAN12 = FIXTURES / "debian-12-root"
NAT_IDS = ["guest-forward", "guest-nat", "guest-nat-unit", "guest-nat-enable"]


def ids(plan) -> list[str]:
    return [s.id for s in plan.steps]


def after(plan, path: str) -> str:
    return next(s.after for s in plan.file_steps() if s.path == path)


# --- the answer ------------------------------------------------------------------------------


def test_answer_defaults_to_nat_and_takes_the_three_modes() -> None:
    assert WizardConfig().guest_access == "nat"
    assert WizardConfig().to_answers()["guest-access"] == "nat"
    for mode in ("nat", "routed", "host-only"):
        config = build_config({"guest-access": mode})
        assert config.guest_access == mode
        assert build_config(config.to_answers()) == config
    assert build_config({"guest-access": "Host-Only"}).guest_access == "host-only"
    with pytest.raises(ConfigError) as exc:
        build_config({"guest-access": "bridged"})
    assert str(exc.value) == ("guest-access: expected one of nat, routed, host-only, not 'bridged'")


def test_cli_flag_and_answers_file_reach_the_plan(tmp_path: Path) -> None:
    done = run_cli("plan", "--root", str(DEBIAN12), "--guest-access", "routed", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["answers"]["guest-access"] == "routed"
    assert "guest-nat" not in [s["id"] for s in data["steps"]]
    answers = tmp_path / "answers.toml"
    answers.write_text('guest-access = "host-only"\n')
    done = run_cli("plan", "--root", str(DEBIAN12), "--answers", str(answers), "--json")
    data = json.loads(done.stdout)
    assert data["answers"]["guest-access"] == "host-only"
    assert not {"guest-forward", "guest-nat"} & {s["id"] for s in data["steps"]}
    bad = run_cli("plan", "--root", str(DEBIAN12), "--guest-access", "open")
    assert bad.returncode != 0
    assert "guest-access: expected one of nat, routed, host-only, not 'open'" in bad.stderr


# --- the plans -------------------------------------------------------------------------------


def test_nat_plan_forwards_and_masquerades_the_guest_subnet() -> None:
    plan = plan_for(DEBIAN12)
    got = ids(plan)
    start = got.index("guest-forward")
    assert got[start : start + 4] == NAT_IDS
    sysctl = after(plan, guestnet.SYSCTL_PATH)
    assert "net.ipv4.ip_forward = 1" in sysctl.splitlines()
    rules = after(plan, guestnet.NAT_RULES_PATH)
    assert "table ip xenwizard-nat {" in rules
    assert "ip saddr 10.0.0.0/24 ip daddr != 10.0.0.0/24 masquerade" in rules
    unit = after(plan, guestnet.NAT_BOOT.unit_path)
    assert f"ExecStart=/usr/sbin/nft -f /{guestnet.NAT_RULES_PATH}" in unit
    assert "ExecStop=-/usr/sbin/nft delete table ip xenwizard-nat" in unit
    link = next(s for s in plan.steps if s.id == "guest-nat-enable")
    assert (link.path, link.target) == (guestnet.NAT_BOOT.unit_link, guestnet.NAT_BOOT.unit_target)
    assert "guest-forward-now" not in got  # a tree's kernel is not this machine's
    # the preview shows every rule: the diff has the files whole
    for path in (guestnet.SYSCTL_PATH, guestnet.NAT_RULES_PATH, guestnet.NAT_BOOT.unit_path):
        assert f"+++ b/{path}" in plan.diff()
    assert "masquerade" in plan.diff()
    dnsmasq = after(plan, "etc/dnsmasq.d/xenwizard.conf")
    assert "dhcp-option" not in dnsmasq  # the host is the guests' router


def test_routed_plan_forwards_only_and_names_the_route() -> None:
    plan = plan_for(DEBIAN12, build_config({"guest-access": "routed", "address": "10.9.0.1/24"}))
    got = ids(plan)
    assert "guest-forward" in got
    assert not [i for i in got if i.startswith("guest-nat")]
    forward = next(s for s in plan.steps if s.id == "guest-forward")
    assert any("route 10.9.0.0/24 via" in n for n in forward.notes)


def test_routed_route_names_the_lan_address_when_known() -> None:
    import ipaddress

    from tests.unit.test_profile_current import facts_of
    from xenwizard.target.probe import InterfaceInfo

    nic = InterfaceInfo(
        name="eno1",
        addresses=(ipaddress.IPv4Interface("192.168.1.20/24"),),
        mac="52:54:00:12:34:56",
        is_physical=True,
    )
    facts = facts_of(DEBIAN12, interfaces=(nic,))
    plan = plan_for(DEBIAN12, build_config({"guest-access": "routed"}), facts=facts)
    forward = next(s for s in plan.steps if s.id == "guest-forward")
    assert any("`route 10.0.0.0/24 via 192.168.1.20`" in n for n in forward.notes)


def test_host_only_plan_advertises_no_router_and_does_not_forward() -> None:
    plan = plan_for(DEBIAN12, build_config({"guest-access": "host-only"}))
    assert not [i for i in ids(plan) if i.startswith("guest-")]
    dnsmasq = after(plan, "etc/dnsmasq.d/xenwizard.conf")
    assert "dhcp-option=option:router" in dnsmasq.splitlines()


def test_precise_nat_masquerades_in_rc_local_and_forwards() -> None:
    plan = plan_for(PRECISE_ROOT)
    rc_local = after(plan, "etc/rc.local")
    rule = "POSTROUTING -s 10.0.0.0/24 ! -d 10.0.0.0/24 -j MASQUERADE"
    assert f"iptables -t nat -C {rule} 2>/dev/null || iptables -t nat -A {rule} || true" in rc_local
    assert ids(plan)[-1] == "guest-forward"
    host_only = plan_for(PRECISE_ROOT, build_config({"guest-access": "host-only"}))
    assert "iptables" not in after(host_only, "etc/rc.local")
    assert "guest-forward" not in ids(host_only)
    assert "dhcp-option=option:router" in after(host_only, "etc/dnsmasq.d/xenwizard.conf")


def test_confinement_unit_is_unchanged_by_the_shared_helper() -> None:
    """The DHCP confinement's unit comes from the same NftBoot helper as the NAT unit, and an
    earlier run's unit still reads "already as wanted"."""
    unit = nftconfine.render_unit()
    assert unit.startswith(
        "# Written by xenwizard: loads /etc/xenwizard/dhcp-confine.nft at boot, which keeps "
        "DHCP on\n# the Xen bridge between this host and its guests. `xenwizard rollback`"
    )
    assert "ExecStop=-/usr/sbin/nft delete table bridge xenwizard" in unit
    assert nftconfine.set_unit(unit).notes == ("already as wanted",)
    assert guestnet.NAT_BOOT.set_unit(guestnet.NAT_BOOT.render_unit()).notes == (
        "already as wanted",
    )


def test_foreign_sysctl_file_is_refused() -> None:
    from xenwizard.edits import EditError

    with pytest.raises(EditError, match="was not written by xenwizard"):
        guestnet.set_sysctl("net.ipv4.ip_forward = 0\n", WizardConfig())


# --- the real tools --------------------------------------------------------------------------


def _in_netns(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-n", *argv], capture_output=True, text=True, timeout=30)


def test_nat_rules_load_with_the_real_nft(tmp_path: Path) -> None:
    nft = programs.require("nft")
    rules = tmp_path / "guest-nat.nft"
    rules.write_text(after(plan_for(DEBIAN12), guestnet.NAT_RULES_PATH))
    script = f"{nft} -f {rules} && {nft} -f {rules} && {nft} list table ip xenwizard-nat"
    done = _in_netns(["sh", "-c", script])
    assert done.returncode == 0, done.stderr
    assert "ip saddr 10.0.0.0/24 ip daddr != 10.0.0.0/24 masquerade" in done.stdout


def test_host_only_dropin_passes_dnsmasq_test(tmp_path: Path) -> None:
    dnsmasq = programs.require("dnsmasq")
    plan = plan_for(DEBIAN12, build_config({"guest-access": "host-only"}))
    conf = tmp_path / "xenwizard.conf"
    conf.write_text(after(plan, "etc/dnsmasq.d/xenwizard.conf"))
    done = subprocess.run(
        [dnsmasq, "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "syntax check OK" in done.stderr


# --- apply and rollback ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["nat", "routed", "host-only"])
def test_apply_and_rollback_restore_the_tree_byte_for_byte(tmp_path: Path, mode: str) -> None:
    root = copy_root(DEBIAN12, tmp_path / "root")
    before = manifest(root)
    done = run_cli("apply", "--root", str(root), "--yes", "--skip-packages", "--guest-access", mode)
    assert done.returncode == 0, done.stdout + done.stderr
    written = {guestnet.SYSCTL_PATH, guestnet.NAT_RULES_PATH, guestnet.NAT_BOOT.unit_path}
    present = {p for p in written if (root / p).exists()}
    expected = {
        "nat": written,
        "routed": {guestnet.SYSCTL_PATH},
        "host-only": set(),
    }[mode]
    assert present == expected
    if mode == "nat":
        link = root / guestnet.NAT_BOOT.unit_link
        assert link.is_symlink() and str(link.readlink()) == guestnet.NAT_BOOT.unit_target
    again = run_cli("plan", "--root", str(root), "--guest-access", mode, "--detailed-exitcode")
    assert "guest-" not in "".join(
        line for line in again.stdout.splitlines() if ": change (" in line
    )
    rolled = run_cli("rollback", "--root", str(root))
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert diff_manifests(before, manifest(root)) == []


# --- the live forwarding step ----------------------------------------------------------------


@pytest.mark.parametrize(("now", "changed"), [("0", True), ("1", False)])
def test_live_plan_sets_forwarding_now_and_says_what_rollback_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, now: str, changed: bool
) -> None:
    from xenwizard.planning.render import plan_text
    from xenwizard.target import sysctl
    from xenwizard.target.rootfs import RootFS

    proc = tmp_path / "proc"
    (proc / "net/ipv4").mkdir(parents=True)
    (proc / "net/ipv4/ip_forward").write_text(now + "\n")
    monkeypatch.setattr(sysctl, "PROC_SYS", proc)
    monkeypatch.setattr(RootFS, "is_live", property(lambda self: True))
    # no boot guard: on a "live" root the guard names the running xenwizard, which a checkout
    # under /tmp (mode 1777) cannot be; forwarding is what this test is about
    for mode, wanted in (("nat", True), ("routed", True), ("host-only", False)):
        plan = plan_for(DEBIAN12, build_config({"guest-access": mode, "boot-guard": False}))
        steps = [s for s in plan.steps if s.id == "guest-forward-now"]
        assert bool(steps) == wanted, mode
    plan = plan_for(DEBIAN12, build_config({"boot-guard": False}))
    step = next(s for s in plan.steps if s.id == "guest-forward-now")
    assert isinstance(step, SetSysctl) and step.current == now and step.changed == changed
    text = plan_text(plan)
    assert "(sysctl -w net.ipv4.ip_forward=1)" in text
    if changed:
        assert "a rollback sets it back to 0" in text


_LIVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from xenwizard.engine.executor import Engine
    from xenwizard.engine.runner import CommandRunner
    from xenwizard.planning.plan import Plan, SetSysctl
    from xenwizard.target.rootfs import RootFS

    RootFS.is_live = property(lambda self: True)  # this netns's kernel is the "live" one
    proc = Path("/proc/sys/net/ipv4/ip_forward")
    root = sys.argv[1]
    step = SetSysctl("guest-forward-now", "forwarding now", "net.ipv4.ip_forward", "1",
                     current=proc.read_text().strip())
    plan = Plan("test", "test", root, (step,))
    before = proc.read_text().strip()
    result = Engine(plan, RootFS(root), CommandRunner("/")).apply()
    during = proc.read_text().strip()
    back = Engine(None, RootFS(root), CommandRunner("/")).rollback(result.run_id)
    print(before, during, proc.read_text().strip(), result.outcome, back.outcome)
    """
)


def test_live_forwarding_is_set_now_and_rolled_back_in_a_namespace(tmp_path: Path) -> None:
    """The real `sysctl -w` in a fresh network namespace (ip_forward is per namespace): the
    step sets 1 and journals 0; the rollback writes 0 back."""
    root = tmp_path / "root"
    (root / "var/lib").mkdir(parents=True)
    done = _in_netns([sys.executable, "-c", _LIVE, str(root)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["0", "1", "0", "applied", "rolled-back"]
    intents = [
        json.loads(line)
        for journal in root.glob("var/lib/xenwizard/runs/*/journal.jsonl")
        for line in journal.read_text().splitlines()
    ]
    intent = next(r for r in intents if r.get("kind") == "sysctl")
    assert (intent["key"], intent["value"], intent["was"]) == ("net.ipv4.ip_forward", "1", "0")


def test_journal_refuses_a_sysctl_intent_it_did_not_write() -> None:
    good = {
        "type": "intent",
        "index": 3,
        "step_id": "guest-forward-now",
        "kind": "sysctl",
        "title": "t",
        "key": "net.ipv4.ip_forward",
        "value": "1",
        "was": "0",
    }
    validate_record(good, for_undo=True)
    for bad in (
        {"key": "kernel.core_pattern"},
        {"was": "|/bin/sh"},
        {"value": "2"},
    ):
        with pytest.raises(SchemaError):
            validate_record({**good, **bad}, for_undo=True)


def test_step_file_texts_are_edit_steps() -> None:
    plan = plan_for(DEBIAN12)
    for step_id in ("guest-forward", "guest-nat", "guest-nat-unit"):
        assert isinstance(next(s for s in plan.steps if s.id == step_id), EditFile)


def test_a_later_run_turns_an_earlier_runs_nat_and_forwarding_off(tmp_path: Path) -> None:
    """nat, then host-only on the same host: the files an earlier run wrote are rewritten to
    turn forwarding and the masquerade off (loading the rules removes the table); rolling back
    the second run brings the nat files back, the first the original tree."""
    root = copy_root(DEBIAN12, tmp_path / "root")
    original = manifest(root)
    first = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert first.returncode == 0, first.stdout + first.stderr
    nat_files = {p: (root / p).read_text() for p in (guestnet.SYSCTL_PATH, guestnet.NAT_RULES_PATH)}
    routed = plan_for(root, build_config({"guest-access": "routed"}))
    assert [s.id for s in routed.steps if s.id.startswith("guest-")] == [
        "guest-forward",
        "guest-nat",
    ]
    second = run_cli(
        "apply", "--root", str(root), "--yes", "--skip-packages", "--guest-access", "host-only"
    )
    assert second.returncode == 0, second.stdout + second.stderr
    sysctl = (root / guestnet.SYSCTL_PATH).read_text()
    assert "ip_forward" not in sysctl.replace("IPv4 forwarding", "") and "off (host-only)" in sysctl
    rules = (root / guestnet.NAT_RULES_PATH).read_text()
    assert " masquerade comment" not in rules and rules.endswith("delete table ip xenwizard-nat\n")
    nft = programs.require("nft")
    script = f"{nft} -f /dev/stdin <<'E'\n{nat_files[guestnet.NAT_RULES_PATH]}E\n"
    script += f"{nft} -f {root / guestnet.NAT_RULES_PATH} && {nft} list tables"
    done = _in_netns(["sh", "-c", script])
    assert done.returncode == 0 and "xenwizard-nat" not in done.stdout, done.stderr
    again = run_cli("plan", "--root", str(root), "--guest-access", "host-only", "--json")
    steps = {s["id"]: s["changed"] for s in json.loads(again.stdout)["steps"]}
    assert steps["guest-forward"] is False and steps["guest-nat"] is False
    assert run_cli("rollback", "--root", str(root)).returncode == 0
    assert {p: (root / p).read_text() for p in nat_files} == nat_files
    assert run_cli("rollback", "--root", str(root)).returncode == 0
    assert diff_manifests(original, manifest(root)) == []
