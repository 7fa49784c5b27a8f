"""Issue 10, "the operator's path": one answers model behind CLI flags, answers files and the TUI.

Each test names what was wrong before the table of answers (`config.ANSWER_FIELDS`) existed.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, copy_root, run_cli
from xenwizard.answers import dump_answers, load_answers
from xenwizard.cli import build_parser
from xenwizard.config import (
    ANSWER_FIELDS,
    ANSWERS,
    WizardConfig,
    answer_problem,
    build_config,
)

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
    assert "at most 13" in (answer_problem("bridge", {"bridge": "a" * 14}) or "")
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
