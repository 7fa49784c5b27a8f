"""xend-config.sxp: one network-bridge and one vif-bridge line for the chosen bridge."""

from __future__ import annotations

import pytest

from xenwizard.edits import EditError
from xenwizard.edits.sxp import active_settings, parse_sxp, set_bridge_scripts

WANT_NET = ["network-script", "network-bridge bridge=br0"]
WANT_VIF = ["vif-script", "vif-bridge bridge=br0"]


@pytest.fixture(scope="module")
def upstream(precise_root) -> str:
    return (precise_root / "etc/xen/xend-config.sxp").read_text()


def only_wanted(text: str, bridge: str = "br0") -> None:
    """Exactly one active setting of each kind, for `bridge`; the file still parses."""
    assert active_settings(text) == {
        "network-script": [["network-script", f"network-bridge bridge={bridge}"]],
        "vif-script": [["vif-script", f"vif-bridge bridge={bridge}"]],
    }


def test_fixture_upstream_shape(upstream):
    result = set_bridge_scripts(upstream, "br0")
    only_wanted(result.text)
    assert "# (network-script network-bridge)\n" in result.text
    assert "# (vif-script vif-bridge)\n" in result.text
    assert result.text.count("# BEGIN xenwizard") == 1
    assert any("commented out" in n and "network-script network-bridge" in n for n in result.notes)
    # Only the two disabled lines and the block differ.
    removed = set(upstream.splitlines()) - set(result.text.splitlines())
    assert removed == {"(network-script network-bridge)", "(vif-script vif-bridge)"}


def test_block_sits_right_after_the_last_disabled_line(upstream):
    lines = set_bridge_scripts(upstream, "br0").text.splitlines()
    at = lines.index("# (vif-script vif-bridge)")
    assert lines[at + 1 : at + 5] == [
        "# BEGIN xenwizard",
        "(network-script 'network-bridge bridge=br0')",
        "(vif-script 'vif-bridge bridge=br0')",
        "# END xenwizard",
    ]


def test_idempotent_with_a_note(upstream):
    once = set_bridge_scripts(upstream, "br0").text
    again = set_bridge_scripts(once, "br0")
    assert again.text == once
    assert again.notes and again.notes[0].startswith("already set")


def test_rename_updates_the_block_and_keeps_disabled_lines_disabled(upstream):
    first = set_bridge_scripts(upstream, "br0").text
    renamed = set_bridge_scripts(first, "xenbr7")
    only_wanted(renamed.text, "xenbr7")
    assert renamed.text == set_bridge_scripts(upstream, "xenbr7").text
    assert "updated xenwizard's block" in " ".join(renamed.notes)


def test_reference_upstream_and_debian_shapes(reference):
    for name in ("xen-4.1/xend-config.sxp", "older-packaging/xend-config.sxp.debian-4.8"):
        text = (reference / name).read_text()
        parse_sxp(text)  # the original parses
        result = set_bridge_scripts(text, "br0")
        only_wanted(result.text)
        assert set_bridge_scripts(result.text, "br0").text == result.text


def test_debian_shape_without_network_script_line():
    text = "# comment\n(xend-relocation-server no)\n(vif-script vif-bridge)\n(dom0-cpus 0)\n"
    result = set_bridge_scripts(text, "br0")
    only_wanted(result.text)
    assert result.text.startswith(
        "# comment\n(xend-relocation-server no)\n# (vif-script vif-bridge)\n"
    )
    assert result.text.endswith("# END xenwizard\n(dom0-cpus 0)\n")


def test_no_settings_at_all_appends_the_block():
    result = set_bridge_scripts("(dom0-cpus 0)", "br0")
    assert result.text == (
        "(dom0-cpus 0)\n\n# BEGIN xenwizard\n(network-script 'network-bridge bridge=br0')\n"
        "(vif-script 'vif-bridge bridge=br0')\n# END xenwizard"
    )


def test_hand_made_competitors_are_all_disabled_with_notes():
    text = (
        "(network-script network-route)\n"
        "  (vif-script vif-route)   # routed\n"
        "(network-script 'network-nat')\n"
        "#(vif-script vif-nat)\n"
    )
    result = set_bridge_scripts(text, "br0")
    only_wanted(result.text)
    assert "#   (vif-script vif-route)   # routed\n" in result.text
    assert "#(vif-script vif-nat)\n" in result.text  # already commented: untouched
    assert sum("commented out" in n for n in result.notes) == 3


def test_seed_lines_done_by_hand_are_kept():
    text = (
        "(network-script 'network-bridge bridge=br0')\n"
        "(vif-script 'vif-bridge  bridge=br0')\n"  # extra blank inside the string: same setting
    )
    result = set_bridge_scripts(text, "br0")
    assert result.text == text
    assert result.notes[0].startswith("already set")


def test_one_hand_made_line_kept_the_other_added():
    text = "(network-script 'network-bridge bridge=br0')\n(vif-script vif-bridge)\n"
    result = set_bridge_scripts(text, "br0")
    assert result.text.startswith("(network-script 'network-bridge bridge=br0')\n")
    only_wanted(result.text)
    assert (
        "(network-script 'network-bridge bridge=br0')"
        not in result.text.split("# BEGIN xenwizard")[1]
    )


def test_duplicate_of_a_block_line_outside_the_block_is_disabled(upstream):
    once = set_bridge_scripts(upstream, "br0").text
    tampered = once + "(vif-script 'vif-bridge bridge=br0')\n"
    result = set_bridge_scripts(tampered, "br0")
    only_wanted(result.text)
    assert result.text == once + "# (vif-script 'vif-bridge bridge=br0')\n"


def test_crlf_and_missing_final_newline(upstream):
    lf = set_bridge_scripts(upstream, "br0").text
    crlf = set_bridge_scripts(upstream.replace("\n", "\r\n"), "br0").text
    assert crlf == lf.replace("\n", "\r\n")
    bare = set_bridge_scripts(upstream.rstrip("\n"), "br0").text
    assert bare == lf.rstrip("\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(network-script\n  network-bridge)\n", "spans lines 1-2"),
        ("(dom0-cpus 0) (vif-script vif-bridge)\n", "another setting"),
        ("(vif-script vif-bridge\n", "never closed"),
        ("(vif-script vif-bridge))\n", "unbalanced"),
        ("(vif-script 'vif-bridge)\n", "string opened on line 1"),
    ],
)
def test_shapes_it_cannot_handle_are_errors(text, message):
    with pytest.raises(EditError, match=message):
        set_bridge_scripts(text, "br0")


def test_parse_sxp():
    text = "# c\n(a b 'c d' \"e\\\"f\")  # tail\n(x (y z))\n(h '#not a comment')"
    assert parse_sxp(text) == [["a", "b", "c d", 'e"f'], ["x", ["y", "z"]], ["h", "#not a comment"]]
    with pytest.raises(EditError):
        parse_sxp("(a (b)")
