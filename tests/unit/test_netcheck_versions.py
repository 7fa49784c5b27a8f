"""The network step of a `--root` target is checked with this machine's netplan or ifup; when
that is not the target's own version the plan says so, and a rejection caused by the tool's age
is told apart from files that are broken (issue 28).

Ubuntu 24.04's netplan.io 1.1.2 accepts `advertised-mss` (netplan's examples/static-routes.yaml);
Debian 12's 0.106 — this machine's and CI's — rejects it. Before, the plan blamed the target:
"the new network configuration fails `netplan generate`: unknown key 'advertised-mss'".
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, copy_root, plan_for
from xenwizard.planning.profiles import PlanError
from xenwizard.target.dpkgstatus import compare_versions, installed_version
from xenwizard.target.rootfs import RootFS

CORPUS = FIXTURES / "netcorpus"
TARGET_NETPLAN = "1.1.2-2~ubuntu24.04.1"  # tests/fixtures/ubuntu-24.04-root's dpkg status


def host_netplan() -> str:
    """This machine's netplan.io, as dpkg-query tells it (not the code under test)."""
    programs.require("netplan")
    version = programs.package_version("netplan.io")
    assert version != "not installed", "netplan is installed but not as the package netplan.io"
    return version


def netplan_root(tmp_path: Path, yaml: Path, version: str | None = None) -> Path:
    root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
    for old in (root / "etc/netplan").iterdir():
        old.unlink()
    target = root / "etc/netplan" / yaml.name
    target.write_text(yaml.read_text())
    target.chmod(0o600)
    if version is not None:
        status = root / "var/lib/dpkg/status"
        status.write_text(status.read_text().replace(TARGET_NETPLAN, version))
    return root


def test_a_rejection_by_an_older_netplan_names_both_versions(tmp_path: Path) -> None:
    host = host_netplan()
    assert compare_versions(host, TARGET_NETPLAN) < 0, (
        f"this test needs a netplan older than {TARGET_NETPLAN} here (Debian 12's 0.106); "
        f"found {host}"
    )
    root = netplan_root(tmp_path, CORPUS / "netplan-examples/static-routes.yaml")
    with pytest.raises(PlanError) as refused:
        plan_for(root)
    message = str(refused.value)
    assert "\n" not in message
    assert f"this machine's netplan.io {host} is older than the target's {TARGET_NETPLAN}" in (
        message
    )
    assert "advertised-mss" in message and "not the files" in message
    assert "plan on the target itself" in message


def test_files_broken_already_are_told_apart(tmp_path: Path) -> None:
    """Same netplan here and there, a file it rejects as it is: the files, not the tool."""
    broken = tmp_path / "01-netcfg.yaml"
    broken.write_text(
        "network:\n  version: 2\n  ethernets:\n    eno1:\n      dhcp4: true\n      frob: 1\n"
    )
    root = netplan_root(tmp_path, broken, version=host_netplan())
    with pytest.raises(PlanError) as refused:
        plan_for(root)
    message = str(refused.value)
    assert "fails `netplan generate --root-dir` already, before any change" in message
    assert "frob" in message and "older" not in message


def test_an_accepted_check_says_whose_netplan_checked_it(tmp_path: Path) -> None:
    host = host_netplan()
    root = netplan_root(tmp_path, CORPUS / "netplan-examples/static.yaml")
    plan = plan_for(root)
    (bridge,) = [s for s in plan.steps if s.id == "bridge"]
    assert (
        f"checked with `netplan generate --root-dir`: accepted (this machine's netplan.io {host} "
        f"is older than the target's {TARGET_NETPLAN})" in bridge.notes
    )


VERSIONS = [
    "0.106-2+deb12u1",
    "0.106.1-7ubuntu0.22.04.4",
    "1.1.2-2~ubuntu24.04.1",
    "1.1.2-2",
    "1.1.2",
    "1:0.1",
    "0.8.41",
    "0.8.44",
    "1.0~rc1",
    "1.0",
    "1.0a",
    "1.0+b1",
    "1.0-1~bpo12+1",
    "2.0~~",
    "2.0~",
    "1.0.a",
]


def test_versions_compare_as_dpkg_compares_them() -> None:
    """Checked against the real `dpkg --compare-versions`, every pair."""
    dpkg = programs.require("dpkg")
    for a, b in itertools.product(VERSIONS, VERSIONS):
        expected = next(
            order
            for order, op in ((-1, "lt"), (0, "eq"), (1, "gt"))
            if subprocess.run([dpkg, "--compare-versions", a, op, b], check=False).returncode == 0
        )
        assert compare_versions(a, b) == expected, (a, b)


def test_the_versions_are_read_from_the_dpkg_status() -> None:
    """The host's as dpkg-query reads it; a fixture root's from its status file."""
    assert installed_version(RootFS("/"), "netplan.io") == host_netplan()
    ubuntu = RootFS(FIXTURES / "ubuntu-24.04-root")
    assert installed_version(ubuntu, "netplan.io") == TARGET_NETPLAN
    assert installed_version(ubuntu, "netplan") is None  # a name's prefix is not the name
    assert installed_version(RootFS(FIXTURES / "debian-12-root"), "ifupdown") == "0.8.41"
    assert installed_version(RootFS(FIXTURES / "debian-12-root"), "netplan.io") is None


def test_whose_tool_is_said_only_when_the_versions_differ() -> None:
    from xenwizard.planning.netcheck import ToolVersions

    newer = ToolVersions("netplan.io", "1.1.2-2~ubuntu24.04.1", "0.106-2+deb12u1")
    assert newer.differ
    assert newer.describe() == (
        "this machine's netplan.io 1.1.2-2~ubuntu24.04.1 is newer than the target's 0.106-2+deb12u1"
    )
    assert not ToolVersions("ifupdown", "0.8.41", "0.8.41").differ
    assert not ToolVersions("ifupdown", "0.8.41", None).differ  # the target has none: unknown
    assert not ToolVersions("ifupdown", None, None).differ  # the live system: the same tool
