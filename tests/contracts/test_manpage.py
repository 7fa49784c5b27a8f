"""xenwizard(8), man/xenwizard.8, describes the whole command line: every flag of the wizard and
of each subcommand (in that subcommand's own section, or for the shared answers in ANSWERS),
every subcommand, every exit code and the state files; and it renders without warnings."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from tests.kits import programs
from xenwizard import __version__
from xenwizard.cli import COMMANDS, add_answer_options, build_parser

TOP = Path(__file__).resolve().parents[2]
MANPAGE = TOP / "man/xenwizard.8"


def plain(roff: str) -> str:
    """The roff source with escaped hyphens as hyphens and font changes removed."""
    text = roff.replace("\\-", "-")
    return re.sub(r"\\f[BIRP]|\\f\(..", "", text)


def sections(roff: str, macro: str) -> dict[str, str]:
    """Each `.SH` or `.SS` heading's text up to the next heading of the same or a higher level."""
    levels = [".SH"] if macro == ".SH" else [".SH", ".SS"]
    found: dict[str, str] = {}
    name = None
    for line in roff.splitlines():
        head = line.split(" ", 1)
        if head[0] in levels:
            name = head[1].strip().strip('"') if head[0] == macro and len(head) > 1 else None
            if name is not None:
                found[name] = ""
            continue
        if name is not None:
            found[name] += line + "\n"
    return found


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def mentions(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the parser has no subcommands")


ROFF = MANPAGE.read_text(encoding="utf-8")
TEXT = plain(ROFF)
SH = {name: plain(body) for name, body in sections(ROFF, ".SH").items()}
SS = {name: plain(body) for name, body in sections(ROFF, ".SS").items()}


def _answers() -> set[str]:
    parser = argparse.ArgumentParser(add_help=False)
    add_answer_options(parser)
    return options(parser)


ANSWER_FLAGS = _answers()


def test_every_flag_of_the_wizard_is_in_options() -> None:
    missing = [f for f in sorted(options(build_parser())) if not mentions(SH["OPTIONS"], f)]
    assert not missing, f"man/xenwizard.8 OPTIONS lacks {missing}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_and_its_flags_are_in_its_section(name: str) -> None:
    assert name in SS, f"man/xenwizard.8 has no `.SS {name}` section"
    parser = subparsers(build_parser())[name]
    own = SS[name]
    missing = [
        flag
        for flag in sorted(options(parser) - {"-h", "--help"})
        if not mentions(own, flag) and not (flag in ANSWER_FLAGS and mentions(SS["ANSWERS"], flag))
    ]
    assert not missing, f"man/xenwizard.8 `.SS {name}` (or ANSWERS) lacks {missing}"
    assert mentions(SH["SYNOPSIS"], name)


def test_every_exit_code_and_state_file() -> None:
    codes = re.findall(r"^\.TP\n\.B (\d+)$", sections(ROFF, ".SH")["EXIT STATUS"], re.M)
    assert codes == ["0", "1", "2", "3", "130"]
    for path in ("/var/lib/xenwizard/", "/var/log/xenwizard.log", "/usr/bin/xenwizard"):
        assert path in SH["FILES"]


def test_the_version_is_the_packages() -> None:
    """The man page, debian/changelog and pyproject.toml name the version xenwizard reports."""
    pyproject = tomllib.loads((TOP / "pyproject.toml").read_text())["project"]["version"]
    assert pyproject == __version__
    title = next(line for line in ROFF.splitlines() if line.startswith(".TH "))
    assert f'"xenwizard {__version__}"' in title
    first = (TOP / "debian/changelog").read_text().splitlines()[0]
    assert first.startswith(f"xenwizard ({__version__}) ")


def test_it_renders_without_warnings() -> None:
    programs.require("man")
    done = subprocess.run(
        ["man", "--warnings", "-E", "UTF-8", "-l", str(MANPAGE)],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C.UTF-8", "MANWIDTH": "80", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert "xenwizard verify" in done.stdout
