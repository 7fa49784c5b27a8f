"""Engine test kit: whole-tree manifests, a fake apt-get, and plans from the real profile.

The fault tests compare a full manifest of the root (type, bytes, mode, owner, link target of
every entry) before and after, so "rolled back" means the tree is the same, not that a few
files look right.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from tests.kits.helpers import PRECISE_ROOT
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditResult
from xenwizard.engine.stepcontext import StepError
from xenwizard.planning.plan import EditFile, InstallPackages, Plan, Step
from xenwizard.planning.profiles import make_plan
from xenwizard.target.probe import probe
from xenwizard.target.rootfs import RootFS

EXCLUDED = ("var/lib/xenwizard", "var/log")

Manifest = dict[str, tuple]


def manifest(root: Path) -> Manifest:
    """Every entry under root except the journal and logs: what a rollback must restore."""
    out: Manifest = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if any(rel == ex or rel.startswith(ex + "/") for ex in EXCLUDED):
                continue
            st = os.lstat(path)
            meta = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path), *meta)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, *meta)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), *meta)
            else:
                out[rel] = ("other", st.st_mode, *meta)
        dirnames[:] = [d for d in dirnames if not os.path.islink(Path(dirpath) / d)]
    return out


def diff_manifests(before: Manifest, after: Manifest) -> list[str]:
    """Readable differences, for assertion messages."""
    lines = [f"gone: {p}" for p in sorted(set(before) - set(after))]
    lines += [f"extra: {p}" for p in sorted(set(after) - set(before))]
    lines += [
        f"changed: {p}: {before[p]} -> {after[p]}"
        for p in sorted(set(before) & set(after))
        if before[p] != after[p]
    ]
    return lines


def fresh_root(tmp_path: Path, name: str = "root") -> Path:
    dest = tmp_path / name
    shutil.copytree(PRECISE_ROOT, dest, symlinks=True)
    return dest


def precise_plan(root: Path, config: WizardConfig | None = None) -> Plan:
    fs = RootFS(root)
    return make_plan(config or WizardConfig(), probe(fs, live=False), fs)


def with_step(plan: Plan, position: int, step: Step) -> Plan:
    steps = list(plan.steps)
    steps.insert(position, step)
    return replace(plan, steps=tuple(steps))


def failing_step(step_id: str = "fail") -> InstallPackages:
    """A step whose command fails after its intent is journaled: it installs the package
    `fail`, which FakeRunner(fail={"fail": CODE}) refuses with CODE, as apt-get refuses a
    package it cannot get. (A second package step takes the leftovers snapshot again: where
    that matters, use `failing_edit`.)"""
    return InstallPackages(id=step_id, title="a step that fails", packages=("fail",))


def failing_edit(
    step_id: str,
    title: str,
    error: str,
    path: str = "etc/xenwizard-fails",
    before: str | None = None,
) -> EditFile:
    """A step that fails before it changes or journals anything: an edit computed at apply
    time (like one on a package's file) whose transform raises StepError(error). `before` is
    the file's text at plan time (None: missing); where packages are skipped the file must
    exist, or the step is skipped as waiting for them."""

    def transform(_text: str | None) -> EditResult:
        raise StepError(error)

    return EditFile(
        id=step_id, title=title, path=path, before=before, after=None, transform=transform
    )


# --- a fake apt-get/dpkg working on the root's var/lib/dpkg/status -----------------------------

# package -> (dependencies, files it brings; "path -> target" is a symlink)
FAKE_PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dnsmasq": (
        ("dnsmasq-base",),
        ("etc/init.d/dnsmasq", "etc/default/dnsmasq", "etc/dnsmasq.conf", "etc/dnsmasq.d/README"),
    ),
    "dnsmasq-base": ((), ("usr/sbin/dnsmasq", "usr/share/doc/dnsmasq-base/copyright")),
    "xen-fake": ((), ("etc/xen-fake/xen.conf",)),
    "xen-system-amd64": (("xen-utils-common",), ()),
    "xen-utils-common": ((), ("etc/xen/xl.conf",)),
    "xen-tools": (
        (),
        (
            "usr/share/xen-tools/artful.d/01-disable-daemons",
            "usr/share/xen-tools/debian.d/01-disable-daemons",
            "usr/share/xen-tools/bookworm.d -> debian.d",
            "usr/share/xen-tools/trixie.d -> debian.d",
        ),
    ),
}
FAKE_CONTENT = {  # files whose content the edits need to recognise
    "etc/xen/xl.conf": (
        "## Global XL config file ##\n\n"
        "# default bridge device to use with vif-bridge hotplug scripts\n"
        '#vif.default.bridge="xenbr0"\n'
    ),
    "etc/default/dnsmasq": "ENABLED=1\nCONFIG_DIR=/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new\n",
    "etc/dnsmasq.conf": "# Configuration file for dnsmasq.\n#conf-dir=/etc/dnsmasq.d\n",
}


# What fake maintainer scripts do that no purge takes back (FakeRunner(leave_behind=True)), as
# Debian's do: system accounts (adduser --system, groupadd -r) and a file outside any package.
FAKE_POSTINST: dict[str, tuple[tuple[str, str], ...]] = {
    "dnsmasq-base": (
        ("etc/passwd", "dnsmasq:x:999:65534:dnsmasq,,,:/var/lib/misc:/usr/sbin/nologin\n"),
        ("etc/group", "kvm:x:105:\n"),
        ("etc/hosts", "127.0.0.1\tlocalhost\n"),
    ),
}


# What Debian 12's grub-editenv (2.06) writes when it creates a missing grubenv
_EMPTY_HEAD = (
    b"# GRUB Environment Block\n"
    b"# WARNING: Do not edit this file by tools other than grub-editenv!!!\n"
)
EMPTY_GRUBENV = _EMPTY_HEAD + b"#" * (1024 - len(_EMPTY_HEAD))
XEN_SECTION_START = "### BEGIN /etc/grub.d/20_linux_xen ###\n"
XEN_SECTION = (
    XEN_SECTION_START
    + "menuentry 'Debian GNU/Linux, with Xen hypervisor' --class debian {\n"
    + "\tmultiboot2\t/boot/xen.gz placeholder\n}\n"
    + "### END /etc/grub.d/20_linux_xen ###\n"
)


def package_files(name: str) -> tuple[str, ...]:
    return FAKE_PACKAGES.get(name, ((), ()))[1]


def stanza(name: str) -> str:
    return (
        f"\nPackage: {name}\nStatus: install ok installed\nPriority: optional\n"
        f"Architecture: amd64\nVersion: 1.0-fake\nDescription: fake {name}\n"
    )


class FakeRunner:
    """Plays apt-get update/install/purge and a few commands on a root, recording every call.

    `fail` maps a command word ("install", "purge", "update-grub", ...) or a package name to
    the exit code to return (an install naming that package fails, see `failing_step`);
    `partial_install` makes install put the dependencies in place before failing, like an
    apt-get that died halfway. `hook(argv)` runs before every command. `leave_behind` lets the
    fake maintainer scripts add what Debian's purge never removes (FAKE_POSTINST).
    """

    def __init__(
        self,
        root: Path,
        fail: Mapping[str, int] | None = None,
        partial_install: bool = False,
        hook: Callable[[Sequence[str]], None] | None = None,
        leave_behind: bool = False,
        fail_once: bool = False,
    ):
        self.root = root
        self.fail_once = fail_once
        self.fail = dict(fail or {})
        self.partial_install = partial_install
        self.hook = hook
        self.leave_behind = leave_behind
        self.calls: list[list[str]] = []
        self.network: list[bool] = []  # the `network` argument of each call
        self.policy: list[bytes | None] = []  # usr/sbin/policy-rc.d at each apt-get/dpkg call

    @property
    def status(self) -> Path:
        return self.root / "var/lib/dpkg/status"

    @property
    def db(self) -> Path:
        """Which files each fake package created; kept beside the root, not in it."""
        return self.root.with_name(self.root.name + ".fake-dpkg")

    def run(self, argv, on_line, env=None, network=False) -> int:
        argv = list(argv)
        self.calls.append(argv)
        self.network.append(network)
        if argv[0] in ("apt-get", "dpkg"):
            policy = self.root / "usr/sbin/policy-rc.d"
            self.policy.append(policy.read_bytes() if policy.is_file() else None)
        if self.hook:
            self.hook(argv)
        word = argv[1] if argv[0] in ("apt-get", "dpkg") else argv[0]
        if argv[0] == "apt-get":
            assert env and env.get("DEBIAN_FRONTEND") == "noninteractive"
            names = [a for a in argv[2:] if not a.startswith("-")]
            if word == "update":
                return self._update(on_line)
            if word == "install" and "--download-only" in argv:
                return self.fail.get("download", 0)
            if word == "install":
                return self._install(names, on_line)
            if word in ("purge", "remove"):
                return self._purge(names, on_line, word)
        if word in self.fail:
            on_line(f"{argv[0]}: failing as asked")
            if self.fail_once:
                code = self.fail.pop(word)
                return code
            return self.fail[word]
        if argv[0] == "update-grub":
            return self._update_grub(on_line)
        if argv[0] == "echo":
            on_line(" ".join(argv[1:]))
            return 0
        return 0

    def _update_grub(self, on_line) -> int:
        """Like update-grub: boot/grub/grub.cfg gets Xen's entry while a Xen package is
        installed, and loses it again when none is (the purge runs it too, as Xen's postrm)."""
        cfg = self.root / "boot/grub/grub.cfg"
        if not cfg.is_file():
            return 0
        text = cfg.read_text().split(XEN_SECTION_START)[0]
        if any(name.startswith("xen-system") for name in self.installed()):
            release = (self.root / "etc/os-release").read_text()
            distributor = "Ubuntu" if "ID=ubuntu" in release else "Debian"
            text += XEN_SECTION.replace("Debian", distributor)
        cfg.write_text(text)
        env = self.root / "boot/grub/grubenv"
        if self._grub_default() == "saved" and not env.exists():
            # grub-mkconfig reads saved_entry with `grub-editenv - list`, which creates a
            # missing grubenv: the empty block, as Debian's grub-editenv writes it
            env.write_bytes(EMPTY_GRUBENV)
        on_line("Generating grub configuration file ...")
        return 0

    def _grub_default(self) -> str:
        """GRUB_DEFAULT as update-grub sees it: /etc/default/grub, then grub.d/*.cfg in order."""
        files = [self.root / "etc/default/grub"]
        files += sorted((self.root / "etc/default/grub.d").glob("*.cfg"))
        value = "0"
        for path in files:
            for line in path.read_text().splitlines() if path.is_file() else []:
                if line.startswith("GRUB_DEFAULT="):
                    value = line.split("=", 1)[1].strip('"')
        return value

    def _update(self, on_line) -> int:
        """Refreshes nothing (the fake knows its packages); fails when asked, like a mirror that
        cannot be reached."""
        if "update" in self.fail:
            on_line("E: Failed to fetch http://deb.example.org/dists/stable/InRelease (fake)")
            return self.fail["update"]
        on_line("Hit:1 http://deb.example.org stable InRelease")
        on_line("Reading package lists... Done")
        return 0

    def _closure(self, names: list[str]) -> list[str]:
        out: list[str] = []
        for name in names:
            for dep in FAKE_PACKAGES.get(name, ((), ()))[0]:
                if dep not in out:
                    out.append(dep)
            if name not in out:
                out.append(name)
        return out

    def installed(self) -> set[str]:
        text = self.status.read_text()
        return {
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("Package:")
        }

    def _install(self, names: list[str], on_line) -> int:
        refused = [name for name in names if name in self.fail]
        if refused:
            on_line(f"E: Unable to locate package {refused[0]}")
            return self.fail[refused[0]]
        present = self.installed()
        todo = [n for n in self._closure(names) if n not in present]
        if "install" in self.fail:
            if self.partial_install:
                for name in todo[:-1]:
                    self._put(name, on_line)
            on_line("E: failing as asked")
            return self.fail["install"]
        for name in todo:
            self._put(name, on_line)
        return 0

    def _put(self, name: str, on_line) -> None:
        on_line(f"Setting up {name} (1.0-fake) ...")
        created = []
        for entry in package_files(name):
            rel, _, target = entry.partition(" -> ")
            path = self.root / rel
            if os.path.lexists(path):  # the admin's file, as a conffile is for dpkg: kept
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if target:
                os.symlink(target, path)
            else:
                path.write_text(FAKE_CONTENT.get(rel, f"fake file of {name}\n"))
            created.append(rel)
        if self.leave_behind:
            for rel, line in FAKE_POSTINST.get(name, ()):
                path = self.root / rel
                if rel != "etc/hosts" or not path.exists():
                    with open(path, "a") as handle:
                        handle.write(line)
        self.db.mkdir(exist_ok=True)
        (self.db / f"{name}.list").write_text("".join(f"{rel}\n" for rel in created))
        with open(self.status, "a") as handle:
            handle.write(stanza(name))

    def _purge(self, names: list[str], on_line, word: str) -> int:
        if word in self.fail:
            return self.fail[word]
        for name in names:
            on_line(f"Purging {name} (1.0-fake) ...")
            listing = self.db / f"{name}.list"
            for rel in listing.read_text().splitlines():
                path = self.root / rel
                path.unlink(missing_ok=True)
                parent = path.parent
                while parent != self.root and parent.exists() and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent
            listing.unlink()
            text = self.status.read_text()
            self.status.write_text(text.replace(stanza(name), "", 1))
            if name.startswith("xen-system"):
                self._update_grub(on_line)  # Xen's postrm runs update-grub
        return 0


# --- making a directory unwritable, even for root ------------------------------------------


def read_only_method(scratch: Path) -> str | None:
    """How this machine can make a directory unwritable for us: "chmod" when not root,
    else "chattr" (+i; ext4, xfs, btrfs) or "bind" (read-only bind mount; tmpfs, overlayfs)."""
    if os.geteuid() != 0:
        return "chmod"
    probe_dir = scratch / "read-only-probe"
    probe_dir.mkdir(exist_ok=True)
    for method in ("chattr", "bind"):
        try:
            set_read_only(probe_dir, True, method)
        except (OSError, subprocess.CalledProcessError):
            continue
        try:
            (probe_dir / "x").write_text("x")
            works = False
        except OSError:
            works = True
        set_read_only(probe_dir, False, method)
        if works:
            return method
    return None


def set_read_only(directory: Path, on: bool, method: str) -> None:
    if method == "chmod":
        os.chmod(directory, 0o555 if on else 0o755)
    elif method == "chattr":
        subprocess.run(
            ["chattr", "+i" if on else "-i", str(directory)], check=True, capture_output=True
        )
    elif on:
        subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
        subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(directory)], check=True, capture_output=True
        )
    else:
        subprocess.run(["umount", str(directory)], check=True)
