"""A real Xen host from Debian 13, headless: `xenwizard apply --yes` over SSH, a reboot into Xen,
a guest's lease — on a host whose network is netplan rendered for systemd-networkd.

The VM (tests/vm/xenvm/) boots a Debian 13 "trixie" server image configured as Debian's cloud images
are: netplan.io with `eth0` on DHCP in /etc/netplan, systemd-networkd and systemd-resolved, no
ifupdown. Its only apt source is a local repository holding exactly what xenwizard's package step
installs. As an operator with a script:

1. `ssh root@VM xenwizard apply --yes`: the Debian 13 profile is detected, the bridge goes into
   netplan (xenwizard's own /etc/netplan file), the real apt-get installs Xen 4.20 offline, every
   file is written;
2. a cold restart boots the VM through its GRUB into Xen (the boot guard's one-shot entry),
   systemd-networkd brings up the bridge netplan rendered, with the NIC's DHCP lease and the
   guests' subnet on it, and SSH answers again through it;
3. `xenwizard verify` passes on the rebooted host;
4. a canary PV guest with a Xen MAC gets its lease from the host's dnsmasq on the bridge, in the
   configured range, not from the LAN's DHCP server (QEMU's, on the same bridge).

This proves on a real boot the netplan recipe that the Ubuntu profiles use. Phase timings go to
the VM cache's last-timings-trixie.txt (beside $XENWIZARD_VM_TIMINGS when that is set).
XENWIZARD_VM_TESTS=0 leaves it out of a local run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from tests.vm.xenvm.canary import run_canary
from tests.vm.xenvm.hoststate import dnsmasq_dhcp_log
from tests.vm.xenvm.image import NETPLAN_FILE, NIC
from tests.vm.xenvm.machine import Machine
from tests.vm.xenvm.session import vm_session

pytestmark = [pytest.mark.slow, pytest.mark.xenvm]
VM_SUITE = "trixie"  # its image is built in the background from the start of the run

XEN_MAC = "00:16:3e:5a:00:13"
APPLY_TIMEOUT = 1500  # the package step under emulation: apt, dpkg, update-grub
CONFIRM_WITHIN = 9  # minutes: the checks below take 4 after boot under emulation, 7 when busy


@pytest.fixture(scope="module")
def vm13() -> Iterator[Machine]:
    with vm_session(VM_SUITE) as machine:
        yield machine


def test_debian13_headless_apply_netplan_reboot_into_xen_and_a_guest_lease(vm13: Machine) -> None:
    vm = vm13
    vm.boot("first boot (plain Debian 13, netplan + networkd)")
    before = vm.ssh(
        f"ip -4 -o addr show {NIC}; networkctl list --no-pager --no-legend {NIC}; "
        "ls /etc/network/interfaces 2>&1; grep VERSION_ID /etc/os-release; "
        "dpkg-query -W -f='${Package}\\n' | sort",
        phase="before the apply",
    ).stdout
    assert "10.0.2.15" in before, before
    assert "routable" in before and "configured" in before, (
        f"networkd does not run {NIC}:\n{before}"
    )
    assert 'VERSION_ID="13"' in before, before
    assert "ifupdown" not in before and "xen-system-amd64" not in before, before

    # 1. headless: plan (what an operator reads first), then apply --yes
    started = time.monotonic()
    planned = vm.ssh("xenwizard plan --json", timeout=180, phase="plan over SSH").stdout
    vm.mark("xenwizard plan --json", started)
    plan = json.loads(planned)
    assert plan["profile"] == "debian-13", plan["profile_reason"]
    assert "netplan" in plan["profile_reason"], plan["profile_reason"]
    started = time.monotonic()
    applied = vm.ssh(
        f"xenwizard apply --yes --confirm-within {CONFIRM_WITHIN}",
        check=False,
        timeout=APPLY_TIMEOUT,
        phase="apply",
    )
    vm.mark("xenwizard apply --yes (packages from the local repo, every file)", started)
    assert applied.returncode == 0, (
        f"apply exited {applied.returncode}\n{applied.stdout[-4000:]}\n{applied.stderr[-2000:]}"
    )
    state = vm.ssh(
        f"xenwizard history; cat {NETPLAN_FILE} /etc/netplan/90-xenwizard.yaml; "
        "cat /etc/dnsmasq.d/xenwizard.conf; grep -n 'vif.default.bridge' /etc/xen/xl.conf; "
        "grep -n 'set default=' /boot/grub/grub.cfg; grep -c '^menuentry' /boot/grub/grub.cfg",
        phase="after the apply",
    ).stdout
    assert "applied" in state, state
    assert "br0:" in state and "interfaces:" in state, f"no bridge in netplan:\n{state}"
    # the boot guard: GRUB's default stays the saved (plain) entry, Xen boots once
    assert 'set default="${saved_entry}"' in state, state
    assert f"reboot, log in again within {CONFIRM_WITHIN} minutes" in applied.stdout.lower(), (
        applied.stdout[-2000:]
    )

    # 2. reboot (cold) into Xen through the image's GRUB: the one-shot entry
    vm.poweroff("poweroff after the apply")
    booted = vm.start("boot into Xen (the one-shot entry)")
    vm.wait_ssh("boot into Xen (the one-shot entry)", 600)
    vm.mark("boot into Xen (the one-shot entry)", booted)
    xen = vm.ssh(
        "cat /sys/hypervisor/type; xl info | grep -E '^(xen_version|total_memory)'; "
        f"ip -4 -o addr show br0; ip -o link show {NIC}; "
        "networkctl list --no-pager --no-legend; echo dnsmasq $(systemctl is-active dnsmasq); "
        "journalctl -b -u dnsmasq --no-pager -o cat | tail -5",
        check=False,
        phase="Xen is running",
    ).stdout
    assert xen.startswith("xen"), xen
    assert "xen_version            : 4.20" in xen, xen
    assert "10.0.2.15" in xen and "10.0.0.1/24" in xen, f"br0 lacks an address:\n{xen}"
    assert "master br0" in xen, xen
    assert re.search(r"^\s*\d+ br0\s+bridge\s+routable\s+configured", xen, re.M), xen
    assert "dnsmasq active" in xen, f"dnsmasq did not start at boot:\n{xen}"

    # 3. verify on the rebooted host
    started = time.monotonic()
    verified = vm.ssh("xenwizard verify", check=False, timeout=180, phase="verify")
    vm.mark("xenwizard verify", started)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "FAIL" not in verified.stdout, verified.stdout

    # 4. a guest's lease from the host's dnsmasq
    guest = run_canary(vm, "canary13", XEN_MAC, "canary with a Xen MAC")
    assert guest.lease is not None, guest.console
    assert guest.lease["serverid"] == "10.0.0.1", (
        f"the guest's lease came from {guest.lease['serverid']}, not the host's dnsmasq:\n"
        f"{guest.console}"
    )
    last_octet = int(guest.lease["ip"].rsplit(".", 1)[1])
    assert guest.lease["ip"].startswith("10.0.0.") and 10 <= last_octet <= 100, guest.lease
    heard = vm.ssh(
        dnsmasq_dhcp_log(f"DHCPACK(br0) {guest.lease['ip']} {XEN_MAC}"),
        check=False,
        phase="dnsmasq's log",
    ).stdout
    assert f"DHCPACK(br0) {guest.lease['ip']} {XEN_MAC}" in heard, heard

    # no poweroff: nothing follows, and the fixture kills QEMU
