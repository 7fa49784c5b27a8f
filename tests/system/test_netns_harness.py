"""The namespace harness itself: cleanup, unique names, and the pieces the Debian 12 layout needs
(a bridge made by the real ifup from `bridge_ports`, a vif-post.d hook sourced like vif-bridge)."""

from __future__ import annotations

import json
import os

import pytest

from tests.kits.netns import (
    ETHTOOL,
    IFUP,
    RUN_TAG,
    Ifupdown,
    Lab,
    NetnsError,
    add_bridge,
    add_veth,
    leftovers,
    offload,
    skip_unless_netns,
    source_vif_hook,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]


@pytest.fixture
def lab(request: pytest.FixtureRequest):
    skip_unless_netns(IFUP, ETHTOOL)
    with Lab(request.node.name) as the_lab:
        yield the_lab


def test_lab_close_removes_namespaces_processes_and_files() -> None:
    skip_unless_netns()
    lab = Lab("cleanup")
    host = lab.namespace("host")
    add_bridge(host, "br0", address="198.51.100.2/24")
    proc = host.popen(["sleep", "60"], "sleep")
    # a daemon that forked away from us is found through the namespace too
    host.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 &"])
    assert len(host.pids()) == 2
    assert lab.dir.is_dir()
    lab.close()
    assert proc.poll() is not None
    assert not lab.dir.exists()
    assert leftovers(lab.tag) == []
    assert host.name not in os.listdir("/run/netns")


def test_lab_is_cleaned_up_when_the_test_body_fails() -> None:
    skip_unless_netns()
    with pytest.raises(ZeroDivisionError), Lab("failing") as lab:
        lab.namespace("host")
        1 / 0  # noqa: B018
    assert leftovers(lab.tag) == []


def test_names_are_unique_per_run_and_per_lab() -> None:
    skip_unless_netns()
    with Lab("a") as first, Lab("b") as second:
        assert first.tag != second.tag
        assert first.tag.startswith(RUN_TAG) and second.tag.startswith(RUN_TAG)
        assert str(os.getpid()) in RUN_TAG


def test_interfaces_never_appear_in_the_root_namespace(lab: Lab) -> None:
    host, guest = lab.namespace("host"), lab.namespace("guest")
    add_bridge(host, "br0")
    add_veth(host, "vif1.0", guest, "eth0", mac="00:16:3e:00:00:09", master="br0")
    assert "vif1.0" not in os.listdir("/sys/class/net")
    assert guest.link("eth0")["address"] == "00:16:3e:00:00:09"
    assert host.link("vif1.0")["master"] == "br0"
    with pytest.raises(NetnsError):
        host.ip("link", "show", "dev", "no-such-dev")


def test_ifup_makes_a_bridge_from_bridge_ports(lab: Lab) -> None:
    """Debian 12's layout: `auto br0` with `bridge_ports eno1`, a veth standing in for eno1."""
    host, lan = lab.namespace("host"), lab.namespace("lan")
    add_veth(host, "eno1", lan, "lan0")
    interfaces = lab.path("interfaces")
    interfaces.write_text(
        "auto lo\niface lo inet loopback\n\n"
        "iface eno1 inet manual\n\n"
        "auto br0\niface br0 inet static\n    address 198.51.100.2/24\n"
        "    bridge_ports eno1\n    bridge_hw 02:00:00:00:00:01\n\n"
        "iface br0 inet static\n    address 10.0.0.1/24\n"
    )
    ifupdown = Ifupdown(host, lab.workdir("ifupdown"), interfaces)
    ifupdown.ifup("br0")
    assert json.loads(host.ip("-j", "link", "show", "master", "br0").stdout)[0]["ifname"] == "eno1"
    assert host.link("br0")["address"] == "02:00:00:00:00:01"
    assert {(a["local"], a["prefixlen"], a["label"]) for a in host.addresses("br0")} == {
        ("198.51.100.2", 24, "br0"),
        ("10.0.0.1", 24, "br0"),
    }
    ifupdown.ifdown("br0")
    assert host.link("br0") is None


def test_a_vif_post_hook_is_sourced_like_vif_bridge_does(lab: Lab) -> None:
    host, guest = lab.namespace("host"), lab.namespace("guest")
    add_bridge(host, "br0")
    add_veth(host, "vif1.0", guest, "eth0", master="br0")
    hook = lab.path("hooks", "xenwizard-udp-checksum.hook")
    hook.write_text('case "$command" in\n    online|add) ethtool -K "$dev" tx off ;;\nesac\n')
    source_vif_hook(host, hook, dev="vif1.0", bridge="br0", command="offline")
    assert offload(host, "vif1.0")["tx-checksumming"] == "on"
    source_vif_hook(host, hook, dev="vif1.0", bridge="br0", command="online")
    assert offload(host, "vif1.0")["tx-checksumming"] == "off"
