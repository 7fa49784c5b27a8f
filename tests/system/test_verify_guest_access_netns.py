"""`xenwizard verify`'s guest-access checks (issue 12) against the real kernel and `nft`.

ip_forward and the nftables ruleset are per network namespace, so verify runs inside a lab
namespace (as tests/system/test_verify_confine_netns.py does) on a Debian 12 root applied for real
with `--skip-packages`: the written sysctl.d file and NAT rules are loaded there by hand, as
systemd-sysctl and the NAT unit would at boot.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.kits.netns import SBIN_PATH, Lab, skip_unless_netns
from tests.unit.test_verify_current import applied
from xenwizard.edits import guestnet

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"
SYSCTL = shutil.which("sysctl", path=SBIN_PATH) or "/usr/sbin/sysctl"


def lines(ns, root) -> dict[str, str]:
    """verify's guest-* lines by check name."""
    proc = ns.run(
        [sys.executable, "-m", "xenwizard", "verify", "--root", str(root), "--assume-live"],
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    found = {}
    for line in proc.stdout.splitlines():
        for name in ("guest-forwarding", "guest-nat"):
            if f" {name}: " in line:
                found[name] = line
    return found


def test_nat_checks_forwarding_and_the_table(tmp_path, capsys) -> None:
    skip_unless_netns(NFT, SYSCTL)
    root = applied(tmp_path, "debian-12", capsys)
    with Lab("verify-nat") as lab:
        host = lab.namespace("host")
        found = lines(host, root)
        assert found["guest-forwarding"] == (
            "FAIL guest-forwarding: net.ipv4.ip_forward is 0: the guests cannot reach other "
            f"networks; apply /{guestnet.SYSCTL_PATH} (`sysctl -p /{guestnet.SYSCTL_PATH}`)"
        )
        assert found["guest-nat"].startswith(
            "FAIL guest-nat: table ip xenwizard-nat is not loaded: the guests cannot reach "
        )
        host.run([SYSCTL, "-p", str(root / guestnet.SYSCTL_PATH)])
        host.run([NFT, "-f", str(root / guestnet.NAT_RULES_PATH)])
        assert lines(host, root) == {
            "guest-forwarding": "PASS guest-forwarding: net.ipv4.ip_forward is 1: this host "
            "forwards the guests' traffic",
            "guest-nat": "PASS guest-nat: table ip xenwizard-nat is loaded and masquerades "
            "10.0.0.0/24",
        }
        host.run([NFT, "flush", "chain", "ip", guestnet.NAT_TABLE, "postrouting"])
        assert lines(host, root)["guest-nat"].startswith(
            "FAIL guest-nat: table ip xenwizard-nat is loaded but masquerades nothing from "
            "10.0.0.0/24: "
        )


@pytest.mark.parametrize(
    ("mode", "expected"), [("routed", {"guest-forwarding"}), ("host-only", set())]
)
def test_routed_and_host_only_check_only_what_they_plan(tmp_path, capsys, mode, expected) -> None:
    skip_unless_netns(NFT, SYSCTL)
    root = applied(tmp_path, "debian-12", capsys, "--guest-access", mode)
    with Lab(f"verify-{mode}") as lab:
        assert set(lines(lab.namespace("host"), root)) == expected


def test_a_later_host_only_run_checks_neither(tmp_path, capsys) -> None:
    """nat, then host-only: the files are there (rewritten off), and nothing is checked."""
    skip_unless_netns(NFT, SYSCTL)
    root = applied(tmp_path, "debian-12", capsys)
    from xenwizard.cli import main

    assert main(["apply", "--root", str(root), "--yes", "--skip-packages",
                 "--guest-access", "host-only"]) == 0  # fmt: skip
    with Lab("verify-off") as lab:
        assert lines(lab.namespace("host"), root) == {}
