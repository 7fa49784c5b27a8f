"""The one interfaces(5) reader, and the three users of it agreeing on where stanzas end."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, copy_root
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, ifupdown, ifupdown_bridge, interfaces
from xenwizard.edits.text import Doc
from xenwizard.planning import netcheck
from xenwizard.planning.profiles import PlanError, make_plan
from xenwizard.target.probe import parse_ifupdown_addresses, probe
from xenwizard.target.rootfs import RootFS


def test_reader_stanzas_marks_sources() -> None:
    text = (
        "source /etc/network/interfaces.d/*\n"
        "auto lo eth0\n"
        "iface lo inet loopback\n"
        "# a comment\n"
        "iface eth0 inet static\n"
        "\taddress 192.0.2.5/24\n"
        "allow-hotplug eth1\n"
        "iface eth1\n"
        "source-directory /etc/network/more.d\n"
    )
    lines = Doc.parse(text).lines
    parsed = ifupdown.read(lines)
    assert [(s.name, s.family, s.method, s.options) for s in parsed.stanzas] == [
        ("lo", "inet", "loopback", []),
        ("eth0", "inet", "static", [5]),
        ("eth1", "", "", []),
    ]
    assert not parsed.stanzas[2].complete
    assert parsed.marks == [(1, "auto", ["lo", "eth0"]), (6, "allow-hotplug", ["eth1"])]
    assert [(i, k) for i, k, _ in parsed.sources] == [(0, "source"), (8, "source-directory")]


@pytest.mark.parametrize("starter", [*sorted(ifupdown.STARTERS - {"iface"}), "allow-ovs"])
def test_every_starter_ends_the_stanza_for_all_readers(starter: str) -> None:
    """A line after `starter` belongs to no stanza: the probe, the alias edit and the bridge
    edit all see it that way."""
    text = (
        "iface eth0 inet static\n"
        "  address 192.0.2.5/24\n"
        f"{starter} x\n"
        "  address 198.51.100.9/24\n"
        "iface br0:0 inet static\n"
        "  address 10.0.0.1/24\n"
    )
    assert parse_ifupdown_addresses(text) == (
        ("eth0", ipaddress.IPv4Interface("192.0.2.5/24")),
        ("br0:0", ipaddress.IPv4Interface("10.0.0.1/24")),
    )
    lines = Doc.parse(text).lines
    assert ifupdown_bridge.parse(lines).stanzas[0].options == [1]
    out = interfaces.set_alias_stanza(text, WizardConfig()).text
    assert "198.51.100.9" in out and out.count("address 10.0.0.1") == 1


def test_bridge_edit_refuses_continuations_and_incomplete_heads() -> None:
    with pytest.raises(EditError, match="continues on the next line"):
        ifupdown_bridge.parse(Doc.parse("iface eth0 inet dhcp \\\n  mtu 9000\n").lines)
    with pytest.raises(EditError, match="expected 'iface NAME FAMILY METHOD'"):
        ifupdown_bridge.parse(Doc.parse("iface eth0 inet\n").lines)


# --- sourced files ------------------------------------------------------------------------------

CLOUD_MAIN = (
    "# interfaces(5) of a Debian cloud image\n"
    "auto lo\n"
    "iface lo inet loopback\n"
    "\n"
    "source-directory /etc/network/interfaces.d\n"
)
CLOUD_NIC = "auto eno1\nallow-hotplug eno1\niface eno1 inet dhcp\n"


def _root(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


def test_load_follows_source_and_source_directory(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {
            "etc/network/interfaces": "source interfaces.d/*.cfg\nsource-directory more.d\n",
            "etc/network/interfaces.d/b.cfg": "iface b inet manual\n",
            "etc/network/interfaces.d/a.cfg": "source /etc/network/nested\n",
            "etc/network/interfaces.d/skip.txt": "iface skip inet manual\n",
            "etc/network/nested": "iface nested inet manual\n",
            "etc/network/more.d/10-x": "iface x inet manual\n",
            "etc/network/more.d/bad.name": "iface bad inet manual\n",  # not a run-parts name
        },
    )
    assert list(ifupdown.load(RootFS(root))) == [
        "etc/network/interfaces",
        "etc/network/interfaces.d/a.cfg",
        "etc/network/nested",
        "etc/network/interfaces.d/b.cfg",
        "etc/network/more.d/10-x",
    ]


def test_source_loop_and_size_are_one_line_errors(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {
            "etc/network/interfaces": "source /etc/network/interfaces.d/*\n",
            "etc/network/interfaces.d/loop": "source /etc/network/interfaces\n",
        },
    )
    started = time.monotonic()
    with pytest.raises(EditError, match="sources itself again") as caught:
        ifupdown.load(RootFS(root))
    assert "\n" not in str(caught.value) and time.monotonic() - started < 1
    (root / "etc/network/interfaces").write_text("#" * (ifupdown.MAX_CHARS + 1))
    with pytest.raises(EditError, match="characters; expected an interfaces file under"):
        ifupdown.load(RootFS(root))
    assert probe(RootFS(root), live=False).configured_addresses == ()


def test_nic_in_interfaces_d_is_edited_there(tmp_path: Path) -> None:
    """A Debian cloud image: the NIC's stanza is in interfaces.d/50-cloud-init; the bridge
    step edits that file, the preview shows its diff, and the main file stays as it was."""
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    (root / "etc/network/interfaces").write_text(CLOUD_MAIN)
    (root / "etc/network/interfaces.d/50-cloud-init").write_text(CLOUD_NIC)
    fs = RootFS(root)
    facts = probe(fs, live=False)
    plan = make_plan(WizardConfig(), facts, fs)
    bridge = next(s for s in plan.steps if s.id == "bridge")
    assert bridge.path == "etc/network/interfaces.d/50-cloud-init"
    assert bridge.before == CLOUD_NIC
    assert "iface eno1 inet manual" in bridge.after and "bridge_ports eno1" in bridge.after
    assert not any(getattr(s, "path", None) == "etc/network/interfaces" for s in plan.steps)
    assert any("edited there" in note for note in bridge.notes)
    if netcheck.find_program("ifup"):  # checked as the tree the plan leaves: main + the edit
        assert "checked with `ifup --no-act`: accepted" in bridge.notes
    assert "50-cloud-init" in bridge.diff() and "+    bridge_ports eno1" in bridge.diff()


def test_loop_in_sources_refuses_the_plan_in_one_line(tmp_path: Path) -> None:
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    (root / "etc/network/interfaces").write_text(CLOUD_MAIN)
    (root / "etc/network/interfaces.d/50-cloud-init").write_text(
        CLOUD_NIC + "source-directory /etc/network/interfaces.d\n"
    )
    fs = RootFS(root)
    with pytest.raises(PlanError, match="sources itself again") as caught:
        make_plan(WizardConfig(), probe(fs, live=False), fs)
    assert "\n" not in str(caught.value)


def test_probe_survives_a_sourced_file_leaving_the_root(tmp_path: Path) -> None:
    root = _root(
        tmp_path / "root",
        {
            "etc/network/interfaces": (
                "source /etc/network/interfaces.d/*\n"
                "iface eth0 inet static\n  address 192.0.2.5/24\n"
            ),
        },
    )
    (tmp_path / "outside").write_text("iface x inet manual\n")
    (root / "etc/network/interfaces.d").mkdir()
    (root / "etc/network/interfaces.d/escape").symlink_to(tmp_path / "outside")
    assert probe(RootFS(root), live=False).configured_addresses == (
        ("eth0", ipaddress.IPv4Interface("192.0.2.5/24")),
    )


def test_ifup_check_of_a_sourced_edit_with_an_empty_source_directory_too(tmp_path: Path) -> None:
    """interfaces.d/ holds the NIC, more.d/ is empty: ifup accepts the copy of the tree."""
    programs.require("ifup")
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    (root / "etc/network/interfaces").write_text(
        CLOUD_MAIN + "source-directory /etc/network/more.d\n"
    )
    (root / "etc/network/more.d").mkdir()
    (root / "etc/network/interfaces.d/50-cloud-init").write_text(CLOUD_NIC)
    fs = RootFS(root)
    plan = make_plan(WizardConfig(), probe(fs, live=False), fs)
    bridge = next(s for s in plan.steps if s.id == "bridge")
    assert "checked with `ifup --no-act`: accepted" in bridge.notes
