"""The `dhcp-confinement` check against the real `nft` and a real kernel ruleset.

A network namespace has its own nftables rulesets, so the table is loaded into (and deleted from)
a lab namespace only; verify runs there as tests/system/test_verify_netns.py runs it, on a Debian 12
root applied for real (with `--skip-packages`) whose plan gets the `dhcp-confine` step.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.kits.netns import SBIN_PATH, Lab, skip_unless_netns
from tests.unit.test_verify_current import NFT, add_confine_step, applied

pytestmark = [pytest.mark.netns, pytest.mark.slow]

NFT_PROGRAM = shutil.which("nft", path=SBIN_PATH) or "/usr/sbin/nft"


def confinement_line(ns, root) -> str:
    proc = ns.run(
        [sys.executable, "-m", "xenwizard", "verify", "--root", str(root), "--assume-live"],
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    found = [line for line in proc.stdout.splitlines() if " dhcp-confinement: " in line]
    assert len(found) == 1, proc.stdout
    return found[0]


def test_the_loaded_table_passes_and_a_deleted_one_fails(tmp_path, capsys) -> None:
    skip_unless_netns(NFT_PROGRAM)
    root = applied(tmp_path, "debian-12", capsys)
    ruleset = (NFT / "dhcp-confine.nft").read_text()
    add_confine_step(root, ruleset)
    with Lab("confine") as lab:
        host = lab.namespace("host")
        assert confinement_line(host, root).startswith(
            "FAIL dhcp-confinement: table bridge xenwizard is not loaded: "
        )
        host.run([NFT_PROGRAM, "-f", "-"], input=ruleset)
        assert confinement_line(host, root) == (
            "PASS dhcp-confinement: table bridge xenwizard is loaded and drops udp dport 67 and "
            "68 on eno1 (chains forward, input), and router solicitations/advertisements and "
            "DHCPv6 between the guests and the NIC on eno1"
        )
        # one rule less: the guests' clients (port 68) are no longer kept from the LAN
        listed = host.run([NFT_PROGRAM, "-a", "list", "chain", "bridge", "xenwizard", "forward"])
        handles = [line.rsplit("# handle ", 1)[1] for line in listed.stdout.splitlines()
                   if "drop" in line]  # fmt: skip
        for handle in handles:
            host.run([NFT_PROGRAM, "delete", "rule", "bridge", "xenwizard", "forward",
                      "handle", handle])  # fmt: skip
        assert confinement_line(host, root).startswith(
            "FAIL dhcp-confinement: table bridge xenwizard is loaded but drops no udp dport 68 "
            "on eno1: "
        )
        host.run([NFT_PROGRAM, "delete", "table", "bridge", "xenwizard"])
        assert confinement_line(host, root) == (
            "FAIL dhcp-confinement: table bridge xenwizard is not loaded: guests may get leases "
            "from the LAN's DHCP server, and the host's dnsmasq hears LAN machines; load "
            "etc/xenwizard/dhcp-confine.nft (`nft -f /etc/xenwizard/dhcp-confine.nft`)"
        )
