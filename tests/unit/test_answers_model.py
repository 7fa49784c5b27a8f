"""Issue 10, "the operator's path": one answers model behind CLI flags, answers files and the TUI.

Each test names what was wrong before the table of answers (`config.ANSWER_FIELDS`) existed.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import fields
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root, run_cli
from xenwizard.answers.build import answer_problem, build_config
from xenwizard.answers.clashes import Target, free_default_address
from xenwizard.answers.fields import ANSWER_FIELDS, ANSWERS
from xenwizard.answers.file import dump_answers, load_answers
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.cli import build_parser

DEBIAN12 = FIXTURES / "debian-12-root"
UBUNTU2404 = FIXTURES / "ubuntu-24.04-root"


def plan_json(root: Path, *flags: str) -> dict:
    done = run_cli("plan", "--json", "--root", str(root), *flags)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def all_text(plan: dict) -> str:
    return "\n".join(s.get("after") or "" for s in plan["steps"])


# --- one table -----------------------------------------------------------------------------------


def test_every_answer_is_a_flag_of_plan_and_apply():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("plan", "apply"):
        flags = {o for a in sub[command]._actions for o in a.option_strings}
        for spec in ANSWER_FIELDS:
            assert spec.flag in flags, (command, spec.key)
            if spec.kind is bool:
                assert f"--no-{spec.key}" in flags


def test_table_defaults_are_the_config_defaults():
    config = WizardConfig()
    attrs = {f.name for f in fields(WizardConfig)}
    for spec in ANSWER_FIELDS:
        if spec.dest in attrs:
            assert getattr(config, spec.dest) == spec.default, spec.key
    assert ANSWERS["dhcp-range"].default == config.dhcp_range


def test_answers_file_is_written_with_tomli_w_and_replays(tmp_path: Path):
    config = build_config({"bridge": "xenbr0", "nic": "eno1", "lease": "1d"})
    path = tmp_path / "answers.toml"
    path.write_text(dump_answers(config.to_answers()))
    assert path.read_text().startswith("# xenwizard answers")
    assert build_config(load_answers(path)) == config
    with pytest.raises(ValueError, match="not answers"):
        dump_answers({"colour": "blue"})


# --- normalisation before any file (failed before: the CLI wrote the netmask form raw) ----------


def test_cli_address_with_netmask_is_written_as_prefix():
    plan = plan_json(DEBIAN12, "--address", "10.0.0.1/255.255.255.0")
    assert plan["answers"]["address"] == "10.0.0.1/24"
    assert "255.255.255.0/" not in all_text(plan) and "/255.255.255.0" not in all_text(plan)
    assert "10.0.0.1/24" in all_text(plan)


def test_tui_validators_are_the_core():
    """The page validators are `answer_problem`: the same verdict as the CLI's build_config."""
    assert answer_problem("address", {"address": "10.0.0.1/255.255.255.0"}) is None
    precise = Target(bridge_max_len=13)
    assert "at most 13" in (answer_problem("bridge", {"bridge": "a" * 14}, None, precise) or "")
    assert answer_problem("nic", {"bridge": "br0", "nic": "br0"}) == (
        "must differ from the bridge name"
    )


# --- the DHCP range follows the subnet (failed before: the CLI refused --address alone) ---------


def test_cli_new_subnet_moves_the_default_range():
    plan = plan_json(DEBIAN12, "--address", "192.168.77.1/24")
    assert plan["answers"]["dhcp-range"] == "192.168.77.10-192.168.77.100"
    assert "dhcp-range=192.168.77.10,192.168.77.100,12h" in all_text(plan)


