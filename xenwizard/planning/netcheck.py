"""Check a new network configuration with the real tool before it is applied.

The bridge step changes the interface that carries the host's own address; a configuration the
network stack rejects would leave the host unreachable after the reboot. So the plan runs

- ifupdown: `ifup --no-act` on the new interfaces file (every `auto` interface, plus the bridge
  and the NIC by name), with a scratch state dir; `source` lines are pointed into the target root;
- netplan: `netplan generate --root-dir SCRATCH` on a scratch copy of /etc/netplan with the new
  files in it (mode 0600, as netplan wants).

Neither touches a live interface. A failure comes back as one line naming the problem; a tool
that is not installed on this machine is reported as "not validated", not as a pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xenwizard.target.rootfs import RootFS

SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"
TIMEOUT = 30


@dataclass(frozen=True, slots=True)
class Check:
    """ok: True accepted, False rejected, None not checked; message: why (one line)."""

    ok: bool | None
    tool: str
    message: str = ""


def find_program(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=SBIN_PATH)


def _env() -> dict[str, str]:
    return {"PATH": SBIN_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _first_error(output: str, replacements: dict[str, str]) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for old, new in replacements.items():
        lines = [line.replace(old, new) for line in lines]
    for pattern in (r"^ifup: (?!failed to bring up)", r"\berror\b", r"missing|unknown|fail"):
        for line in lines:
            if re.search(pattern, line, re.I) and not line.startswith("run-parts"):
                return line
    return lines[0] if lines else "no message"


def _root_sources(text: str, fs: RootFS) -> str:
    """`source /abs/path` lines pointed into the target root (unless the root is /)."""
    if fs.is_live:
        return text

    def point(match: re.Match[str]) -> str:
        return f"{match['lead']}{match['kw']}{match['sp']}{fs.real_root}{match['path']}"

    return re.sub(
        r"^(?P<lead>\s*)(?P<kw>source(?:-directory)?)(?P<sp>\s+)(?P<path>/\S*)",
        point,
        text,
        flags=re.M,
    )


def _scratch_tree(files: dict[str, str], scratch: str) -> None:
    """The files (root-relative path -> text) under scratch/tree, their absolute `source`
    lines pointed at that copy (relative ones already resolve inside it)."""
    tree = Path(scratch) / "tree"

    def point(match: re.Match[str]) -> str:
        return f"{match['lead']}{match['kw']}{match['sp']}{tree}{match['path']}"

    for rel, text in files.items():
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = re.sub(
            r"^(?P<lead>\s*)(?P<kw>source(?:-directory|-dir)?)(?P<sp>\s+)(?P<path>/\S*)",
            point,
            text,
            flags=re.M,
        )
        target.write_text(text, encoding="utf-8", errors="surrogateescape")


def check_ifupdown(
    text: str,
    fs: RootFS,
    interfaces: Sequence[str] = (),
    files: dict[str, str] | None = None,
) -> Check:
    """`ifup --no-act` on the interfaces text: every auto interface, and `interfaces` by name.

    `files`: etc/network/interfaces and the files it sources as the plan leaves them (one of
    them edited); checked as a copy of that tree instead of `text` with its sources in the root.
    """
    tool = "ifup --no-act"
    ifup = find_program("ifup")
    if ifup is None:
        return Check(None, tool, "ifup is not installed on this machine (package ifupdown)")
    with tempfile.TemporaryDirectory(prefix="xenwizard-ifcheck-") as scratch:
        if files and len(files) > 1:
            _scratch_tree(files, scratch)
            path = Path(scratch) / "tree" / "etc/network/interfaces"
        else:
            path = Path(scratch) / "interfaces"
            path.write_text(_root_sources(text, fs), encoding="utf-8", errors="surrogateescape")
        state = Path(scratch) / "state"
        state.mkdir()
        base = [ifup, "--no-act", "--no-mappings", "--state-dir", str(state), "-i", str(path)]
        for extra in (["-a"], ["--", *interfaces] if interfaces else []):
            if not extra:
                continue
            try:
                done = subprocess.run(
                    [*base, *extra],
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                    env=_env(),
                    stdin=subprocess.DEVNULL,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return Check(None, tool, f"ifup could not be run: {exc}")
            if done.returncode != 0:
                message = _first_error(
                    done.stderr or done.stdout,
                    {str(path): "interfaces", f"{scratch}/tree/": "", scratch: ""},
                )
                return Check(False, tool, message)
    return Check(True, tool)


def netplan_generate(texts: dict[str, str], scratch: Path) -> subprocess.CompletedProcess[str]:
    """Write the netplan files under `scratch` and run `netplan generate --root-dir` there."""
    netplan = find_program("netplan")
    if netplan is None:
        raise FileNotFoundError("netplan")
    for rel, text in texts.items():
        target = scratch / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
        os.chmod(target, 0o600)
    return subprocess.run(
        [netplan, "generate", "--root-dir", str(scratch)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )


def check_netplan(texts: dict[str, str]) -> Check:
    """`netplan generate` into a scratch root holding `texts` (root-relative path -> text)."""
    tool = "netplan generate --root-dir"
    if find_program("netplan") is None:
        return Check(None, tool, "netplan is not installed on this machine (package netplan.io)")
    with tempfile.TemporaryDirectory(prefix="xenwizard-netplan-") as scratch:
        try:
            done = netplan_generate(texts, Path(scratch))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Check(None, tool, f"netplan could not be run: {exc}")
        if done.returncode != 0:
            return Check(False, tool, _first_error(done.stderr, {scratch + "/": ""}))
    return Check(True, tool)
