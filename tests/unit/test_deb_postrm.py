"""Issue 24, finding 7: the .deb had no postrm, so purging it with a boot guard pending left a
unit whose ExecStart (/usr/bin/xenwizard) was gone. debian/xenwizard.postrm removes the
guard's units on purge (only files xenwizard wrote) and says so; run here as dpkg runs it,
against a root given in DPKG_ROOT (dpkg's own variable for maintainer scripts)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.kits.helpers import REPO
from xenwizard.edits import guardunits

POSTRM = REPO / "debian/xenwizard.postrm"


def guarded_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / guardunits.TIMER_LINK).parent.mkdir(parents=True)
    (root / guardunits.SERVICE_PATH).write_text(guardunits.render_service("/usr/bin/xenwizard"))
    (root / guardunits.TIMER_PATH).write_text(guardunits.render_timer(10))
    (root / guardunits.TIMER_LINK).symlink_to(guardunits.TIMER_TARGET)
    return root


def postrm(root: Path, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(POSTRM), action], env={**os.environ, "DPKG_ROOT": str(root)},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_purge_removes_a_pending_guards_units_and_says_so(tmp_path: Path) -> None:
    root = guarded_root(tmp_path)
    done = postrm(root, "purge")
    assert done.returncode == 0, done.stderr
    for rel in (guardunits.SERVICE_PATH, guardunits.TIMER_PATH, guardunits.TIMER_LINK):
        assert not os.path.lexists(root / rel), rel
    assert "removed the pending boot guard's units" in done.stdout, done.stdout


def test_remove_keeps_them_and_units_xenwizard_did_not_write_are_never_touched(
    tmp_path: Path,
) -> None:
    root = guarded_root(tmp_path)
    assert postrm(root, "remove").returncode == 0
    assert (root / guardunits.SERVICE_PATH).is_file()  # remove keeps configuration: purge
    (root / guardunits.SERVICE_PATH).write_text("[Service]\nExecStart=/usr/local/bin/mine\n")
    done = postrm(root, "purge")
    assert done.returncode == 0, done.stderr
    assert (root / guardunits.SERVICE_PATH).read_text().startswith("[Service]")
    assert not (root / guardunits.TIMER_PATH).exists()