def test_cli_given_range_is_kept_and_checked():
    plan = plan_json(
        DEBIAN12, "--address", "192.168.77.1/24", "--dhcp-range", "192.168.77.50-192.168.77.60"
    )
    assert plan["answers"]["dhcp-range"] == "192.168.77.50-192.168.77.60"
    done = run_cli(
        "plan", "--root", str(DEBIAN12), "--address", "192.168.77.1/24", "--dhcp-range",
        "10.0.0.10-10.0.0.100",
    )  # fmt: skip
    assert done.returncode == 1
    assert "dhcp-range: start 10.0.0.10 is outside the subnet 192.168.77.0/24" in done.stderr


# --- a detected profile is not pinned (failed before: "profile = debian-12" in every file) -------


def test_answers_of_a_detected_run_detect_again(tmp_path: Path):
    root = copy_root(DEBIAN12, tmp_path / "deb")
    done = run_cli("apply", "--yes", "--skip-packages", "--root", str(root), "--bridge", "xenbr0")
    assert done.returncode == 0, done.stderr
    (answers,) = (root / "var/lib/xenwizard/runs").glob("*/answers.toml")
    recorded = load_answers(answers)
    assert "profile" not in recorded
    assert recorded["bridge"] == "xenbr0"
    replay = plan_json(UBUNTU2404, "--answers", str(answers))
    assert replay["profile"] == "ubuntu-24.04"
    assert "--profile" not in replay["profile_reason"]


def test_a_chosen_profile_is_recorded():
    plan = plan_json(DEBIAN12, "--profile", "debian-12")
    assert plan["answers"]["profile"] == "debian-12"
    assert "profile" not in plan_json(DEBIAN12)["answers"]


# --- wording of the rules (failed before) --------------------------------------------------------


def test_lease_in_capitals_is_accepted_as_dnsmasq_does():
    plan = plan_json(DEBIAN12, "--lease", "12H")
    assert plan["answers"]["lease"] == "12h"
    assert "dhcp-range=10.0.0.10,10.0.0.100,12h" in all_text(plan)


def test_out_of_subnet_start_is_reported_as_outside():
    reason = answer_problem("dhcp-range", {"dhcp-range": "192.168.1.10-10.0.0.100"})
    assert reason == "start 192.168.1.10 is outside the subnet 10.0.0.0/24"


def test_usage_error_is_not_exit_2():
    done = run_cli("plan", "--no-such-flag")
    assert done.returncode == 1
    assert "unrecognized arguments" in done.stderr


# --- dangerous input refused, not warned (failed before: warnings only, or not checked) ---------


def IF(text: str) -> ipaddress.IPv4Interface:
    return ipaddress.IPv4Interface(text)


LAN = Target(
    addresses=(
        (IF("192.168.1.10/24"), "eno1", "on eno1"),
        (IF("10.0.0.5/24"), "eth1", "configured for eth1"),
    ),
    gateway=ipaddress.IPv4Address("192.168.1.1"),
)


def refused(answers: dict, target: Target) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        build_config(answers, target=target)
    return {p.field: p.message for p in caught.value.problems}


def test_overlapping_subnet_is_an_error_naming_the_clash():
    found = refused({"address": "192.168.1.200/24"}, LAN)
    assert found["address"] == "subnet 192.168.1.0/24 overlaps 192.168.1.10/24 on eno1"


def test_range_holding_the_gateway_or_a_used_address_is_an_error():
    target = Target(gateway=ipaddress.IPv4Address("10.0.0.50"))
    found = refused({"address": "10.0.0.1/24"}, target)
    assert (
        found["dhcp-range"] == "range 10.0.0.10-10.0.0.100 contains 10.0.0.50 (the default gateway)"
    )
    found = refused({"address": "10.0.0.50/24", "dhcp-range": "10.0.0.60-10.0.0.70"}, target)
    assert found == {"address": "10.0.0.50 is already used (the default gateway)"}


def test_allow_overlap_lets_it_through_and_the_preview_says_so():
    config = build_config({"address": "192.168.1.200/24", "allow-overlap": True}, target=LAN)
    assert config.allow_overlap and config.to_answers()["allow-overlap"] is True


