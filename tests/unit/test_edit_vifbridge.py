"""vif-bridge: `ethtool -K ${dev} tx off` after add_to_bridge in the online section only."""

from __future__ import annotations

import pytest

from tests.kits.helpers import unpacked_debian_package
from xenwizard.edits import EditError
from xenwizard.edits.vifbridge import MARK, add_ethtool_line

ADDED = "        ethtool -K ${dev} tx off || true  # xenwizard: UDP checksum workaround"


@pytest.fixture(scope="module")
def original(precise_root) -> str:
    return (precise_root / "etc/xen/scripts/vif-bridge").read_text()


def section(text: str, pattern: str) -> list[str]:
    """The lines of one case section, from its pattern line to its `;;`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == pattern)
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == ";;")
    return lines[start : end + 1]


def test_xen_41_shape(original, shell_ok):
    result = add_ethtool_line(original)
    assert section(result.text, "online)") == [
        "    online)",
        '        setup_bridge_port "$dev"',
        '        add_to_bridge "$bridge" "$dev"',
        ADDED,
        "        ;;",
    ]
    assert section(result.text, "add)") == section(original, "add)")  # the HVM section: untouched
    assert result.text.count(MARK) == 1
    assert len(result.text.splitlines()) == len(original.splitlines()) + 1
    assert any("|| true" in n for n in result.notes)
    shell_ok(result.text)


def test_idempotent_with_a_note(original):
    once = add_ethtool_line(original).text
    again = add_ethtool_line(once)
    assert again.text == once
    assert again.notes[0].startswith("already set")


CURRENT_SHAPE = """#!/bin/bash
dir=$(dirname "$0")
. "$dir/vif-common.sh"

case "$command" in
    add|online)
        setup_virtual_bridge_port "$dev"
        set_mtu "$bridge" "$dev" "$type_if"
        add_to_bridge "$bridge" "$dev"
        ;;
    remove|offline)
        remove_from_bridge "$bridge" "$dev"
        ;;
esac

call_hooks vif post
"""


def test_current_xen_shape(shell_ok):
    result = add_ethtool_line(CURRENT_SHAPE)
    assert section(result.text, "add|online)")[-2:] == [ADDED, "        ;;"]
    shell_ok(result.text)


@pytest.fixture(scope="module")
def debian12_vif_bridge(tmp_path_factory) -> str:
    """The real Debian 12 script, from the xen-utils-common package (fetched with apt-get)."""
    unpacked = unpacked_debian_package("xen-utils-common", tmp_path_factory.mktemp("xen-utils"))
    script = unpacked / "etc/xen/scripts/vif-bridge"
    if not script.is_file():
        pytest.skip("xen-utils-common has no /etc/xen/scripts/vif-bridge")
    return script.read_text()


def test_real_debian_12_script(debian12_vif_bridge, shell_ok):
    result = add_ethtool_line(debian12_vif_bridge)
    assert result.text.count(MARK) == 1
    online = next(line for line in result.text.splitlines() if "online)" in line)
    assert section(result.text, online.strip())[-2].endswith(MARK)
    shell_ok(result.text)
    assert add_ethtool_line(result.text).text == result.text


def test_hand_made_line_counts_as_done(original):
    text = original.replace(
        '        add_to_bridge "$bridge" "$dev"\n        ;;\n\n    offline)',
        '        add_to_bridge "$bridge" "$dev"\n        ethtool -K "$dev" tx off\n        ;;\n\n'
        "    offline)",
    )
    assert text != original
    result = add_ethtool_line(text)
    assert result.text == text
    assert result.notes[0].startswith("already set")


def test_misplaced_managed_line_is_moved(original):
    text = original.replace(
        "    offline)\n", f"    offline)\n        ethtool -K ${{dev}} tx off  {MARK}\n"
    )
    result = add_ethtool_line(text)
    assert result.text == add_ethtool_line(original).text
    assert any("stale" in n for n in result.notes)


def test_nested_case_and_comments_in_sections(shell_ok):
    text = """case "$command" in
    # plugging
    'online')
        case "$type_if" in
            tap) x=1 ;;
            *) x=2 ;;
        esac
        if [ "$x" = 1 ]; then
            add_to_bridge "$bridge" "$dev"
        fi
        ;;
    *)
        ;;
esac"""
    result = add_ethtool_line(text)
    assert (
        '            add_to_bridge "$bridge" "$dev"\n            ethtool -K ${dev} tx off'
        in result.text
    )
    assert result.text.endswith("esac")  # no final newline added
    shell_ok(result.text)


def test_crlf_and_missing_final_newline(original):
    lf = add_ethtool_line(original).text
    assert add_ethtool_line(original.replace("\n", "\r\n")).text == lf.replace("\n", "\r\n")
    assert add_ethtool_line(original.rstrip("\n")).text == lf.rstrip("\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("#!/bin/sh\necho not vif-bridge\n", "no `online\\)` section"),
        (
            'case "$command" in\n  add)\n    add_to_bridge b d\n    ;;\nesac\n',
            "no `online\\)` section",
        ),
        ('case "$command" in\n  online)\n    true\n    ;;\nesac\n', "no `online\\)` section"),
        (
            'case "$command" in\n  online)\n    add_to_bridge b d ;;\nesac\n',
            "on the add_to_bridge line",
        ),
        ('case "$command" in\n  online) add_to_bridge b d ;;\nesac\n', "on the pattern line"),
        ('case "$command" in\n  online)\n    add_to_bridge b d\n    ;;\n', "no esac"),
    ],
)
def test_shapes_it_cannot_handle_are_errors(text, message):
    with pytest.raises(EditError, match=message):
        add_ethtool_line(text)
