"""netplan: xenwizard's own file takes the NIC's addressing; other files lose only what must go.

Every result here is also rendered by the real `netplan generate --root-dir` (when installed).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.kits import programs
from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, netplan
from xenwizard.edits import yamldoc as yaml
from xenwizard.planning.netcheck import netplan_generate

SUBIQUITY_STATIC = """# This is the network config written by 'subiquity'
network:
  ethernets:
    eno1:
      addresses:
      - 192.0.2.10/24
      nameservers:
        addresses:
        - 192.0.2.53
        search: []
      routes:
      - to: default
        via: 192.0.2.1
  version: 2
"""

CLOUD_INIT_DHCP = """# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.
network:
    ethernets:
        eno1:
            dhcp4: true
            match:
                macaddress: 52:54:00:8a:1c:02
            set-name: eno1
    version: 2
"""

TWO_NICS = """network:
  version: 2
  renderer: networkd
  ethernets:
    eno1:
      dhcp4: true
      mtu: 9000
      addresses: [192.0.2.10/24]
    eno2:
      dhcp4: false
"""

BRIDGE_FILE = "network:\n  bridges:\n    {name}:\n      interfaces: [eno1]\n"

INSTALLER = "etc/netplan/00-installer-config.yaml"
CLOUD = "etc/netplan/50-cloud-init.yaml"


def change(texts: dict[str, str], config: WizardConfig | None = None, nic: str = "eno1", mac=None):
    files = netplan.load_files(texts)
    return netplan.plan_change(files, config or WizardConfig(), nic, mac)


def after(texts: dict[str, str], result: netplan.NetplanChange) -> dict[str, str]:
    out = dict(texts)
    out.update({path: edit.text for path, edit in result.edits.items()})
    out[netplan.OWN_PATH] = result.own_text
    return out


def render(texts: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """networkd files from the real `netplan generate`; skips when netplan is not installed."""
    programs.require("netplan")
    done = netplan_generate(texts, tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "run/systemd/network"
    return {p.name: p.read_text() for p in sorted(out.iterdir())}


def test_dhcp_host_needs_no_edit_of_cloud_inits_file(tmp_path: Path) -> None:
    texts = {CLOUD: CLOUD_INIT_DHCP}
    result = change(texts)
    assert result.edits == {}
    own = yaml.parse(result.own_text).data()
    bridge = own["network"]["bridges"]["br0"]
    assert bridge["interfaces"] == ["eno1"]
    assert bridge["macaddress"] == "52:54:00:8a:1c:02"
    assert bridge["dhcp4"] == "true"
    assert bridge["addresses"] == ["10.0.0.1/24"]
    assert "parameters" not in bridge
    assert own["network"]["ethernets"]["eno1"] == {"dhcp4": "false", "dhcp6": "false"}
    files = render(after(texts, result), tmp_path)
    assert "MACAddress=52:54:00:8a:1c:02" in files["10-netplan-br0.netdev"]
    network = files["10-netplan-br0.network"]
    assert "DHCP=ipv4" in network and "Address=10.0.0.1/24" in network
    port = files["10-netplan-eno1.network"]
    assert "Bridge=br0" in port and "DHCP" not in port


def test_static_addresses_leave_the_installer_file(tmp_path: Path) -> None:
    texts = {INSTALLER: SUBIQUITY_STATIC}
    result = change(texts, mac="52:54:00:12:34:56")
    edited = result.edits[INSTALLER].text
    assert "# xenwizard: moved to /etc/netplan/90-xenwizard.yaml" in edited
    assert "  # ethernets:\n    # eno1:\n      # addresses:\n      # - 192.0.2.10/24\n" in edited
    assert edited.startswith("# This is the network config written by 'subiquity'\nnetwork:\n")
    assert edited.endswith("  version: 2\n")
    files = render(after(texts, result), tmp_path)
    network = files["10-netplan-br0.network"]
    for line in (
        "Address=192.0.2.10/24",
        "Address=10.0.0.1/24",
        "DNS=192.0.2.53",
        "Gateway=192.0.2.1",
    ):
        assert line in network
    assert "MACAddress=52:54:00:12:34:56" in files["10-netplan-br0.netdev"]
    assert "Address=" not in files["10-netplan-eno1.network"]


def test_only_list_keys_are_commented_and_link_settings_stay(tmp_path: Path) -> None:
    texts = {"etc/netplan/01-netcfg.yaml": TWO_NICS}
    result = change(texts)
    edited = result.edits["etc/netplan/01-netcfg.yaml"].text
    assert "      # addresses: [192.0.2.10/24]\n" in edited
    assert "      dhcp4: true\n      mtu: 9000\n" in edited  # overridden by our file, not edited
    assert "    eno2:\n      dhcp4: false\n" in edited
    files = render(after(texts, result), tmp_path)
    assert "MTUBytes=9000" in files["10-netplan-eno1.network"] or "MTUBytes=9000" in "".join(
        files.values()
    )
    assert "Address=192.0.2.10/24" in files["10-netplan-br0.network"]


def test_a_later_file_loses_its_scalars_too() -> None:
    texts = {
        CLOUD: CLOUD_INIT_DHCP,
        "etc/netplan/99-local.yaml": (
            "network:\n  ethernets:\n    eno1:\n      dhcp4: yes\n      optional: true\n"
        ),
    }
    result = change(texts)
    edited = result.edits["etc/netplan/99-local.yaml"].text
    assert "# ethernets:" in edited and "# dhcp4: yes" in edited
    assert "eno1" in yaml.parse(result.own_text).data()["network"]["ethernets"]


def test_flow_style_entry_is_commented_whole_and_its_link_keys_move() -> None:
    text = (
        "network:\n  version: 2\n  ethernets:\n"
        "    eno1: {match: {macaddress: '02:00:00:00:00:05'}, set-name: eno1,"
        " addresses: [192.0.2.4/24]}\n"
        "    eno2: {dhcp4: true}\n"
    )
    result = change({"etc/netplan/10-x.yaml": text})
    edited = result.edits["etc/netplan/10-x.yaml"].text
    assert "    # eno1: {match:" in edited and "    eno2: {dhcp4: true}" in edited
    nic = yaml.parse(result.own_text).data()["network"]["ethernets"]["eno1"]
    assert nic["match"] == {"macaddress": "02:00:00:00:00:05"} and nic["set-name"] == "eno1"
    assert 'macaddress: "02:00:00:00:00:05"' in result.own_text  # the bridge keeps the MAC


def test_idempotent_and_converges_on_a_new_bridge_and_subnet() -> None:
    texts = {INSTALLER: SUBIQUITY_STATIC}
    first = after(texts, change(texts))
    second = change(first)
    assert second.edits == {} and second.own_text == first[netplan.OWN_PATH]
    config = build_config(
        {
            "bridge": "xenbr7",
            "address": "192.168.77.1/25",
            "dhcp-range": "192.168.77.20-192.168.77.90",
        }
    )
    renamed = change(first, config)
    data = yaml.parse(renamed.own_text).data()["network"]["bridges"]
    assert list(data) == ["xenbr7"]
    assert data["xenbr7"]["addresses"] == ["192.0.2.10/24", "192.168.77.1/25"]


@pytest.mark.parametrize(
    ("texts", "nic", "message"),
    [
        ({CLOUD: CLOUD_INIT_DHCP}, "eno9", "no ethernet, bond or VLAN `eno9`"),
        (
            {
                CLOUD: CLOUD_INIT_DHCP,
                "etc/netplan/60-br.yaml": BRIDGE_FILE.format(name="br0").replace("eno1", "eno2"),
            },
            "eno1",
            "already defined",
        ),
        (
            {
                CLOUD: CLOUD_INIT_DHCP,
                "etc/netplan/60-br.yaml": BRIDGE_FILE.format(name="br0"),
            },
            "eno1",
            "already a port of bridge br0, which xenwizard did not write.*remove br0",
        ),
        (
            {
                CLOUD: CLOUD_INIT_DHCP,
                "etc/netplan/60-br.yaml": BRIDGE_FILE.format(name="xbr"),
            },
            "eno1",
            "already a port of bridge xbr",
        ),
        ({CLOUD: "network:\n\tethernets: {}\n"}, "eno1", "tab"),
        ({CLOUD: "- a\n- b\n"}, "eno1", "expected a mapping"),
    ],
    ids=[
        "unknown-nic",
        "bridge-taken",
        "bridge-of-the-nic",
        "port-elsewhere",
        "tab",
        "not-mapping",
    ],
)
def test_shapes_it_cannot_handle_are_named(texts, nic: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        change(texts, nic=nic)


def test_bridging_another_nic_asks_for_a_rollback_first() -> None:
    texts = {"etc/netplan/01-netcfg.yaml": TWO_NICS}
    first = after(texts, change(texts))
    with pytest.raises(EditError, match="roll that run back first"):
        change(first, nic="eno2")


def test_cloud_init_detection() -> None:
    assert netplan.written_by_cloud_init(CLOUD, CLOUD_INIT_DHCP)
    assert not netplan.written_by_cloud_init(INSTALLER, SUBIQUITY_STATIC)
    assert netplan.cloud_init_network_disabled({"x.cfg": "network: {config: disabled}\n"})
    assert netplan.cloud_init_network_disabled({"x.cfg": "network:\n  config: disabled\n"})
    assert not netplan.cloud_init_network_disabled({"x.cfg": "datasource_list: [ NoCloud ]\n"})


def test_candidates_and_mac() -> None:
    files = netplan.load_files({CLOUD: CLOUD_INIT_DHCP, "etc/netplan/01-x.yaml": TWO_NICS})
    assert netplan.candidates(files) == [
        ("eno1", True, False, "nic", None),
        ("eno2", False, False, "nic", None),
    ]
    assert netplan.nic_mac(files, "eno1") == "52:54:00:8a:1c:02"
    assert netplan.id_for_interface(files, "eno1") == "eno1"


# --- the reader ---------------------------------------------------------------------------------


def test_reader_matches_yaml_on_netplan_shapes() -> None:
    data = yaml.parse(SUBIQUITY_STATIC).data()
    assert data == {
        "network": {
            "ethernets": {
                "eno1": {
                    "addresses": ["192.0.2.10/24"],
                    "nameservers": {"addresses": ["192.0.2.53"], "search": []},
                    "routes": [{"to": "default", "via": "192.0.2.1"}],
                }
            },
            "version": "2",
        }
    }
    entry = yaml.entry_at(yaml.parse(SUBIQUITY_STATIC), "network", "ethernets", "eno1", "routes")
    assert (entry.start, entry.end) == (10, 13)


@pytest.mark.parametrize(
    "value", ["52:54:00:12:34:56", "10.0.0.1/24", "true", "yes", "2001:db8::1/64", "a b", "#x", ""]
)
def test_writer_round_trips_through_the_reader(value: str) -> None:
    text = "\n".join(yaml.dump({"k": value, "l": [value, yaml.Quoted(value)]})) + "\n"
    data = yaml.parse(text).data()
    assert data["k"] == value and data["l"] == [value, value]
    if ":" in value and value.replace(":", "").isdigit():
        assert '"' in text  # YAML 1.1 would read it as a base-60 number otherwise


def test_reader_keeps_quoting() -> None:
    data = yaml.parse("a: 'true'\nb: true\nc: \"x\\ty\"\n").data()
    assert isinstance(data["a"], yaml.Quoted) and not isinstance(data["b"], yaml.Quoted)
    assert data["c"] == "x\ty"


def test_reader_against_pyyaml() -> None:
    """The node reader gives what PyYAML's own loader gives, scalars as text (BaseLoader)."""
    import yaml as pyyaml

    def norm(v):
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return "" if v is None else str(v)

    for text in (SUBIQUITY_STATIC, CLOUD_INIT_DHCP, TWO_NICS, ANCHORED):
        assert norm(yaml.parse(text).data()) == norm(pyyaml.load(text, pyyaml.BaseLoader))


