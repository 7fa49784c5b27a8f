"""/etc/rc.local: `ifup "BR:0" >/dev/null || true` in a block before the final `exit 0`."""

from __future__ import annotations

import subprocess

import pytest

from xenwizard.edits import EditError
from xenwizard.edits.rclocal import add_ifup_line

LINE = 'ifup "br0:0" >/dev/null || true'


@pytest.fixture(scope="module")
def original(precise_root) -> str:
    return (precise_root / "etc/rc.local").read_text()


def active(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and line.strip()[0] != "#"]


def test_fixture(original, shell_ok):
    result = add_ifup_line(original, "br0:0")
    assert active(result.text) == [LINE, "exit 0"]
    assert result.text.startswith(original.removesuffix("exit 0\n") + "# BEGIN xenwizard\n")
    assert result.text.endswith(f"{LINE}\n# END xenwizard\n\nexit 0\n")
    assert any("sh -e" in n and "|| true" in n for n in result.notes)
    shell_ok(result.text)


def test_reference(reference, shell_ok):
    text = (reference / "xen-4.1/rc.local").read_text()
    result = add_ifup_line(text, "br0:0")
    assert active(result.text)[-2:] == [LINE, "exit 0"]
    shell_ok(result.text)
    assert add_ifup_line(result.text, "br0:0").text == result.text


def test_idempotent_and_rename(original, shell_ok):
    once = add_ifup_line(original, "br0:0").text
    again = add_ifup_line(once, "br0:0")
    assert again.text == once and again.notes[0].startswith("already set")
    renamed = add_ifup_line(once, "xenbr1:0")
    assert renamed.text == add_ifup_line(original, "xenbr1:0").text
    assert active(renamed.text) == ['ifup "xenbr1:0" >/dev/null || true', "exit 0"]
    shell_ok(renamed.text)


@pytest.mark.parametrize("text", [None, "", "\n"])
def test_missing_or_empty_file_is_created(text, shell_ok):
    result = add_ifup_line(text, "br0:0")
    assert result.text.startswith("#!/bin/sh -e\n")
    assert active(result.text) == [LINE, "exit 0"]
    assert "created rc.local" in result.notes[0]
    shell_ok(result.text)
    assert add_ifup_line(result.text, "br0:0").text == result.text


def test_ifup_after_exit_is_commented_and_brought_before(shell_ok):
    text = '#!/bin/sh -e\nexit 0\nifup "br0:0" >/dev/null\n'
    result = add_ifup_line(text, "br0:0")
    assert result.text == (
        "#!/bin/sh -e\n"
        + "\n".join(add_ifup_line(None, "br0:0").text.splitlines()[7:12])
        + '\nexit 0\n# ifup "br0:0" >/dev/null\n'
    )
    assert any("never ran" in n for n in result.notes)
    shell_ok(result.text)


def test_seed_line_done_by_hand_is_replaced(original, shell_ok):
    text = original.replace("\nexit 0\n", '\nifup "br0:0" >/dev/null\nexit 0\n')
    result = add_ifup_line(text, "br0:0")
    assert '# ifup "br0:0" >/dev/null\n' in result.text
    assert active(result.text) == [LINE, "exit 0"]
    shell_ok(result.text)


def test_indented_hand_line_is_left_and_mentioned(shell_ok):
    text = "#!/bin/sh -e\nif true; then\n    ifup br0:0\nfi\nexit 0\n"
    result = add_ifup_line(text, "br0:0")
    assert "    ifup br0:0\n" in result.text
    assert any("left as is" in n for n in result.notes)
    shell_ok(result.text)


def test_block_after_exit_is_moved_before_it(shell_ok):
    once = add_ifup_line("#!/bin/sh -e\nexit 0\n", "br0:0").text
    block = once[once.index("# BEGIN") : once.index("# END xenwizard\n") + 16]
    broken = "#!/bin/sh -e\nexit 0\n" + block
    result = add_ifup_line(broken, "br0:0")
    assert result.text == "#!/bin/sh -e\n" + block + "exit 0\n"
    assert any("moved" in n for n in result.notes)


def test_only_the_final_top_level_exit_counts(shell_ok):
    text = (
        "#!/bin/sh -e\n[ -e /x ] || exit 0\nif false; then\n  exit 0\nfi\n"
        "echo hi\nexit 0\n# the end\n"
    )
    result = add_ifup_line(text, "br0:0")
    assert "echo hi\n# BEGIN xenwizard\n" in result.text
    assert result.text.endswith("# END xenwizard\nexit 0\n# the end\n")
    lines = result.text.splitlines()
    assert lines.index("# END xenwizard") + 1 == lines.index("exit 0")
    shell_ok(result.text)


def test_no_exit_appends_at_the_end(shell_ok):
    result = add_ifup_line("#!/bin/sh\necho hi", "br0:0")
    assert result.text.startswith("#!/bin/sh\necho hi\n# BEGIN xenwizard\n")
    assert result.text.endswith(f"{LINE}\n# END xenwizard")  # still no final newline
    assert "exit 0" not in active(result.text)
    shell_ok(result.text)


def test_crlf_and_missing_final_newline(original):
    lf = add_ifup_line(original, "br0:0").text
    assert add_ifup_line(original.replace("\n", "\r\n"), "br0:0").text == lf.replace("\n", "\r\n")
    assert add_ifup_line(original.rstrip("\n"), "br0:0").text == lf.rstrip("\n")


def test_failing_ifup_does_not_stop_the_script(tmp_path):
    """Run the result under sh -e with an ifup that fails: the rest of the script still runs."""
    fake = tmp_path / "ifup"
    fake.write_text("#!/bin/sh\necho 'ifup: unknown interface' >&2\nexit 1\n")
    fake.chmod(0o755)
    text = add_ifup_line("#!/bin/sh -e\nexit 0\n", "br0:0").text
    text = text.replace("exit 0", "echo reached\nexit 0")
    script = tmp_path / "rc.local"
    script.write_text(text)
    done = subprocess.run(
        ["sh", "-e", str(script)],
        capture_output=True,
        text=True,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        timeout=30,
    )
    assert (done.returncode, done.stdout) == (0, "reached\n")


@pytest.mark.parametrize("alias", ["br0", 'br0:0"; reboot; "', "", "br 0:0"])
def test_bad_alias_is_refused(alias):
    with pytest.raises(EditError, match="not an alias interface name"):
        add_ifup_line("exit 0\n", alias)
