"""edits/grubdefault.py: Xen's options in a marked block at the end of /etc/default/grub (GRUB
1.99, Ubuntu 12.04), on the fixture's file and odd shapes."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.kits import programs
from tests.kits.helpers import PRECISE_ROOT
from xenwizard.edits import EditError, grubdefault
from xenwizard.planning import dom0size

OPTIONS = ("dom0_mem=1024M,max:1024M",)
LINE = 'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT dom0_mem=1024M,max:1024M"'
REAL = (PRECISE_ROOT / "etc/default/grub").read_text()


def test_the_block_is_appended_and_the_file_kept_byte_for_byte() -> None:
    after = grubdefault.set_xen_options(REAL, OPTIONS).text
    assert after.startswith(REAL + "\n# BEGIN xenwizard\n")
    assert after.endswith(f"{LINE}\n# END xenwizard\n")


def test_idempotent_and_a_new_size_replaces_the_one_block() -> None:
    once = grubdefault.set_xen_options(REAL, OPTIONS).text
    again = grubdefault.set_xen_options(once, OPTIONS)
    assert again.text == once and again.notes == ("already as wanted",)
    bigger = grubdefault.set_xen_options(once, ("dom0_mem=2048M,max:2048M",)).text
    assert bigger.count("# BEGIN xenwizard") == 1 and "1024M" not in bigger
    assert bigger.startswith(REAL)


def test_a_file_without_final_newline_keeps_its_last_line() -> None:
    text = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""'
    after = grubdefault.set_xen_options(text, OPTIONS).text
    assert after.startswith(text + "\n\n# BEGIN xenwizard\n") and after.endswith(
        "# END xenwizard\n"
    )


def test_lines_after_the_block_make_it_move_to_the_end() -> None:
    """An assignment after the block would override it: the block goes last again."""
    once = grubdefault.set_xen_options(REAL, OPTIONS).text
    edited = once + 'GRUB_CMDLINE_XEN_DEFAULT="console=com1"\n'
    result = grubdefault.set_xen_options(edited, OPTIONS)
    assert result.text.endswith(f"{LINE}\n# END xenwizard\n")
    assert 'GRUB_CMDLINE_XEN_DEFAULT="console=com1"\n\n# BEGIN xenwizard' in result.text
    assert any("moved to the end" in note for note in result.notes)


def test_an_option_that_is_not_a_plain_word_is_refused() -> None:
    with pytest.raises(EditError, match="not a plain name"):
        grubdefault.set_xen_options(REAL, ('dom0_mem=1G"; reboot; "',))


def test_two_blocks_are_refused_naming_their_lines() -> None:
    once = grubdefault.set_xen_options(REAL, OPTIONS).text
    with pytest.raises(EditError, match="several xenwizard blocks"):
        grubdefault.set_xen_options(once + once[len(REAL) :], OPTIONS)


@settings(max_examples=60, deadline=None)
@given(a=st.integers(512, 1 << 20), b=st.integers(512, 1 << 20))
def test_idempotent_convergent_and_read_by_the_real_shell(a: int, b: int) -> None:
    first = grubdefault.set_xen_options(REAL, dom0size.xen_options(a)).text
    assert grubdefault.set_xen_options(first, dom0size.xen_options(a)).text == first
    via = grubdefault.set_xen_options(first, dom0size.xen_options(b)).text
    assert via == grubdefault.set_xen_options(REAL, dom0size.xen_options(b)).text
    done = subprocess.run(
        [programs.require("sh"), "-c", '. /dev/stdin; printf "%s" "$GRUB_CMDLINE_XEN_DEFAULT"'],
        input=via.replace("`lsb_release -i -s 2> /dev/null || echo Debian`", "Ubuntu"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split() == [f"dom0_mem={b}M,max:{b}M"]
