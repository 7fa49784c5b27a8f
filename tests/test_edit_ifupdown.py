"""The one interfaces(5) reader, and the three users of it agreeing on where stanzas end."""

from __future__ import annotations

import ipaddress

import pytest

from xenwizard.config import WizardConfig
from xenwizard.edits import EditError, ifupdown, ifupdown_bridge, interfaces
from xenwizard.edits.text import Doc
from xenwizard.probe import parse_ifupdown_addresses


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
