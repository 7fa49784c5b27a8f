"""Corpus shapes booted in network namespaces: the addresses and routes the NIC had are on the
bridge after `ifup`, and the port carries none (issue 28).

For a handful of static interfaces(5) files of tests/fixtures/netcorpus (Hetzner's dedicated
server with its `up route add ... dev NIC` line and an inet6 stanza, debian-installer's static,
pointopoint and IPv6 ones, cloud-init's IPv4+IPv6 static), the plan's interfaces file is booted
as Debian does after the reboot: hotplug raises the NIC (`manual`), then `ifup br0`. A veth
named like the NIC stands in for it; its other end is up in a "lan" namespace (carrier, nothing
else). Before the fix the Hetzner route still named the port: its `up` command failed and so
did `ifup br0`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, copy_root, plan_for
from tests.kits.netns import IFUP, Ifupdown, Lab, add_veth, skip_unless_netns
from xenwizard.target.probe import InterfaceInfo, probe
from xenwizard.target.rootfs import RootFS

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CORPUS = FIXTURES / "netcorpus"
MAC = "52:54:00:5c:00:01"

# file -> (NIC, {(address, prefix)} on br0 besides the guests' 10.0.0.1/24, routes on br0
# as `ip -j route` prints them: (family flag, dst, gateway))
SHAPES = {
    "hetzner-installimage/dedicated.interfaces": (
        "enp0s31f6",
        {("203.0.113.75", 26), ("2001:db8:1:2::2", 64)},
        {
            ("-4", "default", "203.0.113.65"),
            ("-4", "203.0.113.64/26", "203.0.113.65"),  # the `up route add -net` line
            ("-6", "default", "fe80::1"),
        },
    ),
    "debian-installer/static.interfaces": (
        "eno1",
        {("192.0.2.10", 24)},
        {("-4", "default", "192.0.2.1")},
    ),
    "debian-installer/pointopoint.interfaces": (
        "eno1",
        {("203.0.113.75", 32)},
        {("-4", "default", "203.0.113.65")},  # via the peer: `pointopoint` moved with it
    ),
    "debian-installer/static-ipv6.interfaces": (
        "eno1",
        {("2001:db8:10::10", 64)},
        {("-6", "default", "2001:db8:10::1")},
    ),
    "cloud-init-eni/v1_ipv4_and_ipv6_static.interfaces": (
        "iface0",
        {("192.168.14.2", 24), ("2001:1::1", 64)},
        set(),
    ),
}


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(IFUP)
    programs.require("route")  # net-tools: Hetzner's `up route add -net ...`
    with Lab(request.node.name) as the_lab:
        yield the_lab


def planned_interfaces(tmp_path: Path, name: str, nic: str) -> str:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    (root / "etc/network/interfaces").write_text((CORPUS / name).read_text())
    fs = RootFS(root)
    facts = replace(
        probe(fs, live=False), interfaces=(InterfaceInfo(nic, mac=MAC, is_physical=True),)
    )
    plan = plan_for(root, facts=facts)
    (step,) = [s for s in plan.file_steps() if s.path == "etc/network/interfaces"]
    assert step.after is not None
    return re.sub(r"^source .*$", "", step.after, flags=re.M)  # the target's own dir is empty


def global_addresses(ns, dev: str) -> set[tuple[str, int]]:
    """IPv4 and IPv6 addresses of global scope on `dev`, as `ip -j addr` reports them."""
    data = json.loads(ns.ip("-j", "addr", "show", "dev", dev).stdout or "[]")
    return {
        (a["local"], a["prefixlen"])
        for entry in data
        for a in entry.get("addr_info", [])
        if a.get("scope") == "global"
    }


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_bridge_boots_with_the_nics_addresses_and_routes(
    lab: Lab, name: str, tmp_path: Path
) -> None:
    nic, addresses, routes = SHAPES[name]
    text = planned_interfaces(tmp_path, name, nic)
    host, lan = lab.namespace("host"), lab.namespace("lan")
    add_veth(host, nic, lan, "lan0")
    host.ip("link", "set", nic, "address", MAC)
    lan.ip("link", "set", "lan0", "up")
    interfaces = lab.path("interfaces")
    interfaces.write_text(text)
    ifupdown = Ifupdown(host, lab.workdir("ifupdown"), interfaces)
    for iface in (nic, "br0"):
        up = ifupdown.ifup(iface, check=False)
        assert up.returncode == 0, up.stdout + up.stderr
    assert host.link(nic).get("master") == "br0"
    assert host.link("br0")["address"] == MAC  # bridge_hw: the NIC's MAC
    assert global_addresses(host, "br0") == addresses | {("10.0.0.1", 24)}
    assert global_addresses(host, nic) == set()
    found = set()
    for family in ("-4", "-6"):
        listed = json.loads(host.ip("-j", family, "route", "show", "dev", "br0").stdout or "[]")
        found |= {(family, r["dst"], r["gateway"]) for r in listed if "gateway" in r}
        on_port = json.loads(host.ip("-j", family, "route", "show", "dev", nic).stdout or "[]")
        assert [r for r in on_port if r.get("gateway") or r["dst"] == "default"] == []
    assert found == routes
