"""The real package path: apt-get in the sandbox (bwrap, the root as `/`) in a Debian 12 tree.

The tree is the cached debootstrap minbase of tests/kits/debian_chroot.py; every test works on a
`cp -a` copy. Needs root and the Debian mirror.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits.debian_chroot import copy_minbase
from xenwizard.engine.executor import Engine
from xenwizard.engine.policyrcd import POLICY_RC_D, POLICY_RC_D_TEXT
from xenwizard.engine.runner import CommandRunner
from xenwizard.planning.plan import InstallPackages, Plan
from xenwizard.target.dpkgstatus import installed, package_states
from xenwizard.target.rootfs import RootFS

pytestmark = pytest.mark.slow


@pytest.fixture
def chroot_root(minbase_cache: Path, tmp_path: Path) -> Path:
    return copy_minbase(minbase_cache, tmp_path / "root")


class WatchingRunner(CommandRunner):
    """The real runner, noting for each command whether ROOT/usr/sbin/policy-rc.d is there and
    whether it asked for the network."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.policy: list[tuple[str, bytes | None, bool]] = []

    def run(self, argv, on_line, env=None, network=False):  # type: ignore[no-untyped-def]
        path = self.root / POLICY_RC_D
        command = " ".join(argv[:3] if "--download-only" in argv else argv[:2])
        self.policy.append((command, path.read_bytes() if path.exists() else None, network))
        return super().run(argv, on_line, env, network)


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
    runner = WatchingRunner(chroot_root)
    engine = Engine(
        packages_plan(chroot_root, "ethtool"),
        fs,
        runner,
        lambda e: lines.append(getattr(e, "line", "")),
    )
    result = engine.apply()
    assert result.outcome == "applied", "\n".join(lines)
    assert runner.policy == [  # lists updated first; no daemon starts on the host; only the
        # downloads have the network, the install (dpkg, maintainer scripts) has none
        ("apt-get update", POLICY_RC_D_TEXT, True),
        ("apt-get install --download-only", POLICY_RC_D_TEXT, True),
        ("apt-get install", POLICY_RC_D_TEXT, False),
    ]
    assert "$ apt-get update" in lines
    assert not (chroot_root / POLICY_RC_D).exists()
    after = installed(package_states(fs))
    assert {"ethtool", "libmnl0"} <= after - before  # the package and its dependency
    assert (chroot_root / "usr/sbin/ethtool").exists()
    assert any("Setting up ethtool" in line for line in lines)

    runner = WatchingRunner(chroot_root)
    rolled = Engine(None, fs, runner, lambda e: None).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert runner.policy == [("apt-get purge", POLICY_RC_D_TEXT, False)]
    assert not (chroot_root / POLICY_RC_D).exists()
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
    # apt finds no such package already when downloading, before any package is unpacked
    assert "apt-get install --download-only exited with status 100" in result.message
    assert package_states(fs) == before
