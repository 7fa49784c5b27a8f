"""Every network file of the corpus (tests/fixtures/netcorpus, sources in its SOURCES.md)
planned as `xenwizard plan --root` plans it, against its expected outcome (issue 28).

A netplan file goes into a copy of the Ubuntu 24.04 fixture root (its etc/netplan replaced),
an interfaces(5) file into a copy of the Debian 12 root. The outcome is a plan bridging the
NIC the operator expects, or a one-line refusal naming why. A plan is checked for meaning:
the bridge's port is that NIC (never lo, a tunnel, a VRF, Wi-Fi); the real tool the plan ran
accepted it; every address the NIC had is on the bridge and none is left on the port; a moved
line names the bridge, not the NIC — for netplan by the real `netplan generate` output, for
ifupdown by the real `ifup --no-act` on the written file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, copy_root, plan_for
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import nftconfine
from xenwizard.edits.ifupdown import read
from xenwizard.edits.text import Doc
from xenwizard.planning.netcheck import netplan_generate
from xenwizard.planning.plan import Plan
from xenwizard.planning.profiles import PlanError

CORPUS = FIXTURES / "netcorpus"

# file -> ("plan", NIC) or ("refuse", a pattern the one-line refusal must match)
EXPECTED: dict[str, tuple[str, str]] = {
    # netplan's examples/ (canonical/netplan)
    # issue 25: a bond is the bridge's port (was refused: "enp3s0 is a port of the bond bond0")
    "netplan-examples/bonding.yaml": ("plan", "bond0"),
    # three addressed bonds (was: "enp2s0 is a port of the bond bond-lan"): which one is asked
    "netplan-examples/bonding_router.yaml": (
        "refuse",
        r"several NICs .*\(bond-lan, bond-wan, bond-conntrack\)",
    ),
    "netplan-examples/bridge.yaml": ("refuse", r"enp3s0 is a port of the bridge br0"),
    "netplan-examples/bridge_vlan.yaml": ("refuse", r"bridge br0 is already defined"),
    "netplan-examples/dhcp.yaml": ("plan", "enp3s0"),
    "netplan-examples/dhcp_wired8021x.yaml": ("plan", "enp3s0"),
    "netplan-examples/direct_connect_gateway.yaml": ("plan", "eth0"),
    "netplan-examples/direct_connect_gateway_ipv6.yaml": ("plan", "eth0"),
    "netplan-examples/dummy-devices.yaml": ("refuse", r"dm0 is a dummy device"),
    "netplan-examples/infiniband.yaml": ("refuse", r"ib0 selects its interface by MAC only"),
    "netplan-examples/ipv6_tunnel.yaml": ("plan", "eth0"),
    "netplan-examples/loopback_interface.yaml": ("refuse", r"no NIC .*lo is the loopback"),
    "netplan-examples/modem.yaml": ("refuse", r"cdc-wdm1 is a modem"),
    "netplan-examples/network_manager.yaml": ("refuse", r"no NIC configured .*found: none"),
    "netplan-examples/offload.yaml": ("plan", "ens1"),
    "netplan-examples/openvswitch.yaml": ("refuse", r"eth0 is a port of the bridge ovs0"),
    "netplan-examples/route_metric.yaml": ("refuse", r"several NICs .*\(enred, engreen\)"),
    "netplan-examples/source_routing.yaml": ("refuse", r"several NICs .*\(ens3, ens5\)"),
    "netplan-examples/sriov.yaml": ("refuse", r"several NICs .*\(enp1s16f1, vf1\)"),
    "netplan-examples/sriov_vlan.yaml": ("plan", "enp1s16f1"),
    "netplan-examples/static-routes.yaml": (
        "refuse",
        r"this machine's netplan.io \S+ is older than the target's 1\.1\.2.*advertised-mss",
    ),
    "netplan-examples/static.yaml": ("plan", "enp3s0"),
    "netplan-examples/static_multiaddress.yaml": ("plan", "enp3s0"),
    "netplan-examples/static_singlenic_multiip_multigateway.yaml": ("plan", "eno1"),
    "netplan-examples/virtual-ethernet.yaml": ("refuse", r"veth0-peer1 is a veth"),
    "netplan-examples/vlan.yaml": ("plan", "mainif"),
    "netplan-examples/vrf.yaml": ("refuse", r"vrf1005 is a VRF"),
    "netplan-examples/vxlan.yaml": ("refuse", r"lo is the loopback; vxlan1005 is a vxlan tunnel"),
    "netplan-examples/windows_dhcp_server.yaml": ("plan", "enp3s0"),
    "netplan-examples/wireguard.yaml": ("refuse", r"wg0 is a wireguard tunnel"),
    "netplan-examples/wireless.yaml": ("refuse", r"wlp2s0b1 is a Wi-Fi interface"),
    "netplan-examples/wireless_adhoc.yaml": ("refuse", r"wl0 is a Wi-Fi interface"),
    "netplan-examples/wireless_wpa3.yaml": ("refuse", r"wlp1s0 is a Wi-Fi interface"),
    "netplan-examples/wpa3_enterprise.yaml": ("refuse", r"wl0 is a Wi-Fi interface"),
    "netplan-examples/wpa_enterprise.yaml": ("refuse", r"wl0 is a Wi-Fi interface"),
    # cloud-init's ENI renderer (tests/unittests/net/network_configs.py)
    "cloud-init-eni/bond_v1.interfaces": ("plan", "bond0"),
    "cloud-init-eni/dhcpv6_only.interfaces": ("plan", "iface0"),
    "cloud-init-eni/dhcpv6_stateless.interfaces": ("plan", "iface0"),
    "cloud-init-eni/ipv6_slaac.interfaces": ("plan", "iface0"),
    "cloud-init-eni/large_v1.interfaces": ("refuse", r"several NICs .*\(eth5, ib0, bond0"),
    "cloud-init-eni/manual.interfaces": ("plan", "eth0"),
    "cloud-init-eni/small_v1.interfaces": ("plan", "eth99"),
    "cloud-init-eni/v1-dns.interfaces": ("plan", "interface0"),
    "cloud-init-eni/v1_ipv4_and_ipv6_static.interfaces": ("plan", "iface0"),
    "cloud-init-eni/v2-mixed-routes-no-ipv6-addr.interfaces": (
        "refuse",
        r"fails `ifup --no-act` already, before any change: .*missing required variable",
    ),
    "cloud-init-eni/v2-mixed-routes.interfaces": ("plan", "eth0"),
    "cloud-init-eni/v4_and_v6.interfaces": ("plan", "iface0"),
    "cloud-init-eni/wakeonlan_enabled.interfaces": ("plan", "iface0"),
    # Hetzner's installimage (network_config.functions.sh)
    "hetzner-installimage/dedicated.interfaces": ("plan", "enp0s31f6"),
    "hetzner-installimage/dedicated-netplan.yaml": ("plan", "enp0s31f6"),
    # debian-installer's netcfg (write_interface.c)
    "debian-installer/dhcp-slaac.interfaces": ("plan", "ens3"),
    "debian-installer/pointopoint.interfaces": ("plan", "eno1"),
    "debian-installer/static.interfaces": ("plan", "eno1"),
    "debian-installer/static-ipv6.interfaces": ("plan", "eno1"),
    "debian-installer/wireless.interfaces": ("refuse", r"wlp2s0 is a Wi-Fi interface"),
    # ifupdown's own test cases (tests/linux/testcase.N)
    "ifupdown-tests/testcase.1": ("refuse", r"several NICs .*\(eth0, eth1, eth2, eth3\)"),
    "ifupdown-tests/testcase.3": ("refuse", r"several NICs .*\(eth0, eth1\)"),
    "ifupdown-tests/testcase.5": ("plan", "eth0"),
    "ifupdown-tests/testcase.6": ("plan", "eth0"),
    # issue 25: eth0.1, a VLAN on the addressed eth0, is no second candidate (was refused:
    # "several NICs (eth0, eth0.1)")
    "ifupdown-tests/testcase.7": ("plan", "eth0"),
    "ifupdown-tests/testcase.8": ("refuse", r"several NICs .*\(eth1, eth2\.2\)"),
    "ifupdown-tests/testcase.11": ("plan", "eth0"),
    # the template `ethernet` (inherited) is no interface: not among the NICs
    "ifupdown-tests/testcase.16": ("refuse", r"several NICs .*\(eth0, eth1, eth2\);"),
    "ifupdown-tests/testcase.17": ("refuse", r"several NICs .*\(eth0, eth1, eth2\)"),
    "ifupdown-tests/testcase.19": ("refuse", r"found: none; tunnel1 is a tunnel; tunnel2"),
    # written here where no public file has the shape (SOURCES.md says why)
    "own/loopback-beside-nic.yaml": ("plan", "eno1"),
    "own/wired-8021x.interfaces": ("plan", "eno1"),
}
# What the plan must say beside the diff for some files.
WARNS = {
    "netplan-examples/dhcp_wired8021x.yaml": "enp3s0 authenticates to its switch with 802.1X",
    "own/wired-8021x.interfaces": "eno1 authenticates to its switch with 802.1X",
}


def test_the_table_covers_the_corpus() -> None:
    """Every corpus file has an expected outcome and a source line in SOURCES.md."""
    files = sorted(
        str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"
    )
    assert files == sorted(EXPECTED)
    sources = (CORPUS / "SOURCES.md").read_text()
    assert [f for f in files if f.split("/")[0] + "/" not in sources] == []
    assert len(files) >= 30


def target_root(tmp_path: Path, name: str) -> Path:
    source = CORPUS / name
    if source.suffix == ".yaml":
        root = copy_root(FIXTURES / "ubuntu-24.04-root", tmp_path / "root")
        for old in (root / "etc/netplan").iterdir():
            old.unlink()
        target = root / "etc/netplan" / source.name
        target.write_text(source.read_text())
        target.chmod(0o600)
    else:
        root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
        (root / "etc/network/interfaces").write_text(source.read_text())
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str, tmp_path: Path) -> None:
    kind, what = EXPECTED[name]
    netplan = name.endswith(".yaml")
    programs.require("netplan" if netplan else "ifup")
    root = target_root(tmp_path, name)
    if kind == "refuse":
        with pytest.raises(PlanError) as refused:
            plan_for(root)
        message = str(refused.value)
        assert "\n" not in message and "Traceback" not in message
        assert re.search(what, message), message
        return
    check_plan(name, root, plan_for(root), what, tmp_path)


def check_plan(name: str, root: Path, plan: Plan, what: str, tmp_path: Path) -> None:
    """The plan bridges `what`, the real tool accepted it, and it means what it should."""
    netplan = name.endswith(".yaml")
    (bridge,) = [s for s in plan.steps if s.id == "bridge"]
    assert bridge.title.startswith(f"bridge br0 on {what} ("), bridge.title
    assert any(n.startswith("checked with `") and ": accepted" in n for n in bridge.notes)
    for warning in [WARNS[name]] if name in WARNS else []:
        assert any(warning in w for w in plan.warnings), plan.warnings
    texts = {s.path: s.after for s in plan.file_steps() if s.after is not None}
    if netplan:
        netplan_meaning(root, texts, what, tmp_path)
    else:
        ifupdown_meaning(root, texts["etc/network/interfaces"], what, tmp_path)


def netplan_meaning(root: Path, texts: dict[str, str], nic: str, tmp_path: Path) -> None:
    """netplan generate's networkd files: the NIC is br0's port with no address of its own,
    br0 has every address the NIC had (and the guests'), the routes went with them."""
    before = {f"etc/netplan/{p.name}": p.read_text() for p in (root / "etc/netplan").iterdir()}
    after = {**before, **{p: t for p, t in texts.items() if p.startswith("etc/netplan/")}}
    old = generate(before, tmp_path / "before")
    new = generate(after, tmp_path / "after")
    port = new[f"10-netplan-{nic}.network"]
    assert "Bridge=br0" in port
    assert not re.search(r"^(Address|Gateway|DHCP=(ipv4|ipv6|yes))", port, re.M)
    bridge = new["10-netplan-br0.network"]
    was = old[f"10-netplan-{nic}.network"]
    for line in re.findall(r"^(?:Address|Gateway|Destination|DNS|DHCP)=.*$", was, re.M):
        assert line in bridge, (line, bridge)
    for line in re.findall(r"^VLAN=.*$", was, re.M):  # the kernel gives a port's tagged
        assert line in port, (line, port)  # frames to its VLANs before the bridge
    assert "Address=10.0.0.1/24" in bridge or "Address=10.0.1.1/24" in bridge


def generate(texts: dict[str, str], scratch: Path) -> dict[str, str]:
    done = netplan_generate(texts, scratch)
    assert done.returncode == 0, done.stderr
    out = scratch / "run/systemd/network"
    return {p.name: p.read_text() for p in out.iterdir()}


def stanzas(text: str) -> list[tuple[str, str, str, list[str]]]:
    lines = Doc.parse(text).lines
    return [
        (s.name, s.family, s.method, [lines[i].body.strip() for i in s.options])
        for s in read(lines).stanzas
    ]


def ifupdown_meaning(root: Path, after: str, nic: str, tmp_path: Path) -> None:
    """The NIC keeps only `manual` stanzas with link options; br0 holds every option the NIC's
    addressed stanzas had, with the NIC's name replaced; the real `ifup --no-act` brings br0
    up with commands that never name the NIC but in bridge_ports."""
    before = stanzas((root / "etc/network/interfaces").read_text())
    now = stanzas(after)
    assert all(m == "manual" for n, _, m, _ in now if n == nic)
    bridge_options = [o for n, _, _, opts in now if n == "br0" for o in opts]
    assert f"bridge_ports {nic}" in bridge_options
    for name, _, method, options in before:
        if name != nic or method == "manual":
            continue
        for option in options:
            if option.startswith(("address", "gateway", "netmask", "post-up", "up ", "pre-down")):
                expected = re.sub(rf"(?<![\w:-]){re.escape(nic)}(?![\w-]|\.\d)", "br0", option)
                assert expected in bridge_options, (option, bridge_options)
    assert not [o for o in bridge_options if nic in o and not o.startswith("bridge_ports")]
    ifup = programs.require("ifup")
    path = tmp_path / "interfaces"
    path.write_text(re.sub(r"^source .*$", "", after, flags=re.M))
    done = subprocess.run(
        [ifup, "--no-act", "--state-dir", str(tmp_path), "-i", str(path), "br0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    commands = [line for line in (done.stdout + done.stderr).splitlines() if nic in line]
    assert [c for c in commands if re.search(r"\broute\b.*\bdev\s+" + re.escape(nic), c)] == []


@pytest.mark.parametrize(
    ("name", "nic", "message"),
    [
        ("netplan-examples/bonding.yaml", "enp3s0", "enp3s0 is a port of the bond bond0"),
        ("netplan-examples/loopback_interface.yaml", "lo", "lo is the loopback interface"),
        ("ifupdown-tests/testcase.19", "tunnel1", "tunnel1 is a tunnel in etc/network/interfaces"),
        # issue 25: a bond's member, another bridge's port, Wi-Fi stay refused, with the reason
        ("cloud-init-eni/large_v1.interfaces", "eth1", "eth1 is a member of the bond bond0"),
        ("cloud-init-eni/large_v1.interfaces", "eth3", "eth3 is a port of the bridge br0"),
        ("netplan-examples/bridge_vlan.yaml", "vlan15", "vlan15 is a port of the bridge br0"),
        ("netplan-examples/wireless.yaml", "wlp2s0b1", "wlp2s0b1 is a wireless interface"),
    ],
)
def test_a_nic_named_that_is_not_one_is_refused(
    name: str, nic: str, message: str, tmp_path: Path
) -> None:
    """--nic naming the loopback, a bond's port or a tunnel: one line saying what it is."""
    from tests.kits.helpers import run_cli

    root = target_root(tmp_path, name)
    done = run_cli("plan", "--root", str(root), "--skip-packages", "--nic", nic)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


# A bond or a VLAN the operator names (issue 25): the bridge takes it as its port, its own
# definition (members, parameters, id, raw device) stays, and ifupdown gets ifenslave for a bond
# (a VLAN named RAW.ID, as every one here is, ifupdown makes without the vlan package).
CHOSEN = [
    ("netplan-examples/bonding_router.yaml", "bond-wan", "bond"),
    ("netplan-examples/vlan.yaml", "vlan15", "vlan"),
    ("cloud-init-eni/large_v1.interfaces", "bond0.200", "vlan"),  # a VLAN on a bond
    ("ifupdown-tests/testcase.7", "eth0.1", "vlan"),
    ("ifupdown-tests/testcase.8", "eth2.2", "vlan"),
    ("cloud-init-eni/bond_v1.interfaces", "bond0", "bond"),
]


@pytest.mark.parametrize(("name", "nic", "kind"), CHOSEN)
def test_a_bond_or_vlan_named_is_the_port(name: str, nic: str, kind: str, tmp_path: Path) -> None:
    netplan = name.endswith(".yaml")
    programs.require("netplan" if netplan else "ifup")
    root = target_root(tmp_path, name)
    bridge = "xbr0" if name.endswith("large_v1.interfaces") else "br0"  # br0 is taken there
    plan = plan_for(root, WizardConfig(nic=nic, bridge=bridge))
    (step,) = [s for s in plan.steps if s.id == "bridge"]
    assert step.title.startswith(f"bridge {bridge} on {nic} ("), step.title
    assert any(n.startswith("checked with `") and ": accepted" in n for n in step.notes)
    if bridge == "br0":
        check_plan(name, root, plan, nic, tmp_path)
    (packages,) = [s for s in plan.steps if s.id == "packages"]
    wanted = {"bond": "ifenslave"}.get(kind)  # ifupdown makes RAW.ID VLANs itself
    for package in ("ifenslave", "vlan"):
        needed = package == wanted and not netplan
        assert (package in packages.packages) == needed, (package, packages.packages)
    texts = {s.path: s.after for s in plan.file_steps() if s.after is not None}
    confine = texts[nftconfine.RULES_PATH]  # the confinement names the port, not a member
    assert f'"{nic}"' in confine, confine
    if not netplan:
        after = texts["etc/network/interfaces"]
        heads = [line for line in after.splitlines() if line.startswith(f"iface {nic} ")]
        assert heads and all(h.endswith(" manual") for h in heads), heads
        before = (root / "etc/network/interfaces").read_text()
        kept = [line for line in before.splitlines() if line.strip().startswith(("bond", "vlan"))]
        assert all(line in after.splitlines() for line in kept), kept
