"""Issue 12, "many hosts on one LAN": per-host guest subnets from one shared answers file
(`subnet-pool` plus each host's `host-index`), through the CLI on fixture roots."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.file import load_answers
from xenwizard.answers.model import ConfigError, WizardConfig

DEBIAN12 = FIXTURES / "debian-12-root"


def shared_answers(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text("\n".join(('subnet-pool = "10.20.0.0/16"', 'lease = "1h"', *lines)) + "\n")
    return path


def plan_json(root: Path, *flags: str) -> dict:
    done = run_cli("plan", "--json", "--root", str(root), *flags)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_twenty_hosts_get_twenty_distinct_subnets_from_one_file(tmp_path: Path) -> None:
    answers = shared_answers(tmp_path)
    subnets = set()
    for index in range(20):
        plan = plan_json(DEBIAN12, "--answers", str(answers), "--host-index", str(index))
        got = plan["answers"]
        assert got["subnet-pool"] == "10.20.0.0/16" and got["host-index"] == index
        assert "address" not in got  # the pool and the index are what was chosen
        dnsmasq = next(s for s in plan["steps"] if s["id"] == "dnsmasq")["after"]
        assert f"dhcp-range=10.20.{index}.10,10.20.{index}.100,1h" in dnsmasq
        bridge = next(s for s in plan["steps"] if s["id"] == "bridge")["after"]
        assert f"10.20.{index}.1/24" in bridge or f"address 10.20.{index}.1" in bridge
        subnets.add(ipaddress.IPv4Network(f"10.20.{index}.0/24"))
        assert got["dhcp-range"] == f"10.20.{index}.10-10.20.{index}.100"
    assert len(subnets) == 20


def test_the_index_comes_from_the_file_or_the_flag_and_a_range_may_be_given(
    tmp_path: Path,
) -> None:
    answers = shared_answers(tmp_path, "host-index = 3", 'dhcp-range = "10.20.3.50-10.20.3.60"')
    plan = plan_json(DEBIAN12, "--answers", str(answers))
    assert plan["answers"]["dhcp-range"] == "10.20.3.50-10.20.3.60"
    last = plan_json(DEBIAN12, "--subnet-pool", "172.16.0.0/12", "--host-index", "4095")
    assert last["answers"]["dhcp-range"] == "172.31.255.10-172.31.255.100"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--subnet-pool", "10.20.0.0/16", "--host-index", "256"),
            "host-index: 256 is outside subnet-pool 10.20.0.0/16: its 256 /24s are 0 to 255",
        ),
        (
            ("--subnet-pool", "10.20.0.0/25", "--host-index", "0"),
            "subnet-pool: is a /25, smaller than a /24; each host gets a /24 of the pool",
        ),
        (
            ("--subnet-pool", "10.20.0.0/16", "--host-index", "1", "--address", "10.20.1.1/24"),
            "address: cannot be given together with subnet-pool or host-index: the pool gives "
            "each host its address (.1 of its /24); give one or the other",
        ),
        (
            ("--subnet-pool", "10.20.0.0/16"),
            "host-index: needed with subnet-pool 10.20.0.0/16: which /24 of it",
        ),
        (("--host-index", "2"), "host-index: needs subnet-pool (the pool it picks a /24 from)"),
        (
            ("--subnet-pool", "10.20.0.0/16", "--host-index", "two"),
            "host-index: expected a whole number, 0 or more (0 is the pool's first /24)",
        ),
        (
            ("--subnet-pool", "10.20.0.0/16", "--host-index", "\u00b2"),  # a digit to isdigit()
            "host-index: expected a whole number, 0 or more (0 is the pool's first /24)",
        ),
        (
            ("--confirm-within", "\u00b2"),
            "confirm-within: expected whole minutes, like 10",
        ),
        (
            ("--subnet-pool", "10.20.1.0/16", "--host-index", "2"),
            "subnet-pool: has host bits set; expected a network address, like 10.20.0.0/16",
        ),
    ],
)
def test_invalid_combinations_are_one_line_errors(flags: tuple[str, ...], message: str) -> None:
    done = run_cli("plan", "--root", str(DEBIAN12), *flags)
    assert done.returncode == 1
    assert done.stderr == f"xenwizard: error: invalid answer {message}\n"


def test_the_chosen_subnet_is_checked_against_the_target(tmp_path: Path) -> None:
    root = copy_root(DEBIAN12, tmp_path / "root")
    interfaces = root / "etc/network/interfaces"
    interfaces.write_text(
        interfaces.read_text().replace(
            "iface eno1 inet dhcp", "iface eno1 inet static\n    address 10.20.2.5/24"
        )
    )
    answers = shared_answers(tmp_path)
    done = run_cli("plan", "--root", str(root), "--answers", str(answers), "--host-index", "2")
    assert done.returncode == 1
    assert "subnet 10.20.2.0/24 overlaps 10.20.2.5/24" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1
    plan_json(root, "--answers", str(answers), "--host-index", "3")


def test_the_written_answers_replay_the_pool_and_index(tmp_path: Path) -> None:
    root = copy_root(DEBIAN12, tmp_path / "root")
    answers = shared_answers(tmp_path)
    done = run_cli(
        "apply", "--yes", "--skip-packages", "--root", str(root), "--answers", str(answers),
        "--host-index", "7",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (written,) = (root / "var/lib/xenwizard/runs").glob("*/answers.toml")
    recorded = load_answers(written)
    assert recorded["subnet-pool"] == "10.20.0.0/16" and recorded["host-index"] == 7
    assert "address" not in recorded
    assert build_config(recorded).address == "10.20.7.1/24"
    replay = plan_json(root, "--answers", str(written))
    assert replay["answers"] == {**recorded, "dhcp-range": "10.20.7.10-10.20.7.100"}


def test_config_round_trip_and_an_address_replacing_a_pool() -> None:
    config = build_config({"subnet-pool": "10.20.0.0/255.255.0.0", "host-index": 5})
    assert (config.subnet_pool, config.host_index, config.address) == (
        "10.20.0.0/16",
        5,
        "10.20.5.1/24",
    )
    assert build_config(config.to_answers()) == config
    # a page that sets an address (the TUI's base holds the pool) leaves the pool behind
    moved = build_config({"address": "192.168.9.1/24"}, config)
    assert moved.subnet_pool is None and moved.host_index is None
    assert moved.dhcp_range == "192.168.9.10-192.168.9.100"
    with pytest.raises(ConfigError):
        build_config({"address": "10.20.5.1/24", "subnet-pool": "10.20.0.0/16", "host-index": 5})
    assert WizardConfig().to_answers()["address"] == "10.0.0.1/24"
