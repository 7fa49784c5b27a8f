"""The real ansible-playbook of this venv run on the project's collection (ansible/), as the
README tells an admin: its environment and its PLAY RECAP, for the fixture-root tests and the
real-Xen test alike."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.kits.helpers import REPO

ANSIBLE_DIR = REPO / "ansible"
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def playbook_env(scratch: Path, install: str = "") -> dict[str, str]:
    """The controller's environment; `install` is the role's install source (XENWIZARD_INSTALL
    in site.yml: empty = xenwizard is there already)."""
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_HOME": str(scratch / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(scratch / "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(scratch / "ansible-tmp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "XENWIZARD_INSTALL": install,
    }
    env.pop("XENWIZARD_DEBUG", None)
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run_playbook(
    inventories: list[Path | str],
    scratch: Path,
    *extra: str,
    install: str = "",
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`ansible-playbook -i INVENTORY... site.yml EXTRA` from ansible/."""
    argv = [str(BIN / "ansible-playbook")]
    for inventory in inventories:
        argv += ["-i", str(inventory)]
    return subprocess.run(
        [*argv, "site.yml", *extra],
        cwd=ANSIBLE_DIR,
        env=playbook_env(scratch, install),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def recap(done: subprocess.CompletedProcess[str]) -> dict[str, tuple[int, int]]:
    """host -> (changed, failed) from PLAY RECAP."""
    return {m[1]: (int(m[3]), int(m[5])) for m in RECAP.finditer(done.stdout)}
