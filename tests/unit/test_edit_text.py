"""The line helpers every edit relies on: byte-identical round trips, endings, markers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xenwizard.edits import EditError
from xenwizard.edits.text import Doc, append_lines, block_lines, find_block, remove_block


@given(st.text(alphabet=st.sampled_from("ab #\r\n\t=é"), max_size=60))
def test_parse_render_is_byte_identical(text):
    assert Doc.parse(text).render() == text


@pytest.mark.parametrize(
    ("text", "eol", "final"),
    [
        ("", "\n", True),
        ("a\nb\n", "\n", True),
        ("a\r\nb\r\n", "\r\n", True),
        ("a\r\nb", "\r\n", False),
        ("a\nb", "\n", False),
        ("a\r\nb\nc\n", "\n", True),  # mostly LF: new lines use LF
    ],
)
def test_dominant_ending_and_final_newline(text, eol, final):
    doc = Doc.parse(text)
    assert (doc.eol, doc.final_newline) == (eol, final)


def test_appending_to_a_file_without_final_newline_keeps_it_missing():
    doc = Doc.parse("a\r\nb")
    out = doc.render(append_lines(doc, doc.lines, block_lines(doc, ["x"])))
    assert out == "a\r\nb\r\n\r\n# BEGIN xenwizard\r\nx\r\n# END xenwizard"


def test_untouched_lines_keep_their_own_endings_in_a_mixed_file():
    doc = Doc.parse("a\r\nb\nc\r\n")
    out = doc.render([*doc.lines, doc.new("d")])
    assert out == "a\r\nb\nc\r\nd\r\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# BEGIN xenwizard\nx\n", "has no '# END xenwizard'"),
        ("x\n# END xenwizard\n", "without a '# BEGIN xenwizard'"),
        ("# BEGIN xenwizard\n# BEGIN xenwizard\n# END xenwizard\n", "before the '# END"),
        ("# BEGIN xenwizard\n# END xenwizard\n# BEGIN xenwizard\n# END xenwizard\n", "several"),
    ],
)
def test_broken_markers_are_reported_with_line_numbers(text, message):
    with pytest.raises(EditError, match=message):
        find_block(Doc.parse(text).lines, "some.conf")


def test_markers_may_be_indented():
    block = find_block(Doc.parse("a\n  # BEGIN xenwizard\n  x\n  # END xenwizard\n").lines)
    assert (block.begin, block.end) == (1, 3)


def test_remove_block():
    text = "a\n# BEGIN xenwizard\nx\n# END xenwizard\nb"
    assert remove_block(text)[0] == "a\nb"
    assert remove_block("a\n") == ("a\n", ())
