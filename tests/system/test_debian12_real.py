"""A real Debian 12 system: the whole Xen stack installed in the sandbox (bwrap), and taken back.

The root is the cached debootstrap minbase tree of tests/kits/debian_chroot.py (bookworm, from
the mirror this machine's apt uses, read at run time), made into a small Debian 12 server before
the run: ifupdown and a DHCP client installed, `eno1` on DHCP as the installer writes it, and
apt configured not to pull Recommends (the measured figure in ../shared/reference/README.md:
76 packages, about 7 s). Then, as an operator would:

- `xenwizard apply --root ROOT --yes` installs xen-system-amd64, xen-tools, dnsmasq, ethtool,
  nftables and bridge-utils with the real apt-get in the sandbox (bwrap, no network for the
  install and the maintainer scripts) and writes every file of the plan;
- the chroot's own `ifup --no-act` accepts the written /etc/network/interfaces, its dnsmasq
  accepts the drop-in, its `nft -c` the DHCP confinement's ruleset, and its vif-bridge really
  calls the vif-post.d hooks;
- a second plan has nothing left to change;
- `xenwizard rollback` purges exactly what the run added, prints what the purge left (system
  users and groups Debian never removes, /etc/hosts) one line each, and /etc matches the pre-run
  manifest apart from exactly those.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.kits.debian_chroot import copy_minbase
from tests.kits.helpers import run_cli
from xenwizard.edits import guestnet, nftconfine
from xenwizard.edits.vifhook import HOOK_PATH
from xenwizard.engine import leftovers
from xenwizard.engine.journal import RUNS_DIR
from xenwizard.engine.policyrcd import POLICY_RC_D
from xenwizard.target.dpkgstatus import installed, package_states
from xenwizard.target.rootfs import RootFS

pytestmark = pytest.mark.slow

INTERFACES = """# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eno1
iface eno1 inet dhcp
"""
# A chroot has no disk for grub-probe, so the real update-grub cannot run in it (see
# test_grub_real.py, which runs it in a mount namespace): the server gets this stand-in, which
# writes a menu shaped like update-grub's, with Xen's entry while a Xen hypervisor is in /boot
# (the Xen package's postinst and postrm run it too).
UPDATE_GRUB_STANDIN = """#!/bin/sh
# Test stand-in for update-grub (tests/system/test_debian12_real.py).
set -e
{
  echo "menuentry 'Debian GNU/Linux' --class debian {"
  echo "}"
  if ls /boot/xen*.gz >/dev/null 2>&1; then
    echo "menuentry 'Debian GNU/Linux, with Xen hypervisor' --class debian {"
    echo "}"
  fi
} > /boot/grub/grub.cfg
"""
XEN_STACK = {
    "xen-system-amd64",
    "xen-tools",
    "dnsmasq",
    "ethtool",
    "nftables",
    "bridge-utils",
    "busybox-static",
}


def xenwizard(*args: str) -> subprocess.CompletedProcess:
    """The real CLI with room for a real install (apt downloads) and no terminal."""
    return run_cli(*args, timeout=900, stdin=subprocess.DEVNULL)


def chroot(root: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["chroot", str(root), *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
        },
        stdin=subprocess.DEVNULL,
    )


def processes_in(root: Path) -> list[str]:
    """Processes whose / is the chroot (a daemon a maintainer script started would be one)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "root") == str(root):
                found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()!r}")
        except OSError:
            continue
    return found


@pytest.fixture
def server(minbase_cache: Path, tmp_path: Path) -> Path:
    """A Debian 12 server before the run, on a copy of the cached minbase tree."""
    root = copy_minbase(minbase_cache, tmp_path / "root")
    (root / "etc/apt/apt.conf.d/99no-recommends").write_text('APT::Install-Recommends "false";\n')
    done = chroot(root, "apt-get", "install", "-y", "-q", "ifupdown", "isc-dhcp-client")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    (root / "etc/network/interfaces").write_text(INTERFACES)
    standin = root / "usr/sbin/update-grub"
    standin.write_text(UPDATE_GRUB_STANDIN)
    standin.chmod(0o755)
    (root / "boot/grub").mkdir(parents=True, exist_ok=True)
    assert chroot(root, "update-grub").returncode == 0
    return root


