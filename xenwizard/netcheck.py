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
from collections.abc import Callable, Sequence
from pathlib import Path

from xenwizard.record import record
from xenwizard.rootfs import RootFS

SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"
TIMEOUT = 30


@record(frozen=True)
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


# --- whose tool: this machine's, checking another root ------------------------------------------

HOST_ROOT = "/"  # this machine, whose programs run the checks


@record(frozen=True)
class ToolVersions:
    """The package of the checking tool on this machine and on the target (None: unknown).

    A `--root` target is checked with this machine's `netplan` or `ifup`, which may be older
    or newer than the target's: netplan's static-routes.yaml uses `advertised-mss`, which
    Debian 12's netplan 0.106 rejects and Ubuntu 24.04's 1.1 accepts."""

    package: str
    host: str | None
    target: str | None

    @property
    def differ(self) -> bool:
        return self._order() != 0

    def describe(self) -> str:
        """ "this machine's netplan.io 0.106 is older than the target's 1.1.2" (or newer)."""
        than = "older" if self._order() < 0 else "newer"
        return (
            f"this machine's {self.package} {self.host} is {than} than the target's {self.target}"
        )

    def _order(self) -> int:
        """dpkg's order of this machine's version against the target's (0: same or unknown)."""
        from xenwizard.dpkgstatus import compare_versions

        if not self.host or not self.target:
            return 0
        return compare_versions(self.host, self.target)


def tool_versions(package: str, fs: RootFS, host_root: str = HOST_ROOT) -> ToolVersions:
    """The package's version here and in the target (both None on the live system: same)."""
    from xenwizard.dpkgstatus import installed_version

    target = None if fs.is_live else installed_version(fs, package)
    if target is None:  # the live system's tool is its own; without the target's, no compare
        return ToolVersions(package, None, None)
    return ToolVersions(package, installed_version(RootFS(host_root), package), target)


@record(frozen=True)
class Verdict:
    """What the plan says of a check: a note, or a refusal (one line), and a warning."""

    note: str
    refusal: str | None = None
    warning: str | None = None


def verdict(
    checked: Check, path: str, versions: ToolVersions, recheck: Callable[[], Check]
) -> Verdict:
    """The check of the new configuration, read for the plan. A rejection is told apart: the
    target's files as they are (`recheck`) rejected too means the change is not the cause —
    with this machine's tool of another version than the target's, the tool's version is; with
    the same version, the target's files are broken already."""
    whose = f" ({versions.describe()})" if versions.differ else ""
    if checked.ok is None:
        message = f"not validated: {checked.message}"
        return Verdict(message, warning=f"{path}: {message}")
    if checked.ok:
        return Verdict(f"checked with `{checked.tool}`: accepted{whose}")
    before = recheck()
    if before.ok is False and versions.differ:
        return Verdict(
            "",
            refusal=(
                f"{path}: not validated: {versions.describe()}, and this machine's "
                f"`{checked.tool}` rejects the target's own files as they are "
                f"({before.message}): the tool's version, not the files, is the cause; plan on "
                f"the target itself, or here with {versions.package} {versions.target} installed"
            ),
        )
    if before.ok is False:
        return Verdict(
            "",
            refusal=(
                f"{path}: the target's network configuration fails `{checked.tool}` already, "
                f"before any change: {before.message}; fix it first"
            ),
        )
    return Verdict(
        "",
        refusal=(
            f"{path}: the new network configuration fails `{checked.tool}`{whose}: "
            f"{checked.message}; refusing this plan"
        ),
    )
