"""/etc/network/interfaces: the seed's `iface BR:0 inet static` stanza, never `auto BR:0`."""

from __future__ import annotations

import re

import pytest

from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError
from xenwizard.edits.interfaces import set_alias_stanza

SEED = WizardConfig()
OTHER = build_config(
    {"bridge": "xenbr1", "address": "172.16.4.1/22", "dhcp-range": "172.16.5.1-172.16.6.1"}
)
SEED_STANZA = (
    "iface br0:0 inet static\n  address 10.0.0.1\n  netmask 255.255.255.0\n  broadcast 10.0.0.255\n"
)


@pytest.fixture(scope="module")
def original(precise_root) -> str:
    return (precise_root / "etc/network/interfaces").read_text()


def test_fixture_gets_the_seed_stanza_in_a_block(original, ifquery):
    result = set_alias_stanza(original, SEED)
    assert result.text.startswith(original + "\n# BEGIN xenwizard\n")
    assert SEED_STANZA + "# END xenwizard\n" in result.text
    assert not re.search(r"^\s*(auto|allow-\S+)\s.*br0:0", result.text, re.MULTILINE)
    done = ifquery(result.text, "br0:0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == [
        "address: 10.0.0.1",
        "netmask: 255.255.255.0",
        "broadcast: 10.0.0.255",
    ]
    listed = ifquery(result.text, "--list")  # the interfaces ifup -a brings up
    assert listed.stdout.split() == ["lo", "eth0"]


def test_idempotent_with_a_note(original):
    once = set_alias_stanza(original, SEED).text
    again = set_alias_stanza(once, SEED)
    assert again.text == once
    assert again.notes[0].startswith("already set")


def test_rename_replaces_the_managed_stanza(original, ifquery):
    first = set_alias_stanza(original, SEED).text
    second = set_alias_stanza(first, OTHER)
    assert second.text == set_alias_stanza(original, OTHER).text
    assert "br0:0" not in second.text
    assert second.text.count("iface xenbr1:0 inet static") == 1
    done = ifquery(second.text, "xenbr1:0")
    assert "address: 172.16.4.1" in done.stdout
    assert "netmask: 255.255.252.0" in done.stdout
    assert "broadcast: 172.16.7.255" in done.stdout


def test_auto_and_allow_hotplug_lines_are_removed(ifquery):
    text = (
        "auto lo br0:0\n"
        "iface lo inet loopback\n"
        "\n"
        "allow-hotplug br0:0\n"
        "auto br0:0\n"
        "auto eth0\n"
        "iface eth0 inet dhcp\n"
    )
    result = set_alias_stanza(text, SEED)
    assert result.text.startswith("auto lo\niface lo inet loopback\n\nauto eth0\n")
    assert sum("removed" in n and "br0 does not exist" in n for n in result.notes) == 3
    assert ifquery(result.text, "--list").stdout.split() == ["lo", "eth0"]
    assert ifquery(result.text, "--list", "--allow=hotplug").stdout.split() == []


def test_hand_made_stanza_is_updated_in_place(ifquery):
    text = (
        "auto eth0\n"
        "iface eth0 inet dhcp\n"
        "\n"
        "# the guests' alias, set up by hand\n"
        "iface br0:0 inet static\n"
        "\taddress 10.0.0.254/24\n"
        "\tup echo alias up\n"
        "\n"
        "# trailing comment\n"
    )
    result = set_alias_stanza(text, SEED)
    assert result.text == (
        "auto eth0\n"
        "iface eth0 inet dhcp\n"
        "\n"
        "# the guests' alias, set up by hand\n"
        "iface br0:0 inet static\n"
        "\taddress 10.0.0.1\n"
        "\tnetmask 255.255.255.0\n"
        "\tbroadcast 10.0.0.255\n"
        "\tup echo alias up\n"
        "\n"
        "# trailing comment\n"
    )
    assert "BEGIN xenwizard" not in result.text
    assert set_alias_stanza(result.text, SEED).text == result.text
    assert "address: 10.0.0.1" in ifquery(result.text, "br0:0").stdout


def test_hand_made_stanza_with_another_method_and_duplicates():
    text = (
        "iface br0:0 inet manual\n  address 10.0.0.1\n  address 10.0.0.2\n  broadcast 10.0.0.255\n"
    )
    result = set_alias_stanza(text, SEED)
    assert result.text == SEED_STANZA.replace("  netmask 255.255.255.0\n", "") + (
        "  netmask 255.255.255.0\n"
    )
    notes = " ".join(result.notes)
    assert "changed from 'manual' to 'static'" in notes
    assert "second 'address'" in notes


def test_hand_made_stanza_replaces_an_older_block(original):
    managed = set_alias_stanza(original, SEED).text
    text = managed + "iface br0:0 inet dhcp\n"
    result = set_alias_stanza(text, SEED)
    assert "BEGIN xenwizard" not in result.text
    assert result.text.endswith(
        original + "\niface br0:0 inet static\n  address 10.0.0.1\n"
        "  netmask 255.255.255.0\n  broadcast 10.0.0.255\n"
    )


def test_inet6_stanza_for_the_alias_is_left_alone():
    text = "iface br0:0 inet6 static\n  address fd00::1/64\n"
    result = set_alias_stanza(text, SEED)
    assert result.text.startswith(text + "\n# BEGIN xenwizard\n")


def test_source_lines_are_kept_and_mentioned():
    text = "source /etc/network/interfaces.d/*\nsource-directory /etc/network/more.d\n"
    result = set_alias_stanza(text, SEED)
    assert result.text.startswith(text)
    assert sum("were not checked" in n for n in result.notes) == 2


def test_crlf_and_missing_final_newline(original):
    lf = set_alias_stanza(original, SEED).text
    assert set_alias_stanza(original.replace("\n", "\r\n"), SEED).text == lf.replace("\n", "\r\n")
    assert set_alias_stanza(original.rstrip("\n"), SEED).text == lf.rstrip("\n")


def test_empty_file_gets_just_the_block():
    text = set_alias_stanza("", SEED).text
    assert text.startswith("# BEGIN xenwizard\n") and text.endswith(
        SEED_STANZA + "# END xenwizard\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("iface br0:0 inet static\n  address 10.0.0.1\niface br0:0 inet dhcp\n", "two stanzas"),
        ("iface br0:0\n", "is incomplete"),
        ("iface br0:0 inet static\n  address \\\n    10.0.0.1\n", "line continuations"),
    ],
)
def test_shapes_it_cannot_handle_are_errors(text, message):
    with pytest.raises(EditError, match=message):
        set_alias_stanza(text, SEED)
