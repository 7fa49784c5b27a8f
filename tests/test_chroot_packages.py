"""The real package path: apt-get through `chroot ROOT` in a Debian 12 minbase tree.

The tree is made once with debootstrap from the Debian mirror this machine's apt already uses
(read from its sources at run time) and cached between runs under $XENWIZARD_TEST_CACHE
(default /var/cache/xenwizard-tests); every test works on a `cp -a` copy. Needs root. Nothing
is mounted: apt and dpkg work in the chroot without /proc for this.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from xenwizard.dpkgstatus import installed, package_states
from xenwizard.engine import Engine
from xenwizard.plan import InstallPackages, Plan
from xenwizard.rootfs import RootFS
from xenwizard.runner import CommandRunner

pytestmark = pytest.mark.slow

SUITE = "bookworm"
CACHE = Path(os.environ.get("XENWIZARD_TEST_CACHE", "/var/cache/xenwizard-tests"))
SOURCES = Path("/etc/apt/sources.list")
SOURCES_DIR = Path("/etc/apt/sources.list.d")


def debian_mirror() -> str | None:
    """The URI of the first apt source serving SUITE main, from one-line or deb822 files."""
    files = [SOURCES, *sorted(SOURCES_DIR.glob("*.list")), *sorted(SOURCES_DIR.glob("*.sources"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.lstrip().startswith("#"):
                        key, value = line.split(":", 1)
                        fields[key.strip().lower()] = value.strip()
                if (
                    "deb" in fields.get("types", "").split()
                    and SUITE in fields.get("suites", "").split()
                    and "main" in fields.get("components", "").split()
                    and fields.get("enabled", "yes").lower() != "no"
                ):
                    return fields["uris"].split()[0]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 4 and words[0] == "deb" and words[2] == SUITE and "main" in words:
                    return words[1]
    return None


def prerequisites() -> str | None:
    if os.geteuid() != 0:
        return "needs root (chroot, debootstrap)"
    if not shutil.which("debootstrap") and not Path("/usr/sbin/debootstrap").exists():
        return "debootstrap is not installed"
    return None


@pytest.fixture(scope="session")
def minbase_cache() -> Path:
    """The cached pristine minbase tree; built on first use (about half a minute)."""
    missing = prerequisites()
    if missing:
        pytest.skip(missing)
    tree = CACHE / f"{SUITE}-minbase"
    if (tree / ".xenwizard-complete").exists():
        return tree
    mirror = debian_mirror()
    if mirror is None:
        pytest.fail(f"no apt source for Debian {SUITE} main in {SOURCES} or {SOURCES_DIR}")
    partial = CACHE / f"{SUITE}-minbase.partial"
    shutil.rmtree(partial, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    done = subprocess.run(
        [debootstrap, "--variant=minbase", SUITE, str(partial), mirror],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, f"debootstrap failed:\n{done.stdout[-3000:]}{done.stderr}"
    (partial / ".xenwizard-complete").touch()
    shutil.rmtree(tree, ignore_errors=True)
    partial.rename(tree)
    return tree


@pytest.fixture
def chroot_root(minbase_cache: Path, tmp_path: Path) -> Path:
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", str(minbase_cache), str(root)], check=True)
    (root / ".xenwizard-complete").unlink()
    resolv = root / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_bytes(Path("/etc/resolv.conf").read_bytes())  # so apt reaches the mirror
    return root


def packages_plan(root: Path, *names: str) -> Plan:
    step = InstallPackages(id="packages", title="Install packages", packages=names)
    return Plan(profile="test", profile_reason="test", root=str(root), steps=(step,))


def test_apply_installs_through_chroot_and_rollback_removes_only_what_it_added(
    chroot_root: Path,
) -> None:
    fs = RootFS(chroot_root)
    before = installed(package_states(fs))
    assert "ethtool" not in before and "apt" in before
    lines: list[str] = []
    engine = Engine(
        packages_plan(chroot_root, "ethtool"),
        fs,
        CommandRunner(chroot_root),
        lambda e: lines.append(getattr(e, "line", "")),
    )
    result = engine.apply()
    assert result.outcome == "applied", "\n".join(lines)
    after = installed(package_states(fs))
    assert {"ethtool", "libmnl0"} <= after - before  # the package and its dependency
    assert (chroot_root / "usr/sbin/ethtool").exists()
    assert any("Setting up ethtool" in line for line in lines)

    rolled = Engine(None, fs, CommandRunner(chroot_root), lambda e: None).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert installed(package_states(fs)) == before  # everything that was there stays
    assert not (chroot_root / "usr/sbin/ethtool").exists()
    assert "ethtool" not in package_states(fs)  # purged, not left as config-files


def test_failing_install_in_the_chroot_rolls_back_cleanly(chroot_root: Path) -> None:
    fs = RootFS(chroot_root)
    before = package_states(fs)
    engine = Engine(
        packages_plan(chroot_root, "ethtool", "no-such-package-xenwizard"),
        fs,
        CommandRunner(chroot_root),
    )
    result = engine.apply()
    assert result.outcome == "rolled-back"
    assert "apt-get install exited with status 100" in result.message
    assert package_states(fs) == before