def test_real_install_bridge_files_and_rollback(server: Path) -> None:
    root = server
    fs = RootFS(root)
    before_packages = installed(package_states(fs))
    before = leftovers.snapshot(fs)
    assert not XEN_STACK & before_packages

    started = time.monotonic()
    done = xenwizard("apply", "--root", str(root), "--yes", "--udp-checksum-workaround")
    apply_seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr

    # The real Xen stack, through the chroot; no service of the target started on this host.
    assert "| $ apt-get update" in done.stdout  # the lists are refreshed first
    assert "policy-rc.d denied execution of start" in done.stdout  # e.g. dnsmasq's postinst
    assert not (root / POLICY_RC_D).exists()
    assert processes_in(root) == []
    after_packages = installed(package_states(fs))
    assert after_packages >= XEN_STACK
    (run_id,) = os.listdir(root / RUNS_DIR)
    run_dir = root / RUNS_DIR / run_id
    records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    added = next(r["added"] for r in records if r.get("type") == "result" and "added" in r)
    assert set(added) == after_packages - before_packages
    assert 50 <= len(added) <= 120, len(added)  # 76 with Debian 12.x at the time of writing

    # Every file of the plan, as planned.
    plan = json.loads((run_dir / "plan.json").read_text())
    edits = [s for s in plan["steps"] if s["kind"] == "edit"]
    assert {s["path"] for s in edits} == {
        "etc/network/interfaces",
        "etc/xen/xl.conf",
        "etc/dnsmasq.d/xenwizard.conf",
        nftconfine.RULES_PATH,
        nftconfine.UNIT_PATH,
        HOOK_PATH,
        "etc/default/grub.d/xenwizard.cfg",  # dom0's memory (no systemd here: no boot guard)
        guestnet.SYSCTL_PATH,  # guests reach other networks: nat by default (issue 12)
        guestnet.NAT_RULES_PATH,
        guestnet.NAT_BOOT.unit_path,
        "etc/xen-tools/xen-tools.conf",  # xen-create-image's defaults: the bridge, DHCP (issue 23)
        "etc/xen-tools/role.d/xenwizard-net",  # the guests' NIC as eth0 and enX0
    }
    assert "dom0_mem=" in (root / "etc/default/grub.d/xenwizard.cfg").read_text()
    assert os.readlink(root / nftconfine.UNIT_LINK) == "/" + nftconfine.UNIT_PATH
    for step in edits:
        assert (root / step["path"]).is_file(), step["path"]
        if not step["deferred"]:
            assert (root / step["path"]).read_text() == step["after"], step["path"]
    interfaces = (root / "etc/network/interfaces").read_text()
    assert "iface eno1 inet manual" in interfaces and "bridge_ports eno1" in interfaces
    assert "iface br0 inet dhcp" in interfaces and "address 10.0.0.1/24" in interfaces
    xl_conf = (root / "etc/xen/xl.conf").read_text()
    assert '\nvif.default.bridge="br0"\n' in xl_conf  # in the file the package shipped
    assert "#vif.default.script" in xl_conf
    assert os.stat(root / HOOK_PATH).st_mode & 0o777 == 0o755
    assert "call_hooks vif post" in (root / "etc/xen/scripts/vif-bridge").read_text()
    assert (root / "usr/share/xen-tools/bookworm.d").is_dir()  # shipped: no link needed

    # The chroot's own tools accept what was written.
    for args in (["-a"], ["br0", "eno1"]):
        checked = chroot(
            root, "ifup", "--no-act", "-i", "/etc/network/interfaces", "--state-dir", "/tmp", *args
        )
        assert checked.returncode == 0, checked.stderr
        assert "No DHCP client software found" not in checked.stdout + checked.stderr
    tested = chroot(
        root,
        "dnsmasq",
        "--test",
        "--conf-file=/etc/dnsmasq.conf",
        "--conf-dir=/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new",
    )
    assert tested.returncode == 0 and "syntax check OK" in tested.stderr, tested.stderr
    nft = chroot(root, "nft", "-c", "-f", "/" + nftconfine.RULES_PATH)
    assert nft.returncode == 0, nft.stderr

    # Nothing left to do.
    again = xenwizard(
        "plan", "--root", str(root), "--udp-checksum-workaround", "--detailed-exitcode"
    )
    assert again.returncode == 0, again.stdout + again.stderr

    # Rollback: exactly what the run added is purged; /etc is back but for listed leftovers.
    started = time.monotonic()
    back = xenwizard("rollback", "--root", str(root))
    rollback_seconds = time.monotonic() - started
    assert back.returncode == 0, back.stdout[-5000:] + back.stderr
    assert not (root / POLICY_RC_D).exists()
    assert processes_in(root) == []
    assert installed(package_states(fs)) == before_packages
    assert not set(added) & set(package_states(fs))  # purged, not left as config-files
    found = leftovers.find(before, fs)
    kinds = {item.kind for item in found}
    assert kinds <= {"user", "group", "created"}, [str(i) for i in found]
    names = {(i.kind, i.name) for i in found}
    assert {("user", "dnsmasq"), ("group", "kvm"), ("created", "etc/hosts")} <= names
    # ... and the rollback said so, one line each, and journaled them
    printed = [line for line in back.stdout.splitlines() if line.startswith("    left behind: ")]
    assert printed == [f"    left behind: {i}" for i in found], back.stdout[-5000:]
    assert f"the package purge left {len(found)} things behind" in back.stdout.splitlines()[-1]
    records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    (listed,) = [r["items"] for r in records if r.get("type") == "leftovers"]
    assert [(i["kind"], i["name"]) for i in listed] == [(i.kind, i.name) for i in found]
    explained = {i.name for i in found if i.kind == "created"} | leftovers.ACCOUNT_FILES
    now = leftovers.etc_manifest(fs)
    differing = {
        rel for rel in set(before["etc"]) | set(now) if before["etc"].get(rel) != now.get(rel)
    }
    assert differing <= explained, sorted(differing - explained)
    print(
        f"\nDebian 12 real run: apply {apply_seconds:.1f} s, {len(added)} packages added; "
        f"rollback {rollback_seconds:.1f} s; leftovers: " + "; ".join(str(i) for i in found)
    )
