"""`xenwizard verify` inside a booted namespace: passes, and fails with the right reason.

verify runs as an operator would run it on the host, `python -m xenwizard verify --root ROOT`,
but inside the "host" namespace (`ip netns exec`), so it sees that namespace's bridge, alias
and dnsmasq; ROOT is the applied copy of the fixture root with the run's journal, and
`--assume-live` says that this namespace is ROOT's running system (without it, a root that is
not `/` gets SKIP for every live check).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import psutil
import pytest

from tests.kits.helpers import run_cli
from tests.kits.netns import Netns, PreciseHost, answer_flags

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def verify(xen: PreciseHost, *args: str, ns: Netns | None = None):
    proc = (ns or xen.host).run(
        [
            sys.executable,
            "-m",
            "xenwizard",
            "verify",
            "--root",
            str(xen.root),
            "--assume-live",
            *args,
        ],
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def lines(stdout: str) -> dict[str, str]:
    """{check name: 'PASS reason' / 'FAIL reason'}."""
    out = {}
    for line in stdout.splitlines():
        status, rest = line.split(" ", 1)
        name, reason = rest.split(": ", 1)
        out[name] = f"{status} {reason}"
    return out


def test_verify_passes_on_the_booted_host(boot) -> None:
    xen = boot()
    proc = verify(xen)
    checks = lines(proc.stdout)
    # the `xen` check reads this machine's /sys/hypervisor, which no namespace fakes
    on_xen = Path("/sys/hypervisor/type").exists()
    xen_check = checks.pop("xen")
    if not on_xen:
        assert xen_check.startswith("FAIL /sys/hypervisor/type is missing"), xen_check
    assert proc.returncode == (0 if xen_check.startswith("PASS") else 1), proc.stdout
    # --skip-packages skipped the GRUB step (it needs Xen's entry, issue 23): it says SKIP
    skipped = {"dom0-mem", "file etc/default/grub"}
    assert {k for k, v in checks.items() if v.startswith("SKIP")} == skipped, proc.stdout
    assert all(v.startswith("PASS") for k, v in checks.items() if k not in skipped), proc.stdout
    assert {
        "run",
        "bridge",
        "bridge-address",
        "alias",
        "dnsmasq",
        "dnsmasq-config",
        "dnsmasq-dhcp",
        "file etc/dnsmasq.d/xenwizard.conf",
        "file etc/network/interfaces",
        "file etc/rc.local",
        "file etc/xen/scripts/vif-bridge",
        "file etc/xen/xend-config.sxp",
        "link usr/lib/xen-tools/precise.d",
        "toolstack",
    } <= set(checks)
    assert checks["alias"] == "PASS 10.0.0.1/24 on br0:0"
    assert f"pid {xen.dnsmasq.pid}" in checks["dnsmasq-config"]

    data = [d for d in json.loads(verify(xen, "--json").stdout) if d["name"] != "xen"]
    assert [d["name"] for d in data] == list(checks)
    assert all(d["ok"] and d["status"] == "PASS" for d in data if d["name"] not in skipped)


def test_verify_in_another_namespace_does_not_see_this_hosts_dnsmasq(boot) -> None:
    """The dnsmasq check counts only processes in verify's own network namespace."""
    xen = boot()
    checks = lines(verify(xen, ns=xen.lan).stdout)
    assert checks["dnsmasq"].startswith("FAIL no dnsmasq process runs in this network namespace")


def test_verify_fails_when_dnsmasq_is_stopped(boot) -> None:
    xen = boot()
    xen.dnsmasq.stop()
    proc = verify(xen)
    assert proc.returncode == 1
    checks = lines(proc.stdout)
    assert checks["dnsmasq"].startswith("FAIL no dnsmasq process runs in this network namespace")
    assert checks["dnsmasq-dhcp"] == "FAIL dnsmasq is not running"
    assert checks["alias"].startswith("PASS")


def test_verify_fails_when_the_alias_is_removed(boot) -> None:
    xen = boot()
    xen.ifupdown.ifdown("br0:0")  # the real ifdown, with the state ifup left
    proc = verify(xen)
    assert proc.returncode == 1
    checks = lines(proc.stdout)
    assert checks["alias"] == (
        "FAIL no 10.0.0.1/24 on br0:0; bring it up with `ifup br0:0` (rc.local does at boot)"
    )
    assert checks["bridge"].startswith("PASS")


def test_verify_fails_when_a_managed_file_was_edited_by_hand(boot) -> None:
    xen = boot()
    interfaces = xen.root / "etc/network/interfaces"
    interfaces.write_text(interfaces.read_text() + "\nauto br0:0\n")
    proc = verify(xen)
    assert proc.returncode == 1
    checks = lines(proc.stdout)
    assert checks["file etc/network/interfaces"].startswith("FAIL changed since run ")
    assert "edited by hand?" in checks["file etc/network/interfaces"]
    assert checks["file etc/rc.local"].startswith("PASS")


def test_verify_fails_without_an_unlabelled_bridge_address(boot) -> None:
    xen = boot(lan_address=None)
    proc = verify(xen)
    assert proc.returncode == 1
    checks = lines(proc.stdout)
    assert checks["bridge-address"].startswith(
        "FAIL br0 has no unlabelled IPv4 address; dnsmasq ignores the labelled br0:0 alias"
    )
    assert checks["alias"].startswith("PASS")  # the alias itself is fine: that is the trap


def test_verify_fails_when_dnsmasq_runs_settings_older_than_the_file(boot) -> None:
    """A second apply changed the drop-in; dnsmasq, not restarted, still runs the old one."""
    xen = boot()
    again = run_cli(
        "apply", "--root", str(xen.root), "--yes", "--skip-packages", *answer_flags({"lease": "1h"})
    )
    assert again.returncode == 0, again.stderr
    # process start times are known to the second: date the new drop-in clearly after it
    later = psutil.Process(xen.dnsmasq.pid).create_time() + 5
    os.utime(xen.root / "etc/dnsmasq.d/xenwizard.conf", (later, later))
    checks = lines(verify(xen).stdout)
    assert checks["dnsmasq-config"].startswith(f"FAIL pid {xen.dnsmasq.pid} started before")
    assert checks["dnsmasq-config"].endswith("restart dnsmasq")
    assert checks["file etc/dnsmasq.d/xenwizard.conf"].startswith("PASS")  # the newer run's
