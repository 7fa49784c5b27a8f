"""Check a new network configuration with the real tool before it is applied.

The bridge step changes the interface that carries the host's own address; a configuration the
network stack rejects would leave the host unreachable after the reboot. So the plan runs

- ifupdown: `ifup --no-act` on the new interfaces file (every `auto` interface, plus the bridge
  and the NIC by name), with a scratch state dir, in a scratch copy of the files it sources: each
  read through the root (regular files inside it only, size-capped), so ifup never reads the
  host's files, a FIFO or a device (`source ../../dev/zero` is /dev/zero of the root, refused);
- netplan: `netplan generate --root-dir SCRATCH` on a scratch copy of /etc/netplan with the new
  files in it (mode 0600, as netplan wants).

Neither touches a live interface. A failure comes back as one line naming the problem; a tool
that is not installed on this machine is reported as "not validated", not as a pass.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xenwizard.target.rootfs import RootError, RootFS

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


INTERFACES = "etc/network/interfaces"
SOURCE_LINE = re.compile(
    r"^(?P<lead>[ \t]*)(?P<kw>source(?:-directory|-dir)?)(?P<sp>[ \t]+)(?P<arg>\S+)", re.M
)
SOURCE_DIR_NAME = re.compile(r"[a-zA-Z0-9_-]+\Z")  # what ifupdown's source-directory reads
MAX_SOURCED = 256
_GLOB = re.compile(r"[*?[]")


class SourceRefused(ValueError):
    """A `source` line that would have ifup read something that is not a regular file inside
    the root (one line)."""


def _stage(
    rel: str, text: str, fs: RootFS, files: dict[str, str], tree: Path, seen: set[str]
) -> None:
    """Write `rel` under `tree` with every `source` line pointed at the tree, and stage what
    they include, each read through the root (regular files inside it only, size-capped):
    ifup then reads nothing but the tree. A relative source is taken, as ifupdown takes it,
    against the directory of the file that names it; `..` stops at the root, as in a chroot."""
    if len(seen) > MAX_SOURCED:  # each file is staged once: this bounds the recursion too
        raise SourceRefused(f"{rel}: more than {MAX_SOURCED} sourced files")

    def point(match: re.Match[str]) -> str:
        kw, arg = match["kw"], match["arg"]
        base = "" if arg.startswith("/") else posixpath.dirname(rel)
        norm = posixpath.normpath(f"/{base}/{arg}").lstrip("/")
        for child in _matches(kw, norm, arg, fs, files):
            if child in seen:
                continue
            seen.add(child)
            child_text = files.get(child)
            if child_text is None:
                try:
                    child_text = fs.read_text(child)
                except RootError as exc:
                    raise SourceRefused(f"{rel}: {kw} {arg}: {exc}") from None
            if child_text is not None:
                _stage(child, child_text, fs, files, tree, seen)
        return f"{match['lead']}{kw}{match['sp']}{tree}/{norm}"

    staged = SOURCE_LINE.sub(point, text)
    target = tree / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(staged, encoding="utf-8", errors="surrogateescape")


def _matches(kw: str, norm: str, arg: str, fs: RootFS, files: dict[str, str]) -> list[str]:
    """Root-relative files a `source`/`source-directory` line names (globs in the last part
    of a `source` path expanded as ifupdown does)."""
    if kw == "source" and not _GLOB.search(norm):
        return [norm]
    directory, pattern = (norm, "*") if kw != "source" else posixpath.split(norm)
    if _GLOB.search(directory):
        raise SourceRefused(f"{kw} {arg}: a wildcard in a directory name; not validated")
    try:
        names = set(fs.listdir(directory))
    except RootError as exc:
        raise SourceRefused(f"{kw} {arg}: {exc}") from None
    names |= {posixpath.basename(f) for f in files if posixpath.dirname(f) == directory}
    if kw != "source":
        names = {n for n in names if SOURCE_DIR_NAME.match(n)}
    return [f"{directory}/{n}" for n in sorted(names) if fnmatch.fnmatchcase(n, pattern)]


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
        tree = Path(scratch) / "tree"
        try:
            _stage(INTERFACES, text, fs, dict(files or {}), tree, {INTERFACES})
        except SourceRefused as exc:
            return Check(None, tool, f"not validated: {exc}")
        path = tree / INTERFACES
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
                    {str(path): "interfaces", f"{tree}/": "", scratch: ""},
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


@dataclass(frozen=True, slots=True)
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
        from xenwizard.target.dpkgstatus import compare_versions

        if not self.host or not self.target:
            return 0
        return compare_versions(self.host, self.target)


def tool_versions(package: str, fs: RootFS, host_root: str = HOST_ROOT) -> ToolVersions:
    """The package's version here and in the target (both None on the live system: same)."""
    from xenwizard.target.dpkgstatus import installed_version

    target = None if fs.is_live else installed_version(fs, package)
    if target is None:  # the live system's tool is its own; without the target's, no compare
        return ToolVersions(package, None, None)
    return ToolVersions(package, installed_version(RootFS(host_root), package), target)


@dataclass(frozen=True, slots=True)
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