def test_default_subnet_is_a_free_one_and_says_why():
    address, why = free_default_address(LAN)
    assert address == "10.0.1.1/24"
    assert why == (
        "guest subnet 10.0.1.0/24: the default 10.0.0.0/24 is taken "
        "(subnet 10.0.0.0/24 overlaps 10.0.0.5/24 configured for eth1)"
    )
    config = build_config({}, target=LAN)
    assert (config.address, config.dhcp_range) == ("10.0.1.1/24", "10.0.1.10-10.0.1.100")
    assert free_default_address(Target()) == ("10.0.0.1/24", None)


@pytest.mark.parametrize(
    ("nic", "reason"),
    [
        ("lo", "lo is the loopback interface"),
        ("wlan0", "wlan0 is a wireless interface"),
        (
            "eth7",
            "eth7 is not an interface of this target (configured in etc/network/interfaces: eno1)",
        ),
    ],
)
def test_cli_nic_must_be_a_configured_physical_wired_interface(nic: str, reason: str):
    done = run_cli("plan", "--root", str(DEBIAN12), "--nic", nic)
    assert done.returncode == 1
    assert f"invalid answer nic: {reason}" in done.stderr


def test_cli_bridge_may_use_15_characters_but_not_on_precise():
    plan = plan_json(DEBIAN12, "--bridge", "a" * 15)
    assert f"interface={'a' * 15}" in all_text(plan)
    done = run_cli("plan", "--root", str(FIXTURES / "precise-root"), "--bridge", "a" * 14)
    assert done.returncode == 1 and "at most 13" in done.stderr


def test_cli_clash_with_a_configured_address_is_refused_and_allowed(tmp_path: Path):
    root = copy_root(DEBIAN12, tmp_path / "deb")
    interfaces = root / "etc/network/interfaces"
    interfaces.write_text(
        interfaces.read_text().replace(
            "iface eno1 inet dhcp", "iface eno1 inet static\n    address 10.0.0.7/24"
        )
    )
    done = run_cli("plan", "--root", str(root), "--address", "10.0.0.1/24")
    assert done.returncode == 1
    assert "subnet 10.0.0.0/24 overlaps 10.0.0.7/24 configured for eno1" in done.stderr
    allowed = run_cli("plan", "--root", str(root), "--address", "10.0.0.1/24", "--allow-overlap")
    assert allowed.returncode == 0, allowed.stderr
    assert "ALLOWED with --allow-overlap" in allowed.stdout
    default = run_cli("plan", "--json", "--root", str(root))
    assert json.loads(default.stdout)["answers"]["address"] == "10.0.1.1/24"
    assert "note: guest subnet 10.0.1.0/24: the default 10.0.0.0/24 is taken" in default.stderr


# --- wording (failed before) ---------------------------------------------------------------


def test_dnsmasq_block_on_debian_12_names_no_alias(tmp_path: Path):
    from xenwizard.edits import dnsmasq

    config = WizardConfig()
    block = dnsmasq.set_managed_block("port=0\n", config, alias_note=False)
    assert "br0:0" not in block.text
    assert "br0:0" in dnsmasq.set_managed_block("port=0\n", config).text  # precise: the alias


def test_apt_get_install_nothing_is_said_in_words():
    from xenwizard.planning.plan import InstallPackages
    from xenwizard.planning.render import step_detail

    step = InstallPackages(id="p", title="Install packages", packages=(), already_installed=("x",))
    assert step_detail(step) == "no packages to install (all already installed)"


def test_applied_counts_the_steps_that_changed(tmp_path: Path):
    """Failed before: "applied: 7 steps applied" when one step changed."""
    root = copy_root(DEBIAN12, tmp_path / "deb")
    first = run_cli("apply", "--yes", "--skip-packages", "--root", str(root))
    assert first.returncode == 0, first.stderr
    again = run_cli("apply", "--yes", "--skip-packages", "--root", str(root), "--lease", "1h")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("applied: 1 of 18 steps changed something")
