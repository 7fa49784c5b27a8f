"""Reading package states from ROOT/var/lib/dpkg/status."""

from __future__ import annotations

from pathlib import Path

from xenwizard.target.dpkgstatus import installed, package_states, present
from xenwizard.target.rootfs import RootFS

STATUS = """\
Package: ethtool
Status: install ok installed
Architecture: amd64
Version: 1:6.1-1

Package: libc6
Status: install ok installed
Architecture: amd64

Package: libc6
Status: install ok installed
Architecture: i386

Package: dnsmasq
Status: deinstall ok config-files
Architecture: all

Package: xen-utils
Status: install reinstreq half-installed
Architecture: amd64
"""


def test_states(tmp_path: Path) -> None:
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(STATUS)
    states = package_states(RootFS(tmp_path))
    assert states == {
        "ethtool": "installed",
        "libc6:amd64": "installed",
        "libc6:i386": "installed",
        "dnsmasq": "config-files",
        "xen-utils": "half-installed",
    }
    assert installed(states) == {"ethtool", "libc6:amd64", "libc6:i386"}
    assert present(states) == {"ethtool", "libc6:amd64", "libc6:i386", "xen-utils"}


def test_no_status_file_means_nothing_installed(tmp_path: Path) -> None:
    assert package_states(RootFS(tmp_path)) == {}