ANCHORED = """network:
  version: 2
  ethernets:
    eno1: &nic
      match:
        macaddress: "52:54:00:12:34:56"
      dhcp4: true
    eno2: *nic
"""


def test_anchors_and_aliases_are_read() -> None:
    data = yaml.parse(ANCHORED).data()
    assert data["network"]["ethernets"]["eno2"] == data["network"]["ethernets"]["eno1"]
    files = netplan.load_files({CLOUD: ANCHORED})
    change = netplan.plan_change(files, WizardConfig(), "eno1")
    assert "br0" in yaml.parse(change.own_text).data()["network"]["bridges"]


@pytest.mark.parametrize(
    "text",
    [
        "".join("  " * i + "a:\n" for i in range(3000)),
        "a: " + "[" * 3000 + "]" * 3000 + "\n",
        "".join("  " * i + "- \n" for i in range(3000)),
    ],
    ids=["block-mappings", "flow", "block-sequences"],
)
def test_absurd_nesting_is_one_line_quickly(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(EditError) as caught:
        netplan.load_files({CLOUD: text})
    assert time.monotonic() - started < 1
    assert "\n" not in str(caught.value) and str(caught.value).startswith(CLOUD)


def test_cloud_cfg_block_style_disabled_next_to_a_block_scalar() -> None:
    cfg = (
        "users:\n  - default\n"
        "bootcmd:\n  - |\n    echo one\n    echo two: three\n"
        "network:\n  config: disabled\n"
    )
    assert netplan.cloud_init_network_disabled({"etc/cloud/cloud.cfg": cfg})
    assert not netplan.cloud_init_network_disabled(
        {"etc/cloud/cloud.cfg": cfg.replace("disabled", "enabled")}
    )


def test_a_cloud_cfg_that_does_not_parse_disables_nothing() -> None:
    """cloud-init reads a file it cannot parse as empty, whatever words are in it; another file
    that parses still counts."""
    broken = "network: {config: disabled}\nbootcmd: [\n"
    assert not netplan.cloud_init_network_disabled({"etc/cloud/cloud.cfg.d/90.cfg": broken})
    assert netplan.cloud_init_network_disabled(
        {
            "etc/cloud/cloud.cfg.d/90.cfg": broken,
            "etc/cloud/cloud.cfg.d/99.cfg": "network:\n  config: disabled\n",
        }
    )


def test_netplan_rejects_what_we_refuse_too(tmp_path: Path) -> None:
    """Sanity of the harness: a broken file makes `netplan generate` fail with a message."""
    programs.require("netplan")
    done = netplan_generate(
        {"etc/netplan/1.yaml": "network:\n  bridges:\n    br0:\n      interfaces: [nope]\n"},
        tmp_path,
    )
    assert done.returncode != 0 and "nope" in done.stderr


VLANS = """\
network:
  version: 2
  ethernets:
    eno1:
      addresses: [192.0.2.10/24]
  vlans:
    vlan15:
      id: 15
      link: eno1
      addresses: [10.3.99.5/24]
"""


def test_a_vlan_on_the_nic_stays_on_the_port(tmp_path: Path) -> None:
    """netplan's examples/vlan.yaml: the VLAN keeps `link: eno1` — the kernel hands a bridge
    port's tagged frames to its VLANs before the bridge (net/core/dev.c,
    __netif_receive_skb_core: vlan_do_receive before rx_handler) — and the plan says so."""
    result = change({CLOUD: VLANS})
    assert any(n.startswith("vlan15 (VLANs on eno1) stay on eno1") for n in result.own_notes)
    assert "vlans" not in result.own_text
    programs.require("netplan")
    texts = {CLOUD: result.edits[CLOUD].text, netplan.OWN_PATH: result.own_text}
    assert "    eno1: {}\n  vlans:\n" in texts[CLOUD]  # before: `ethernets:` gone, and
    # netplan refused vlan15's `link: eno1` to an interface not defined yet
    done = netplan_generate(texts, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    port = (tmp_path / "out/run/systemd/network/10-netplan-eno1.network").read_text()
    assert "VLAN=vlan15" in port and "Bridge=br0" in port


def test_a_vrf_member_is_not_a_nic_to_bridge() -> None:
    files = netplan.load_files(
        {
            CLOUD: "network:\n  ethernets:\n    eno1:\n      dhcp4: true\n    eno2:\n"
            "      dhcp4: true\n  vrfs:\n    vrf1:\n      table: 1\n      interfaces: [eno2]\n"
        }
    )
    assert netplan.not_bridgeable(files)["eno2"] == "a port of the VRF vrf1"
    assert [c[0] for c in netplan.candidates(files)] == ["eno1"]


BOND = """network:
  version: 2
  ethernets:
    eno1: {}
    eno2: {}
  bonds:
    bond0:
      interfaces: [eno1, eno2]
      addresses: [192.0.2.10/24]
      routes:
        - to: default
          via: 192.0.2.1
      parameters:
        mode: active-backup
        mii-monitor-interval: 100
"""
VLAN_PORT = """network:
  version: 2
  ethernets:
    eno1:
      dhcp4: true
  vlans:
    eno1.10:
      id: 10
      link: eno1
      addresses: [198.51.100.10/24]
"""


@pytest.mark.parametrize("path", [INSTALLER, "etc/netplan/99-late.yaml"])
def test_a_bond_is_the_port_and_keeps_its_definition(path: str, tmp_path: Path) -> None:
    """Issue 25: the bond (not a member) is br0's port; its members and parameters stay; its
    address and route move to br0 (networkd's files from the real `netplan generate`), in a file
    that sorts before ours or after it; planning again changes nothing."""
    texts = {path: BOND}
    files = netplan.load_files(texts)
    assert [(c[0], c[3]) for c in netplan.candidates(files)] == [("bond0", "bond")]
    assert netplan.not_bridgeable(files)["eno1"] == "a port of the bond bond0"
    assert netplan.kernel_name(files, "bond0") == "bond0"
    assert netplan.id_for_interface(files, "bond0") == "bond0"
    result = change(texts, nic="bond0")
    assert any(n.startswith("bond0 is a bond (of eno1, eno2)") for n in result.own_notes)
    own = yaml.parse(result.own_text).data()["network"]
    assert own["bridges"]["br0"]["interfaces"] == ["bond0"]
    assert own["bonds"] == {"bond0": {"dhcp4": "false", "dhcp6": "false"}}
    assert "ethernets" not in own
    new = after(texts, result)
    assert "        mode: active-backup" in new[path] and "# addresses:" in new[path]
    out = render(new, tmp_path)
    assert "Kind=bond" in out["10-netplan-bond0.netdev"]
    assert "Mode=active-backup" in out["10-netplan-bond0.netdev"]
    for member in ("eno1", "eno2"):
        assert "Bond=bond0" in out[f"10-netplan-{member}.network"]
    port = out["10-netplan-bond0.network"]
    assert "Bridge=br0" in port and "Address=" not in port and "Gateway" not in port
    bridge = out["10-netplan-br0.network"]
    assert "Address=192.0.2.10/24" in bridge and "Address=10.0.0.1/24" in bridge
    assert "Gateway=192.0.2.1" in bridge
    again = change(new, nic="bond0")
    assert again.edits == {} and again.own_text == new[netplan.OWN_PATH]


def test_a_vlan_is_the_port_and_its_raw_device_keeps_its_own(tmp_path: Path) -> None:
    """Issue 25: the VLAN eno1.10 is br0's port with its id and link; eno1 keeps its DHCP;
    the VLAN's address moves to br0; the raw device is no second candidate."""
    texts = {CLOUD: VLAN_PORT}
    files = netplan.load_files(texts)
    assert [(c[0], c[3], c[4]) for c in netplan.candidates(files)] == [
        ("eno1", "nic", None),
        ("eno1.10", "vlan", "eno1"),
    ]
    result = change(texts, nic="eno1.10")
    own = yaml.parse(result.own_text).data()["network"]
    assert own["ethernets"] == {"eno1": {}}  # netplan wants the link defined before
    assert own["vlans"]["eno1.10"] == {
        "id": "10",
        "link": "eno1",
        "dhcp4": "false",
        "dhcp6": "false",
    }
    new = after(texts, result)
    out = render(new, tmp_path)
    assert "DHCP=ipv4" in out["10-netplan-eno1.network"]
    assert "VLAN=eno1.10" in out["10-netplan-eno1.network"]
    assert "Id=10" in out["10-netplan-eno1.10.netdev"]
    port = out["10-netplan-eno1.10.network"]
    assert "Bridge=br0" in port and "Address=" not in port
    assert "Address=198.51.100.10/24" in out["10-netplan-br0.network"]
    again = change(new, nic="eno1.10")
    assert again.edits == {} and again.own_text == new[netplan.OWN_PATH]
