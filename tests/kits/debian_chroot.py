"""A cached Debian 12 minbase tree made with debootstrap, for the tests that need a real system.

The tree is made once with debootstrap from the Debian mirror this machine's apt already uses
(read from its sources at run time) and cached between runs under $XENWIZARD_TEST_CACHE
(default /var/cache/xenwizard-tests); every test works on a `cp -a` copy (`copy_minbase`).
Needs root. Nothing is mounted: apt and dpkg work in the chroot without /proc for this.

The fixture `minbase_cache` (tests/system/conftest.py) gives the cached tree, skipping the test
when it cannot be made here.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

SUITE = "bookworm"
CACHE = Path(os.environ.get("XENWIZARD_TEST_CACHE", "/var/cache/xenwizard-tests"))
SOURCES = Path("/etc/apt/sources.list")
SOURCES_DIR = Path("/etc/apt/sources.list.d")
COMPLETE = ".xenwizard-complete"  # marks a finished debootstrap in the cache


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


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """CACHE/.NAME.lock held: one process makes a cached tree while another waits for it (the
    real-Xen images are built in the background while the chroot tests run)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def made_once(done: Path, lock: str, build: Callable[[Path], None]) -> Path:
    """`done`, made by `build(DONE.partial)` unless it is complete already: under CACHE/.LOCK.lock
    (one process builds while another waits for it) and through DONE.partial, renamed when
    complete, so that a half-made tree never counts."""
    if (done / COMPLETE).exists():
        return done
    with cache_lock(lock):
        if not (done / COMPLETE).exists():
            half = done.with_name(f"{done.name}.partial")
            shutil.rmtree(half, ignore_errors=True)
            done.parent.mkdir(parents=True, exist_ok=True)
            build(half)
            (half / COMPLETE).touch()
            shutil.rmtree(done, ignore_errors=True)
            half.rename(done)
    return done


def ensure_minbase(suite: str = SUITE) -> Path:
    """The cached pristine minbase tree of `suite`, made with debootstrap on first use (about
    half a minute); the mirror is the one this machine's apt uses for bookworm (Debian's
    mirrors serve every suite). Fails the test when it cannot be made."""
    name = f"{suite}-minbase"
    return made_once(CACHE / name, name, partial(debootstrap_minbase, suite))


def debootstrap_minbase(suite: str, tree: Path) -> None:
    """debootstrap --variant=minbase of `suite` into `tree`."""
    mirror = debian_mirror()
    if mirror is None:
        pytest.fail(f"no apt source for Debian {SUITE} main in {SOURCES} or {SOURCES_DIR}")
    debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
    done = subprocess.run(
        [debootstrap, "--variant=minbase", suite, str(tree), mirror],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, f"debootstrap failed:\n{done.stdout[-3000:]}{done.stderr}"


def copy_minbase(cache: Path, dest: Path) -> Path:
    """A `cp -a` copy of the cached tree at `dest`, with the host's resolv.conf so apt in the
    chroot reaches the mirror."""
    subprocess.run(["cp", "-a", str(cache), str(dest)], check=True)
    (dest / COMPLETE).unlink()
    resolv = dest / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_bytes(Path("/etc/resolv.conf").read_bytes())
    return dest
