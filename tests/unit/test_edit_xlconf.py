"""xl.conf: an active vif.default.bridge for the bridge and autoballoon off, minimal and
convergent."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenwizard.edits.xlconf import autoballoon, default_bridge, set_defaults

# Shaped like Debian 12's /etc/xen/xl.conf (xen-utils-common 4.17), shortened.
XL_CONF = """## Global XL config file ##

# Control whether dom0 is ballooned down when xen doesn't have enough
# free memory to create a domain.  "auto" means only balloon if dom0
# starts with all the host's memory.
#autoballoon="auto"

# default vif script to use if none is specified in the guest config
#vif.default.script="vif-bridge"

# default bridge device to use with vif-bridge hotplug scripts
#vif.default.bridge="xenbr0"

# Reserve a claim of memory when launching a guest.
#claim_mode=1
"""
BLOCK = '# BEGIN xenwizard\nvif.default.bridge="br0"\nautoballoon="off"\n# END xenwizard\n'


def test_block_goes_under_the_commented_default_and_nothing_else_changes() -> None:
    result = set_defaults(XL_CONF, "br0")
    lines = result.text.splitlines()
    at = lines.index('#vif.default.bridge="xenbr0"')
    assert lines[at + 1 : at + 5] == BLOCK.splitlines()
    assert result.text.replace(BLOCK, "") == XL_CONF
    assert default_bridge(result.text) == "br0"
    assert autoballoon(result.text) == "off"
    assert autoballoon(XL_CONF) is None  # the shipped file leaves it to xl's "auto"
    assert any("under the commented default" in n for n in result.notes)


def test_idempotent_and_a_new_bridge_name_updates_the_block() -> None:
    once = set_defaults(XL_CONF, "br0").text
    assert set_defaults(once, "br0").text == once
    renamed = set_defaults(once, "xenbr7").text
    assert renamed.count("vif.default.bridge=") == 2  # the commented default and ours
    assert default_bridge(renamed) == "xenbr7"
    assert renamed == once.replace('"br0"', '"xenbr7"')
    assert renamed.count('autoballoon="off"') == 1


def test_competing_lines_are_commented_out_with_a_note() -> None:
    text = XL_CONF + 'vif.default.bridge="xenbr0"\nvif.default.script="vif-route"\n'
    result = set_defaults(text, "br0")
    assert '# vif.default.bridge="xenbr0"' in result.text
    assert '# vif.default.script="vif-route"' in result.text
    assert default_bridge(result.text) == "br0"
    assert sum("commented out" in n for n in result.notes) == 2


def test_vif_bridge_script_line_is_kept() -> None:
    text = XL_CONF + 'vif.default.script="vif-bridge"\n'
    assert 'vif.default.script="vif-bridge"\n' in set_defaults(text, "br0").text


def test_competing_autoballoon_is_commented_out_with_a_note() -> None:
    """An active autoballoon="on" (or "auto") would let xl shrink dom0 for a guest."""
    for value in ("on", "auto", "1"):
        text = XL_CONF + f'autoballoon="{value}"\n'
        result = set_defaults(text, "br0")
        assert f'# autoballoon="{value}"' in result.text
        assert autoballoon(result.text) == "off"
        assert any(f'autoballoon="{value}"` commented out' in n for n in result.notes)


def test_an_existing_matching_pair_means_no_change() -> None:
    text = XL_CONF + 'vif.default.bridge="br0"\nautoballoon="off"\n'
    result = set_defaults(text, "br0")
    assert result.text == text
    assert result.notes[0].startswith("already set")


def test_the_bridge_line_alone_is_not_enough() -> None:
    """The bridge set by hand but ballooning left to xl: both go into the block."""
    text = XL_CONF + 'vif.default.bridge="br0"\n'
    result = set_defaults(text, "br0")
    assert '# vif.default.bridge="br0"' in result.text
    assert BLOCK in result.text
    assert (default_bridge(result.text), autoballoon(result.text)) == ("br0", "off")


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment", XL_CONF.replace("\n", "\r\n"), XL_CONF.rstrip("\n")],
    ids=["empty", "no-final-newline-comment", "crlf", "no-final-newline"],
)
def test_odd_shapes_keep_their_bytes(text: str) -> None:
    result = set_defaults(text, "br0")
    assert default_bridge(result.text) == "br0"
    assert set_defaults(result.text, "br0").text == result.text
    if "\r\n" in text:
        assert result.text.count("\r\n") == result.text.count("\n")
    if text and not text.endswith("\n"):
        assert not result.text.endswith("\n")


def test_missing_file_is_created() -> None:
    result = set_defaults(None, "br0")
    assert default_bridge(result.text) == "br0"
    assert autoballoon(result.text) == "off"
    assert "missing" in result.notes[0]


def test_the_shipped_debian_12_file(reference: Path) -> None:
    text = (reference / "debian-12/xl.conf").read_text()
    result = set_defaults(text, "br0")
    added = [line for line in result.text.splitlines() if line not in text.splitlines()]
    assert added == BLOCK.splitlines()
    assert '#autoballoon="auto"' in text  # the shipped default: xl decides from dom0_mem
