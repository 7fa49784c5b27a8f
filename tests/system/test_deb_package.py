"""The Debian package as an admin meets it: `scripts/build-deb` builds it (once per session),
lintian finds nothing, `apt-get install ./xenwizard_*.deb` on a fresh Debian 12 root (a copy of
the cached minbase of tests/kits/debian_chroot.py) gives a working `xenwizard plan` and
`xenwizard --demo`, and `apt-get purge --autoremove xenwizard` leaves nothing behind.

Everything in the chroot runs without network: `unshare --net` gives each command a network
namespace with only a loopback. The dependencies the minbase lacks (python3 and what it
Depends on) come from a local file repository, made on the host with apt's own download
of exactly what `apt-get install ./xenwizard_*.deb` needs on that root (cached between runs)
and apt-ftparchive; it is the chroot's only apt source. /proc, /sys, /dev and /dev/pts are
bind-mounted in a private mount namespace of each command, so nothing stays mounted.

Needs root, debootstrap, dpkg-buildpackage, dh-virtualenv, lintian, apt-ftparchive and tmux
(scripts/dev-setup), and for the build PyPI and the Debian mirror.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.debian_chroot import copy_minbase
from xenwizard import __version__

pytestmark = pytest.mark.slow

TOP = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XENWIZARD_TEST_CACHE", "/var/cache/xenwizard-tests"))
REPO = "srv/xenwizard-repo"  # the local apt repository, inside the chroot
FIXTURE = "srv/debian-12-root"  # a copy of tests/fixtures/debian-12-root, inside the chroot
WELCOME = "questions, then a preview"  # the welcome page's introduction (Debian 12: four)

# What the manifest comparison leaves out, exactly the paths that installing and purging any
# package changes (the rest of /var/lib/dpkg, /etc/ld.so.cache and debconf's database are
# compared, and are byte for byte as before):
EXCLUDED = {
    "var/lib/dpkg/status-old": "dpkg's backup of its package database (the database itself, "
    "var/lib/dpkg/status, is compared)",
    "var/lib/apt/extended_states": "apt's record of which packages were installed "
    "automatically (python3 and its dependencies were, then autoremoved)",
    "var/cache/apt/pkgcache.bin": "apt's binary cache of its lists and the dpkg status",
    "var/cache/apt/archives/lock": "apt's lock file, made by the first apt-get install",
    "var/cache/apt/archives/partial": "apt's (empty) download directory: apt-get hands it to "
    "its _apt user, so its mode and owner change",
    "var/cache/ldconfig/aux-cache": "ldconfig's own cache, rewritten when libc-bin's trigger "
    "runs ldconfig for the libraries of python3 coming and going (etc/ld.so.cache is compared)",
    "var/log/apt/eipp.log.xz": "apt's log of its last install plan",
    "var/log/apt/history.log": "apt's log",
    "var/log/apt/term.log": "apt's log",
    "var/log/dpkg.log": "dpkg's log",
}


def run(argv: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, (
        f"{shlex.join(argv)}: exit {done.returncode}\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    )
    return done


def offline(root: Path, script: str) -> list[str]:
    """argv running `script` with sh in the chroot: no network, /proc, /sys, /dev and /dev/pts
    bound in a private mount namespace (gone when the command ends)."""
    binds = "".join(
        f"mount --rbind /{path} {shlex.quote(str(root / path))}\n"
        for path in ("proc", "sys", "dev")
    )
    inner = f"{binds}exec chroot {shlex.quote(str(root))} /bin/sh -ec {shlex.quote(script)}"
    return ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-ec", inner]


def chroot_run(root: Path, script: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C.UTF-8",
        "HOME": "/root",
        "TERM": "dumb",
    }
    return run(offline(root, script), timeout=timeout, env=env)


def test_lintian_is_clean(deb: Path) -> None:
    """No error or warning; an override (debian/*.lintian-overrides) only under a comment that
    gives its reason (there are none now)."""
    for overrides in (TOP / "debian").glob("*lintian-overrides"):
        previous = ""
        for line in overrides.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert previous.startswith("#"), f"{overrides.name}: no reason for {line!r}"
            previous = line
    changes = deb.with_name(deb.name.replace(".deb", ".changes"))
    done = subprocess.run(
        ["lintian", "--fail-on", "error,warning", str(changes)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    tags = [line for line in done.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert done.returncode == 0 and not tags, done.stdout + done.stderr


def test_the_package_holds_what_the_tree_has(deb: Path) -> None:
    files = run(["dpkg-deb", "-c", str(deb)]).stdout
    site = "./usr/lib/xenwizard/lib/python3.11/site-packages/xenwizard/"
    for path in (
        "./usr/bin/xenwizard",
        "./usr/share/man/man8/xenwizard.8.gz",
        "./usr/share/doc/xenwizard/copyright",
        site + "tui/app.tcss",
        site + "samples/debian-12/etc/os-release",
        site + "samples/ubuntu-12.04/etc/os-release",
    ):
        assert path in files, path
    assert "__pycache__" not in files  # postinst compiles, prerm removes
    # every file of the package's tree, the package data (tui/*.tcss, samples/) included
    tree = {
        str(path.relative_to(TOP / "xenwizard"))
        for path in (TOP / "xenwizard").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    missing = sorted(rel for rel in tree if site + rel not in files)
    assert not missing, f"not in the package: {missing}"
    depends = run(["dpkg-deb", "-f", str(deb), "Depends"]).stdout
    assert "python3 (>= 3.11~), python3 (<< 3.12)" in depends


def manifest(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, mode, owner, and content (hash, link target, device
    number); not times."""
    entries: dict[str, tuple] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            rel = str(path.relative_to(root))
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                content: object = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                content = info.st_rdev
            else:
                content = None
            entries[rel] = (stat.filemode(info.st_mode), info.st_uid, info.st_gid, content)
    return entries


def differences(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    lines = []
    for path in sorted(before.keys() | after.keys()):
        if path in EXCLUDED or before.get(path) == after.get(path):
            continue
        if path not in after:
            lines.append(f"gone: {path} {before[path]}")
        elif path not in before:
            lines.append(f"left behind: {path} {after[path]}")
        else:
            lines.append(f"changed: {path} {before[path]} -> {after[path]}")
    return lines


def local_repository(root: Path, deb: Path) -> Path:
    """ROOT/srv/xenwizard-repo: the package and the .debs its Depends need on this root (as
    apt's simulation on the root's dpkg status says), downloaded by the host's apt into a
    cache kept between runs, indexed by apt-ftparchive.

    Recommends of those dependencies are not in it, so apt skips them, as on any host whose
    mirror lacks them: they are libpython3.11-stdlib's ca-certificates (with openssl), which
    the minbase's own apt recommends too, so a purge keeps them (apt's autoremove keeps what
    an installed package recommends) although xenwizard never needed them."""
    archives = CACHE / "deb-package-deps"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    apt = [
        "apt-get", "install", "-y", "-q",
        "-o", f"Dir::State::status={root}/var/lib/dpkg/status",
        "-o", f"Dir::Cache::archives={archives}",
        "-o", "APT::Install-Recommends=false",
    ]  # fmt: skip
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    simulated = run([*apt, "--simulate", str(deb)], env=env).stdout
    wanted = [
        (words[1], words[2].lstrip("("))
        for words in (line.split() for line in simulated.splitlines())
        if words[:1] == ["Inst"] and words[1] != "xenwizard"
    ]
    assert "python3" in dict(wanted), simulated
    run([*apt, "--download-only", str(deb)], env=env)
    repo = root / REPO
    repo.mkdir(parents=True)
    for name, version in wanted:
        found = list(archives.glob(f"{name}_{version.replace(':', '%3a')}_*.deb"))
        assert len(found) == 1, f"{name} {version} not downloaded into {archives}"
        shutil.copy2(found[0], repo / found[0].name)
    packages = run(["apt-ftparchive", "packages", "."], cwd=repo).stdout
    (repo / "Packages").write_text(packages)
    shutil.copy2(deb, repo / deb.name)
    return repo


@pytest.fixture
def offline_root(minbase_cache: Path, deb: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh Debian 12 minbase whose only apt source is the local repository, its lists
    updated, with a copy of the Debian 12 fixture root to plan on."""
    for name in ("unshare", "apt-ftparchive", "tmux"):
        programs.require(name)
    root = copy_minbase(minbase_cache, tmp_path / "root")
    local_repository(root, deb)
    (root / "etc/apt/sources.list").write_text(f"deb [trusted=yes] file:/{REPO} ./\n")
    for extra in (root / "etc/apt/sources.list.d").iterdir():
        extra.unlink()
    chroot_run(root, "apt-get update -q")
    shutil.copytree(TOP / "tests/fixtures/debian-12-root", root / FIXTURE, symlinks=True)
    yield root


def demo_shows_the_welcome_page(root: Path, tmp_path: Path) -> str:
    """Run `xenwizard --demo` in the chroot on a tmux terminal until the welcome page shows,
    then quit it with Ctrl-Q and confirm; the wizard's exit status is returned with the
    screen."""
    session = f"xenwizard-deb-{os.getpid()}"
    status = tmp_path / "demo-status"
    env = "env -i PATH=/usr/bin:/bin TERM=xterm-256color LC_ALL=C.UTF-8 HOME=/root"
    command = shlex.join(offline(root, f"{env} xenwizard --demo"))
    shell = f"{command}; echo $? > {shlex.quote(str(status))}"
    tmux = ["tmux", "-L", session]
    run([*tmux, "new-session", "-d", "-s", session, "-x", "100", "-y", "30", shell])
    try:
        screen = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and WELCOME not in screen:
            time.sleep(0.5)
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if status.exists():
                break
        assert WELCOME in screen, f"no welcome page:\n{screen}"
        run([*tmux, "send-keys", "-t", session, "C-q"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not status.exists():
            time.sleep(0.5)
            # yes, quit (the session may end between the check and the key)
            subprocess.run([*tmux, "send-keys", "-t", session, "y"], capture_output=True)
        assert status.exists(), subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout
        return status.read_text().strip() + "\n" + screen
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_install_plan_demo_and_purge_leave_nothing_behind(
    offline_root: Path, tmp_path: Path
) -> None:
    root = offline_root
    before = manifest(root)

    installed = chroot_run(root, f"cd /{REPO} && apt-get install -y -q ./xenwizard_*.deb")
    assert "Setting up xenwizard" in installed.stdout
    assert (root / "usr/bin/xenwizard").exists()

    version = chroot_run(root, "xenwizard --version").stdout
    assert version.strip() == f"xenwizard {__version__}"
    plan = chroot_run(root, f"xenwizard plan --root /{FIXTURE}").stdout
    assert "etc/dnsmasq.d/xenwizard.conf" in plan, plan
    assert "debian-12" in plan, plan
    assert (root / "usr/share/man/man8/xenwizard.8.gz").exists()

    code, screen = demo_shows_the_welcome_page(root, tmp_path).split("\n", 1)
    assert code == "2", f"the demo quit with {code} (2: quit before an apply):\n{screen}"
    assert "debian-12" in screen and "/tmp/xenwizard-demo-" in screen, screen  # its real path
    assert not list((root / "tmp").glob("xenwizard-demo-*")), "the demo's copy was left behind"

    chroot_run(root, "apt-get purge -y -q --autoremove xenwizard")
    status = chroot_run(root, "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n'").stdout
    assert "xenwizard" not in status and " python3\n" not in status
    after = manifest(root)
    excluded = sorted(p for p in EXCLUDED if before.get(p) != after.get(p))
    print("excluded from the comparison, and different:", " ".join(excluded))
    left = differences(before, after)
    assert not left, "the install and purge changed the root:\n" + "\n".join(left)
