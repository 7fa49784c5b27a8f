"""The `guest-ipv6` answer (issue 25): none or a /64 in the answers, the files it writes on the
current releases (checked with the real dnsmasq, `ifup --no-act` and `netplan generate` through
the plan's own checks), a re-run that converges, a switch back to none, a rollback that restores
the tree, and the one-line refusal on ubuntu-precise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import diff_manifests, manifest
from tests.kits.helpers import FIXTURES, PRECISE_ROOT, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits import guestipv6

DEBIAN12 = FIXTURES / "debian-12-root"
UBUNTU24 = FIXTURES / "ubuntu-24.04-root"
PREFIX = "2001:db8:5::/64"
DROPIN = "etc/dnsmasq.d/xenwizard.conf"


def after(plan, path: str) -> str:
    return next(s.after for s in plan.file_steps() if s.path == path)


# --- the answer ------------------------------------------------------------------------------


def test_default_is_none_and_a_prefix_is_written_compressed() -> None:
    assert WizardConfig().guest_ipv6 == "none" and WizardConfig().host_ipv6 is None
    config = build_config({"guest-ipv6": "2001:DB8:5:0::/64"})
    assert config.guest_ipv6 == PREFIX
    assert str(config.host_ipv6) == "2001:db8:5::1/64"
    assert config.to_answers()["guest-ipv6"] == PREFIX
    assert "guest-ipv6" not in WizardConfig().to_answers()  # answers files stay as they were
    assert build_config({"guest-ipv6": "NONE"}).guest_ipv6 == "none"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001:db8::/48", "2001:db8::/48 is a /48; expected none or an IPv6 /64 prefix"),
        ("2001:db8::5/64", "2001:db8::5/64 has host bits set; expected the prefix itself, "),
        ("2001:db8::", "'2001:db8::' has no prefix length; expected none or an IPv6 /64"),
        ("yes", "'yes' is not an IPv6 prefix; expected none or an IPv6 /64 prefix"),
        ("10.0.0.0/24", "'10.0.0.0/24' is not an IPv6 prefix"),
        ("fe80::/64", "fe80::/64 is not a unicast prefix guests can use"),
        ("ff05::/64", "ff05::/64 is not a unicast prefix guests can use"),
    ],
)
def test_a_bad_prefix_is_one_line_naming_what_was_expected(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"guest-ipv6": value})
    (line,) = caught.value.lines()
    assert line.startswith(f"invalid answer guest-ipv6: {message}"), line
    done = run_cli("plan", "--root", str(DEBIAN12), "--guest-ipv6", value)
    assert done.returncode != 0 and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr


def test_the_answers_file_takes_it(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(f'guest-ipv6 = "{PREFIX}"\n')
    done = run_cli("plan", "--root", str(DEBIAN12), "--answers", str(answers))
    assert done.returncode == 0, done.stderr
    assert "dhcp-range=2001:db8:5::,ra-stateless,64,12h" in done.stdout


# --- the plan ------------------------------------------------------------------------------------


def test_none_plans_exactly_as_before(tmp_path: Path) -> None:
    """No step of the answer, and no IPv6 line anywhere, when it is not used."""
    for root in (DEBIAN12, UBUNTU24):
        plan = plan_for(root)
        assert guestipv6.SYSCTL_PATH not in {s.path for s in plan.file_steps()}
        assert "enable-ra" not in after(plan, DROPIN)


@pytest.mark.parametrize(
    ("mode", "router"), [("nat", True), ("routed", True), ("host-only", False)]
)
def test_dnsmasq_advertises_the_prefix_and_passes_dnsmasq_test(
    tmp_path: Path, mode: str, router: bool
) -> None:
    dnsmasq = programs.require("dnsmasq")
    plan = plan_for(DEBIAN12, build_config({"guest-ipv6": PREFIX, "guest-access": mode}))
    text = after(plan, DROPIN)
    assert "\nenable-ra\n" in text and "\ndhcp-range=2001:db8:5::,ra-stateless,64,12h\n" in text
    assert ("ra-param=br0,0,0" in text) is not router  # host-only: router lifetime 0
    conf = tmp_path / "xenwizard.conf"
    conf.write_text(text)
    done = subprocess.run(
        [dnsmasq, "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and "syntax check OK" in done.stderr, done.stderr
    files = {s.path: s.after for s in plan.file_steps()}
    if router:
        assert "net.ipv6.conf.all.forwarding = 1\n" in files[guestipv6.SYSCTL_PATH]
        assert "net.ipv6.conf.default.accept_ra = 2\n" in files[guestipv6.SYSCTL_PATH]
    else:
        assert guestipv6.SYSCTL_PATH not in files


def test_ifupdown_bridge_takes_the_host_address_and_ifup_accepts_it() -> None:
    plan = plan_for(DEBIAN12, build_config({"guest-ipv6": PREFIX}))
    bridge = next(s for s in plan.file_steps() if s.path == "etc/network/interfaces")
    assert "checked with `ifup --no-act`: accepted" in bridge.notes
    assert (
        "iface br0 inet6 static\n    bridge_ports eno1\n    address 2001:db8:5::1/64\n"
        "    accept_ra 2\n    autoconf 1\n# END xenwizard\n"
    ) in bridge.after


def test_netplan_bridge_takes_the_host_address_and_netplan_accepts_it() -> None:
    plan = plan_for(UBUNTU24, build_config({"guest-ipv6": PREFIX}))
    own = next(s for s in plan.file_steps() if s.path == "etc/netplan/90-xenwizard.yaml")
    assert any(
        n.startswith("checked with `netplan generate --root-dir`: accepted") for n in own.notes
    )
    assert "# xenwizard: guest-ipv6-address 2001:db8:5::1/64\n" in own.after
    assert "addresses: [10.0.0.1/24, 2001:db8:5::1/64]\n      accept-ra: true\n" in own.after


def test_ubuntu_precise_refuses_it_in_one_line() -> None:
    done = run_cli("plan", "--root", str(PRECISE_ROOT), "--guest-ipv6", PREFIX)
    assert done.returncode != 0
    assert done.stderr == (
        "xenwizard: error: guest-ipv6: not on ubuntu-precise, where xend's network-bridge makes "
        "the bridge at boot and gives it no IPv6 address of ours; use --guest-ipv6 none (the "
        "guests get no IPv6)\n"
    )
    assert run_cli("plan", "--root", str(PRECISE_ROOT), "--guest-ipv6", "none").returncode == 0


def test_an_isolated_bridge_refuses_it_in_one_line() -> None:
    done = run_cli("plan", "--root", str(DEBIAN12), "--isolated", "--guest-ipv6", PREFIX)
    assert done.returncode != 0
    assert done.stderr == (
        "xenwizard: error: guest-ipv6: not with an isolated bridge yet (its own bridge file takes "
        "no IPv6 address); use --guest-ipv6 none, or the bridged shape\n"
    )
    assert run_cli("plan", "--root", str(DEBIAN12), "--isolated").returncode == 0


# --- apply, re-run, switch back, rollback --------------------------------------------------------


@pytest.mark.parametrize("source", [DEBIAN12, UBUNTU24], ids=["ifupdown", "netplan"])
def test_apply_rerun_switch_off_and_rollback(tmp_path: Path, source: Path) -> None:
    root = copy_root(source, tmp_path / "root")
    before = manifest(root)
    flags = ("--root", str(root), "--yes", "--skip-packages")
    done = run_cli("apply", *flags, "--guest-ipv6", PREFIX)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / guestipv6.SYSCTL_PATH).exists()
    again = run_cli("plan", "--root", str(root), "--guest-ipv6", PREFIX)
    changes = [line for line in again.stdout.splitlines() if ": change (" in line]
    titles = [c.split("] ", 1)[1] for c in changes]
    ours = [t for t in titles if t.startswith(("bridge br0", "dnsmasq:", "sysctl: IPv6"))]
    assert ours == [], changes
    # back to none: the address, the advertisements and forwarding go; the file says it is off
    off = run_cli("apply", *flags, "--guest-ipv6", "none")
    assert off.returncode == 0, off.stdout + off.stderr
    assert "2001:db8:5" not in (root / DROPIN).read_text()
    bridge_files = [p for p in ("etc/network/interfaces", "etc/netplan/90-xenwizard.yaml")]
    assert not any(
        "2001:db8:5" in (root / p).read_text() for p in bridge_files if (root / p).exists()
    )
    assert "forwarding" not in (root / guestipv6.SYSCTL_PATH).read_text().split("\n", 2)[2]
    for _ in range(2):
        rolled = run_cli("rollback", "--root", str(root))
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert diff_manifests(before, manifest(root)) == []
