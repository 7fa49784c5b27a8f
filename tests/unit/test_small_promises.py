"""Issue 26 item 7: the smaller promises, each checked where the operator meets it."""

from __future__ import annotations

from pathlib import Path

from tests.kits.helpers import FIXTURES, run_cli
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.profiles import make_plan
from xenwizard.target.probe import probe
from xenwizard.target.rootfs import RootFS


def test_a_bare_toml_number_is_a_lease_in_seconds(tmp_path: Path) -> None:
    """`lease = 3600` was refused ("expected a string") while `dom0-mem = 2048` was taken."""
    answers = tmp_path / "answers.toml"
    answers.write_text("lease = 3600\n")
    done = run_cli("plan", "--root", str(FIXTURES / "precise-root"), "--answers", str(answers))
    assert done.returncode == 0, done.stderr
    assert "+dhcp-range=10.0.0.10,10.0.0.100,3600\n" in done.stdout, done.stdout


def test_an_empty_root_and_a_root_beside_demo_are_refused_in_one_line() -> None:
    for argv, words in (
        (("plan", "--root", ""), "--root: expected a directory, got an empty string"),
        (("--root", "/tmp", "--demo"), "--demo runs on its own copy of a sample system"),
    ):
        done = run_cli(*argv)
        assert done.returncode == 1, (argv, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (argv, done.stderr)


def test_the_sysctl_note_speaks_of_no_next_step_off_the_live_root() -> None:
    """Precise: no systemd, and the sysctl file is the last step there; the note said
    "systemd-sysctl reads /etc/sysctl.d ... the next step sets it now too"."""
    fs = RootFS(FIXTURES / "precise-root")
    plan = make_plan(WizardConfig(), probe(fs, live=False), fs)
    step = next(s for s in plan.steps if s.id == "guest-forward")
    notes = " ".join(step.notes)
    assert step is plan.steps[-1]
    assert "next step" not in notes, notes
    assert "by procps where the release has no systemd" in notes, notes
