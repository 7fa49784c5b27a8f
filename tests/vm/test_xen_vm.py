"""A real Xen host: the wizard over SSH into a Debian 12 VM, a reboot into Xen, real guests.

The VM (tests/vm/xenvm/) boots a Debian 12 server image under QEMU (software emulation) through its
own GRUB; the image has no Xen, only a local apt repository holding exactly what xenwizard's
package step will install. As an operator:

1. tmux on the host runs `ssh -t root@127.0.0.1 -p PORT xenwizard`; the test walks the real
   wizard by keys (Debian 12 detected, eth0 detected, defaults but the UDP workaround on), reads
   the preview and applies: the real apt-get installs the Xen stack offline, every file is
   written, the Done page is reached;
   The boot guard is on (the default): GRUB's default stays the plain kernel, Xen is the
   one-shot next entry, and a timer would roll the run back 10 minutes after boot;
2. a cold restart boots the VM through its GRUB into Xen (the one-shot entry, which GRUB then
   clears), dom0 has the memory the plan chose, comes up on the bridge, and SSH answers again;
3. `xenwizard verify` passes and `xenwizard confirm` makes Xen GRUB's default and removes the
   guard;
4. a canary PV guest with a Xen MAC gets its lease from the host's dnsmasq, not from the LAN's
   DHCP server (QEMU's, on the same bridge), with tx checksumming off on its vif; a guest with a
   non-Xen MAC gets nothing from the host; `xenwizard verify --guest` passes, and fails with the
   reason while dnsmasq is stopped, leaving nothing of its canary;
5. a real guest made with xen-tools (tests/vm/xenvm/xentoolsguest.py): `xen-create-image` with
   xenwizard's block, from a bookworm tarball carried into the image, booted through pygrub,
   leases in the range from the host's dnsmasq and answers dom0's ping;
6. a re-run with other answers (`--bridge xenbr1`, a new subnet) over SSH, a restart into Xen
   (the default now, the guard pending), verify, confirm: a canary leases on xenbr1 in the new
   range and no br0 is left;
7. the rename's rollback: the first run's network, DHCP and xl files back byte for byte, Xen
   the default, no guard;
8. `xenwizard rollback` over SSH and a restart bring the host back on its original network (no
   bridge, SSH on the NIC) with the run's packages purged and GRUB as before.

Then the SSH drop and a network answer that cuts the host off: the wizard applies answers that
put the LAN gateway's address on the bridge (a clash the operator allowed), the ssh client is
killed during the package step, the apply runs to its end inside the VM, and after the reboot Xen
runs but SSH cannot reach the host; two minutes after boot the unconfirmed boot guard rolls the
run back and reboots, and the host is reachable again on its original configuration, with /etc,
the packages, GRUB's files and the accounts as before and `xenwizard history` naming the guard.

Last, the isolated shape (`--isolated`, the hosting provider's bridge with no NIC) over SSH from
that plain host: /etc/network/interfaces untouched, a restart into Xen with SSH still on eth0,
verify, a canary that leases on br0 and reaches QEMU's gateway through the host's NAT while a
capture on eth0 sees its traffic leave with the host's address and no frame with a Xen MAC,
confirm. It also runs alone on a fresh image (`-k isolated`).

Phase timings are written to $XENWIZARD_VM_TIMINGS (default: the VM cache's last-timings.txt).
Set XENWIZARD_VM_TESTS=0 to leave these tests out of a local run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits.ansiblekit import recap, run_playbook
from tests.vm.xenvm import uplink
from tests.vm.xenvm.canary import run_canary
from tests.vm.xenvm.guestcheck import assert_guest_fails_without_dnsmasq, assert_guest_passes
from tests.vm.xenvm.guestimage import XEN_TOOLS_GUEST
from tests.vm.xenvm.hoststate import (
    GRUB_DROPIN,
    GUARD_LINK,
    GUARD_TIMER,
    HOST_STATE,
    XEN_ENTRY,
    assert_dom0_memory,
    dnsmasq_dhcp_log,
    dom0_mem_of,
    host_state,
    manifest_changes,
)
from tests.vm.xenvm.image import NIC
from tests.vm.xenvm.machine import Machine
from tests.vm.xenvm.session import vm_session
from tests.vm.xenvm.terminal import Tmux
from tests.vm.xenvm.xentoolsguest import make_xen_tools_guest

pytestmark = [pytest.mark.slow, pytest.mark.xenvm]
VM_SUITE = "bookworm"  # its image is built in the background from the start of the run

XEN_MAC = "00:16:3e:5a:00:01"
OTHER_MAC = "52:54:00:5a:00:02"
RENAMED = "xenbr1"  # the re-run's bridge and address: "You may call your bridge whatever you want"
RENAMED_ADDRESS = "10.0.1.1/24"
APPLY_TIMEOUT = 1500  # the package step under emulation: apt, dpkg, update-grub
# The LAN gateway's address on the bridge (a clash the operator allowed): SSH from the host
# arrives from 10.0.2.2, now an address of the VM itself, and gets no answer.
CUT_OFF_ANSWERS = """address = "10.0.2.2/24"
dhcp-range = "10.0.2.100-10.0.2.120"
allow-overlap = true
confirm-within = 2
"""


# What the first journey found before its apply: the last rollback must bring it back.
BEFORE: dict[str, object] = {}


def installed_packages(text: str) -> set[str]:
    """The package names in a listing of `dpkg-query -W -f='${Package}\\n'` lines."""
    return {line for line in text.splitlines() if line and " " not in line}


@pytest.fixture(scope="module")
def vm() -> Iterator[Machine]:
    with vm_session(VM_SUITE) as machine:
        yield machine


def ssh_clients(port: int) -> list[int]:
    """The host's ssh processes connected to the VM's forwarded port."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode()).name == "ssh" and str(port).encode() in argv:
            found.append(int(entry.name))
    return found


def plan_shown(screen: str) -> bool:
    """The preview with its plan: the page is up at once, the plan comes from a worker."""
    return "[7/9]" in screen and "steps change something" in screen


def walk_wizard(vm: Machine, term: Tmux, phase: str) -> str:
    """Welcome to Preview by keyboard, as an operator: the detected answers, UDP workaround on.
    Returns the preview's screen."""
    welcome = term.wait_for(
        lambda s: "Debian 12" in s and "detecting" not in s, 180, f"{phase}: welcome"
    )
    assert "debian-12" in welcome, welcome
    term.press("Enter")
    bridge = term.wait_for("[2/9]", 60, f"{phase}: bridge page")
    assert "br0" in bridge and NIC in bridge, bridge
    term.press("Enter")
    term.wait_for("[3/9]", 60, f"{phase}: subnet page")
    term.press("Enter")
    term.wait_for("[4/9]", 60, f"{phase}: DHCP page")
    # One burst the moment the page appears, as a fast typist over a slow link sends it (before
    # the typed-ahead keys were queued, the Tabs went to the page going away and the Space
    # replaced the range start).
    term.press("Tab", "Tab", "Tab", "Tab", "Space")
    dhcp = term.wait_for("[x] UDP checksum workaround", 30, f"{phase}: UDP switch")
    assert "10.0.0.10" in dhcp and "invalid" not in dhcp, dhcp
    term.press("Enter")
    dom0 = term.wait_for("[5/9]", 60, f"{phase}: dom0 memory page")
    assert "Left for guests" in dom0 and "invalid" not in dom0, dom0  # the rule's default
    term.press("Enter")
    term.wait_for("[6/9]", 60, f"{phase}: toolstack page")
    term.press("Enter")
    return term.wait_for(plan_shown, 180, f"{phase}: preview")


def test_wizard_over_ssh_reboot_into_xen_and_guests(vm: Machine) -> None:
    vm.boot("first boot (plain Debian 12)")
    before = vm.ssh(
        f"ip -4 -o addr show {NIC}; dpkg-query -W -f='${{Package}}\\n' | sort; uname -r",
        phase="before the apply",
    ).stdout
    assert "10.0.2.15" in before, before
    assert "xen-system-amd64" not in before and "dnsmasq" not in before

    # 1. the wizard over SSH, by keys
    started = time.monotonic()
    term = Tmux(vm.workdir, vm.interactive_command("xenwizard"), vm.workdir / "wizard.exit")
    try:
        preview = walk_wizard(vm, term, "wizard")
        assert "packages" in preview, preview
        vm.mark("wizard: welcome to preview", started)
        started = time.monotonic()
        term.press("a")
        term.wait_for("Apply (y)", 30, "wizard: apply confirmation")
        term.press("y")
        applied = term.wait_for(
            lambda s: "APPLIED" in s or "ROLLED BACK" in s or "FAILED" in s,
            APPLY_TIMEOUT,
            "wizard: apply",
        )
        assert "APPLIED" in applied, applied
        vm.mark("wizard: apply (packages from the local repo, every file)", started)
        term.press("Enter")
        done = term.wait_for("[9/9]", 60, "wizard: done page")
        term.press("Enter")
        assert term.exit_code(60, "wizard: exit") == 0, done
    finally:
        term.close()
    state = vm.ssh(
        "xenwizard history; cat /etc/network/interfaces; cat /etc/dnsmasq.d/xenwizard.conf; "
        "grep -n 'vif.default.bridge' /etc/xen/xl.conf; "
        f"grep -n 'set default=' /boot/grub/grub.cfg; cat {GRUB_DROPIN}; grub-editenv list; "
        f"ls {GUARD_LINK}",
        phase="after the apply",
    ).stdout
    assert "applied" in state and "bridge_ports eth0" in state, state
    # the boot guard: GRUB boots its saved entry, which stays the plain kernel; the Xen entry
    # is next_entry, once
    assert 'set default="${saved_entry}"' in state, state
    assert f"next_entry={XEN_ENTRY}\n" in state and "saved_entry=Debian GNU/Linux\n" in state, state
    assert GUARD_LINK in state, state
    dom0_mib = dom0_mem_of(state)

    # 2. reboot (cold) into Xen through the image's GRUB: the one-shot entry
    vm.poweroff("poweroff after the apply")
    vm.boot("boot into Xen (the one-shot entry)", timeout=600)
    xen = vm.ssh(
        "cat /sys/hypervisor/type; xl info | grep -E '^(xen_version|total_memory)'; "
        "ip -4 -o addr show br0; ip -o link show eth0; xl list 0; grub-editenv list",
        phase="Xen is running",
    ).stdout
    assert xen.startswith("xen"), xen
    assert "10.0.2.15" in xen and "10.0.0.1/24" in xen, f"br0 lacks an address:\n{xen}"
    assert "master br0" in xen, xen
    assert_dom0_memory(xen, dom0_mib)
    # GRUB consumed the one-shot: a reset now would boot the plain kernel
    assert not re.search(r"^next_entry=.", xen, re.M), xen
    assert "saved_entry=Debian GNU/Linux\n" in xen, xen

    # 3. verify, then confirm: Xen becomes the default and the guard goes
    started = time.monotonic()
    verified = vm.ssh("xenwizard verify", check=False, timeout=180, phase="verify")
    vm.mark("xenwizard verify", started)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "FAIL" not in verified.stdout, verified.stdout
    started = time.monotonic()
    confirmed = vm.ssh("xenwizard confirm", check=False, timeout=300, phase="confirm")
    vm.mark("xenwizard confirm", started)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    guard = vm.ssh(
        f"grub-editenv list; ls {GUARD_LINK} {GUARD_TIMER} 2>&1; echo TIMERS; "
        "systemctl list-timers --all --no-legend xenwizard-boot-guard.timer",
        check=False,
        phase="after confirm",
    ).stdout
    files, timers = guard.split("TIMERS\n", 1)
    assert f"saved_entry={XEN_ENTRY}\n" in files, guard
    assert files.count("No such file or directory") == 2, guard
    assert "xenwizard-boot-guard" not in timers, guard

    # 4. guests
    xen_guest = run_canary(vm, "canary1", XEN_MAC, "canary with a Xen MAC")
    assert xen_guest.lease is not None, xen_guest.console
    assert xen_guest.lease["serverid"] == "10.0.0.1", (
        f"the guest's lease came from {xen_guest.lease['serverid']}, not the host's dnsmasq:\n"
        f"{xen_guest.console}"
    )
    last_octet = int(xen_guest.lease["ip"].rsplit(".", 1)[1])
    assert xen_guest.lease["ip"].startswith("10.0.0.") and 10 <= last_octet <= 100
    assert xen_guest.vif_offload is not None
    assert re.search(r"^tx-checksumming: off", xen_guest.vif_offload, re.M), xen_guest.vif_offload
    other = run_canary(vm, "canary2", OTHER_MAC, "canary with a non-Xen MAC")
    assert other.lease is None, f"a non-Xen MAC got a lease:\n{other.console}"
    heard = vm.ssh(
        dnsmasq_dhcp_log(f"DHCPACK(br0) {xen_guest.lease['ip']} {XEN_MAC}"),
        check=False,
        phase="dnsmasq's log",
    ).stdout
    assert f"DHCPACK(br0) {xen_guest.lease['ip']} {XEN_MAC}" in heard, heard
    assert f"{OTHER_MAC} ignored" in heard, heard
    # the product's canary: `verify --guest` passes, and fails with the reason without dnsmasq
    started = time.monotonic()
    assert_guest_passes(vm, "verify --guest")
    vm.mark("xenwizard verify --guest", started)
    started = time.monotonic()
    assert_guest_fails_without_dnsmasq(vm, "verify --guest without dnsmasq")
    vm.mark("xenwizard verify --guest, dnsmasq stopped", started)

    BEFORE.update(kernel=before.split("\n")[-2], packages=installed_packages(before))

    # 5. xen-tools: a real guest made with xen-create-image on the bridge (xenwizard's block)
    if XEN_TOOLS_GUEST:
        started = time.monotonic()
        guest = make_xen_tools_guest(vm, "g1", "xen-tools guest")
        vm.mark("xen-tools guest: xen-create-image, xl create, lease, ping", started)
        assert guest.lease_ip.startswith("10.0.0."), guest


def ansible_inventory(vm: Machine, path: Path, **answers: object) -> Path:
    """The VM as an Ansible host over real SSH (root, the image's key), with the role's
    variables: the .deb's xenwizard, the reboot on, and `answers` (xenwizard_* variables)."""
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": vm.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(vm.image.key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "ansible_python_interpreter": "/usr/bin/python3",
        "xenwizard_executable": "/usr/bin/xenwizard",  # the .deb's, not the image's venv
        "xenwizard_reboot": True,
        "xenwizard_reboot_timeout": 1500,
        **{f"xenwizard_{key}": value for key, value in answers.items()},
    }
    path.write_text(json.dumps({"xen_hosts": {"hosts": {"xenhost": host}}}, indent=2) + "\n")
    return path


NETWORK_FILES = ("/etc/network/interfaces", "/etc/dnsmasq.d/xenwizard.conf", "/etc/xen/xl.conf")


def network_files(manifest: str) -> list[str]:
    """The /etc manifest's lines of the files a bridge rename changes (all three present)."""
    lines = sorted(line for line in manifest.splitlines() if line.split()[1] in NETWORK_FILES)
    assert len(lines) == len(NETWORK_FILES), lines
    return lines


def boot_facts(vm: Machine, phase: str) -> tuple[str, float, str]:
    """(boot id, seconds since boot, hypervisor type or 'none') of the running VM."""
    text = vm.ssh(
        "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f1 /proc/uptime; "
        "cat /sys/hypervisor/type 2>/dev/null || echo none",
        phase=phase,
    ).stdout.split()
    return text[0], float(text[1]), text[2]


def test_ansible_renames_through_the_guarded_reboot_then_rollbacks(
    vm: Machine, deb: Path, tmp_path: Path
) -> None:
    """The collection over real SSH, as a fleet's admin runs it, on the host the first journey
    left confirmed on Xen, with other answers (the bridge renamed to xenbr1 and a new subnet: a
    re-run that replaces xenwizard's own last run): `--check --diff` shows the diffs and changes
    nothing; the play installs the project's .deb from the controller, applies, reboots (the
    harness restarts QEMU as a reset would), verifies and confirms; guests lease on xenbr1 in
    the new range and no br0 is left; the host is still on Xen after the guard's deadline; a
    second play changes nothing. A play whose verify fails after the reboot (dnsmasq masked)
    fails for the host, naming the failed check, does not confirm, and the boot guard rolls
    that run back by itself and reboots into the confirmed Xen as it was. Then the rollbacks:
    the rename's puts br0's files back (Xen stays the default, no guard armed), the first
    run's brings the host back on its original network with the packages and GRUB as before."""
    if not (vm.running() and BEFORE):
        pytest.skip("the first journey did not leave a confirmed Xen host")
    minutes = 4  # the guard's deadline: room for verify and confirm after a boot under TCG
    renamed = {"bridge": RENAMED, "address": RENAMED_ADDRESS, "udp_checksum_workaround": True}
    inventory = ansible_inventory(vm, tmp_path / "vm.json", confirm_within=minutes, **renamed)
    scratch = tmp_path / "controller"
    original = host_state(vm.ssh(HOST_STATE, phase="ansible: the host state before").stdout)

    # --check --diff with the xenwizard the host has (the image's venv, on PATH, as the README's
    # install leaves it; check mode installs nothing): every file's diff, nothing touched
    started = time.monotonic()
    checked = run_playbook(
        [inventory], scratch, "--check", "--diff", "-e", "xenwizard_executable=xenwizard"
    )
    vm.mark("ansible: --check --diff", started)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "+++ b/etc/dnsmasq.d/xenwizard.conf" in checked.stdout, checked.stdout[-4000:]
    assert f"+interface={RENAMED}" in checked.stdout, checked.stdout[-4000:]
    assert "-interface=br0" in checked.stdout, checked.stdout[-4000:]
    untouched = host_state(vm.ssh(HOST_STATE, phase="ansible: after --check").stdout)
    assert untouched == original

    # the play: install the .deb, apply the rename, reboot, verify, confirm
    started = time.monotonic()
    with vm.restarting("ansible: the role's reboot") as restarts:
        applied = run_playbook([inventory], scratch, install=str(deb), timeout=APPLY_TIMEOUT + 1800)
    vm.mark("ansible: install, apply the rename, reboot, verify, confirm", started)
    assert applied.returncode == 0, applied.stdout[-6000:] + applied.stderr[-2000:]
    assert len(restarts) == 1, restarts
    changed, failed = recap(applied)["xenhost"]
    assert changed > 0 and failed == 0, applied.stdout[-3000:]
    assert "Keep Xen (xenwizard confirm)" in applied.stdout, applied.stdout[-3000:]
    boot_id, uptime, hypervisor = boot_facts(vm, "ansible: after the play")
    assert hypervisor == "xen", hypervisor
    state = vm.ssh(
        f"dpkg-query -W -f='${{Status}}\\n' xenwizard; grub-editenv list; ls {GUARD_LINK} 2>&1; "
        f"ip -4 -o addr show {RENAMED}; ip -o link show {NIC}; ip link show br0 2>&1; "
        "cat /etc/network/interfaces /etc/dnsmasq.d/xenwizard.conf; "
        "grep -n 'vif.default.bridge' /etc/xen/xl.conf",
        check=False,
        phase="ansible: confirmed, renamed",
    ).stdout
    assert "install ok installed" in state, state
    assert f"saved_entry={XEN_ENTRY}\n" in state and "No such file" in state, state
    assert RENAMED_ADDRESS in state and f"master {RENAMED}" in state, state
    assert 'Device "br0" does not exist' in state, state
    assert f"bridge_ports {NIC}" in state and f"interface={RENAMED}" in state, state
    # one managed copy, nothing old left: no br0 but `ip link`'s "br0" and longer names
    # (xl.conf's shipped comment `#vif.default.bridge="xenbr0"`)
    assert not re.search(r'(?<![\w"])br0\b', state), state
    moved = run_canary(vm, "canary3", XEN_MAC, "ansible: canary on the renamed bridge")
    assert moved.lease is not None, moved.console
    assert moved.lease["serverid"] == RENAMED_ADDRESS.split("/")[0], moved.lease
    assert moved.lease["ip"].startswith("10.0.1."), moved.lease

    # a second play: nothing to do (no reboot, no guard armed again); then past the deadline
    started = time.monotonic()
    again = run_playbook([inventory], scratch, timeout=900)
    vm.mark("ansible: second play", started)
    assert again.returncode == 0 and recap(again)["xenhost"] == (0, 0), again.stdout[-3000:]
    wait = minutes * 60 + 30 - boot_facts(vm, "ansible: uptime")[1]
    if wait > 0:
        time.sleep(wait)
    same_boot, uptime, hypervisor = boot_facts(vm, "ansible: past the guard's deadline")
    assert (same_boot, hypervisor) == (boot_id, "xen") and uptime > minutes * 60, uptime
    confirmed = host_state(vm.ssh(HOST_STATE, phase="ansible: the confirmed state").stdout)

    # verify fails after the reboot: the play fails for the host, the guard brings it back
    vm.ssh("systemctl mask dnsmasq", phase="ansible: mask dnsmasq")
    failing = ansible_inventory(
        vm, tmp_path / "vm-failing.json", confirm_within=minutes, lease="1h", **renamed
    )
    started = time.monotonic()
    with vm.restarting("ansible: the failing play's reboot"):
        refused = run_playbook([failing], scratch, timeout=APPLY_TIMEOUT + 1800)
    vm.mark("ansible: apply, reboot, verify fails", started)
    assert refused.returncode != 0 and recap(refused)["xenhost"][1] == 1, refused.stdout[-4000:]
    message = refused.stdout[refused.stdout.index("xenwizard verify failed on xenhost") :]
    assert "dnsmasq (no dnsmasq process runs" in message, message[:2000]
    assert "The boot guard rolls the run back" in message and f"{minutes} minutes" in message
    assert "Keep Xen (xenwizard confirm)" not in refused.stdout.split("Verify failed")[-1]
    started = time.monotonic()
    vm.wait_down("ansible: the boot guard's rollback and reboot", minutes * 60 + 1200)
    vm.mark("ansible: the guard's rollback and reboot", started)
    vm.boot("ansible: boot after the guard (the confirmed Xen)", timeout=600)
    back = vm.ssh(
        "cat /sys/hypervisor/type; xenwizard history --json; systemctl unmask dnsmasq",
        phase="ansible: after the guard",
    ).stdout
    assert back.startswith("xen"), back
    guarded = json.loads(back[back.index("[") :])[-1]
    assert guarded["state"] == "rolled-back", guarded
    assert guarded["rollback_reason"].startswith(f"boot guard: not confirmed within {minutes} min")
    restored = host_state(vm.ssh(HOST_STATE, phase="ansible: the state after the guard").stdout)
    for part in ("packages", "grub", "users"):
        assert restored[part] == confirmed[part], (part, confirmed[part], restored[part])
    assert manifest_changes(confirmed["etc"], restored["etc"], {}) == []

    # the rename's rollback: the first run's network, DHCP and xl files back byte for byte, Xen
    # still GRUB's default, no guard armed. No restart here: the first journey's boot showed this
    # very configuration come up, and the first run's rollback below ends in one.
    started = time.monotonic()
    undone = vm.ssh("xenwizard rollback", check=False, timeout=600, phase="rename: rollback")
    vm.mark("rename: rollback", started)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    rolled_back = vm.ssh(HOST_STATE, phase="rename: the state after its rollback").stdout
    etc = host_state(rolled_back)["etc"]
    assert network_files(etc) == network_files(original["etc"]), etc
    boot = vm.ssh(
        f"grub-editenv list; ls {GUARD_LINK} {GUARD_TIMER} 2>&1; echo UNITS; "
        "systemctl list-unit-files --no-legend 'xenwizard-boot-guard*'",
        check=False,
        phase="rename: GRUB and the guard after its rollback",
    ).stdout
    files, units = boot.split("UNITS\n", 1)
    # confirm left saved_entry = Xen and no one-shot: Xen boots by default from now on
    assert f"saved_entry={XEN_ENTRY}\n" in files, boot
    assert not re.search(r"^next_entry=.", files, re.M), boot
    assert files.count("No such file or directory") == 2 and "xenwizard" not in units, boot

    # the first run's rollback over SSH, and a restart on the original network
    started = time.monotonic()
    rolled = vm.ssh("xenwizard rollback", check=False, timeout=APPLY_TIMEOUT, phase="rollback")
    vm.mark("xenwizard rollback (purge)", started)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    vm.poweroff("poweroff after the rollback")
    vm.boot("boot after the rollback (plain Debian 12)")
    after = vm.ssh(
        f"ip -4 -o addr show {NIC}; ip link show br0 2>&1; cat /sys/hypervisor/type 2>&1; "
        f"ls {GRUB_DROPIN} /boot/grub/grubenv 2>&1; grep -c 'Xen hypervisor' /boot/grub/grub.cfg; "
        "echo PACKAGES; dpkg-query -W -f='${Package}\\n' | sort; uname -r",
        phase="after the rollback",
    ).stdout
    # GRUB as before: no drop-in, no grubenv (the image had none), no Xen entry left
    assert after.count("No such file or directory") == 3, after  # and /sys/hypervisor/type
    assert "\n0\n" in after, after
    assert "10.0.2.15" in after, after
    assert "does not exist" in after, after
    assert after.split("\n")[-2] == BEFORE["kernel"]  # the same kernel
    packages_after = installed_packages(after.split("PACKAGES\n", 1)[1])
    packages_before = BEFORE["packages"]
    assert isinstance(packages_before, set)
    # xenwizard's own .deb stays: the role installed it, no run of xenwizard did
    assert packages_after == packages_before | {"xenwizard"}, (
        f"added: {sorted(packages_after - packages_before)}; "
        f"removed: {sorted(packages_before - packages_after)}"
    )
    BEFORE["plain again"] = True  # the drop journey below starts from this plain host


def walk_prefilled(term: Tmux, phase: str) -> str:
    """Welcome to Preview by Enter alone, on answers prefilled from an answers file."""
    term.wait_for(lambda s: "Debian 12" in s and "detecting" not in s, 180, f"{phase}: welcome")
    for number, page in enumerate(("bridge", "subnet", "DHCP", "dom0 memory", "toolstack"), 2):
        term.press("Enter")
        term.wait_for(f"[{number}/9]", 60, f"{phase}: {page} page")
    term.press("Enter")
    return term.wait_for(plan_shown, 180, f"{phase}: preview")


def test_ssh_drop_and_a_network_answer_that_cuts_the_host_off(vm: Machine) -> None:
    """The operator's SSH client dies while apt runs: the apply still completes in the VM. Its
    answers put the LAN gateway's address (10.0.2.2, QEMU's) on the bridge, a clash the operator
    allowed: after the reboot Xen runs but SSH cannot reach the host. The boot guard, unconfirmed,
    rolls the run back and reboots: the host is reachable again on its original configuration."""
    if not (vm.running() and BEFORE.get("plain again")):
        pytest.skip("the Ansible journey did not leave the plain Debian 12 host it starts from")
    original = host_state(vm.ssh(HOST_STATE, phase="drop: the host state before").stdout)
    runs_before = len(json.loads(vm.ssh("xenwizard history --json", phase="drop").stdout))
    vm.ssh(f"cat > /root/cut-off.toml <<'EOF'\n{CUT_OFF_ANSWERS}EOF", phase="drop: answers")
    command = vm.interactive_command("xenwizard --answers /root/cut-off.toml")
    term = Tmux(vm.workdir, command, vm.workdir / "drop.exit")
    try:
        walk_prefilled(term, "drop")
        term.press("a")
        term.wait_for("Apply (y)", 30, "drop: apply confirmation")
        term.press("y")
        term.wait_for(
            lambda s: "[>] running      1." in s and "Unpacking" in s, 600, "drop: package step"
        )
        clients = ssh_clients(vm.port)
        assert clients, "no ssh client of the wizard to kill"
        for pid in clients:
            os.kill(pid, signal.SIGKILL)
    finally:
        term.close()
    started = time.monotonic()
    deadline = started + APPLY_TIMEOUT
    newest: dict = {}
    while time.monotonic() < deadline:
        listed = vm.ssh("xenwizard history --json", check=False, phase="drop: history")
        runs = json.loads(listed.stdout or "[]")
        newest = runs[-1] if len(runs) > runs_before else {}
        if newest and newest["state"] != "running":  # unfinished: the apply died
            break
        time.sleep(15)
    vm.mark("drop: apply finished after the client died", started)
    assert newest.get("state") == "applied", newest
    planned = vm.ssh(f"cat /etc/network/interfaces {GUARD_TIMER}", phase="drop: applied").stdout
    assert "address 10.0.2.2/24" in planned and "OnBootSec=2min" in planned, planned

    # the reboot: Xen and dom0 come up (the login prompt on Xen's console), SSH does not answer
    vm.poweroff("drop: poweroff")
    started = vm.start("drop: boot with the cut-off network")
    vm.wait_serial("xenhost login:", 900, "drop: dom0 up")
    vm.mark("drop: QEMU start to dom0's login prompt", started)
    assert not vm.reachable(), "SSH answers although the bridge holds the gateway's address"
    # the guard: 2 minutes after boot, not confirmed: rollback, reboot (QEMU ends: -no-reboot)
    vm.wait_down("drop: the boot guard's rollback and reboot", 1500)
    vm.mark("drop: QEMU start to the guard's reboot", started)
    vm.boot("drop: boot after the guard (plain Debian 12)")
    vm.mark("drop: QEMU start to reachable again", started)
    back = host_state(vm.ssh(HOST_STATE, phase="drop: the host state after the guard").stdout)
    rest = vm.ssh(
        f"ip -4 -o addr show {NIC}; cat /sys/hypervisor/type 2>&1; xenwizard history --json",
        phase="drop: after the guard",
    ).stdout
    # files, packages, GRUB and accounts as before the apply (the dnsmasq user was there already,
    # from the first test's run)
    for part in ("packages", "grub", "users"):
        assert back[part] == original[part], (part, original[part], back[part])
    assert manifest_changes(original["etc"], back["etc"], {}) == []
    assert "10.0.2.15" in rest and "No such file" in rest, rest  # on eth0, no Xen
    guarded = json.loads(rest[rest.index("[") :])[-1]
    assert guarded["state"] == "rolled-back", guarded
    assert guarded["rollback_reason"].startswith("boot guard: not confirmed within 2 min"), guarded
    BEFORE["plain after the drop"] = True  # the isolated journey below starts from here


def test_isolated_bridge_through_the_guarded_reboot(vm: Machine) -> None:
    """The hosting provider's shape, headless over SSH: `xenwizard apply --yes --isolated` puts a
    bridge with no NIC in interfaces.d and leaves /etc/network/interfaces as it was; after the
    reboot into Xen SSH still answers on the untouched NIC, verify passes, and a guest with a
    Xen MAC leases on the bridge from the host's dnsmasq and reaches QEMU's network through the
    host's NAT (its SYN leaves eth0 with the host's address, QEMU's answer comes back to it), no
    frame leaves eth0 with a Xen MAC; confirm keeps Xen. Runs after the drop journey's plain
    host, or alone on a fresh image."""
    if vm.boots == 0:
        vm.boot("isolated: first boot (plain Debian 12)")
    elif not (vm.running() and BEFORE.get("plain after the drop")):
        pytest.skip("the drop journey did not leave the plain Debian 12 host it starts from")
    nic_files = (
        f"sha256sum /etc/network/interfaces; ls /etc/network/interfaces.d; ip -o link show {NIC}"
    )
    before = vm.ssh(nic_files, phase="isolated: the NIC's files before").stdout
    assert "master" not in before, before

    started = time.monotonic()
    applied = vm.ssh(
        "xenwizard apply --yes --isolated --confirm-within 8",
        check=False,
        timeout=APPLY_TIMEOUT,
        phase="isolated: apply",
    )
    vm.mark("isolated: xenwizard apply --yes --isolated", started)
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-2000:]
    assert "no network lockout risk" in applied.stdout, applied.stdout[-4000:]
    after = vm.ssh(
        f"{nic_files}; cat /etc/network/interfaces.d/xenwizard-bridge",
        phase="isolated: applied",
    ).stdout
    assert after.startswith(before.split("\n", 1)[0]), f"interfaces changed:\n{before}\n{after}"
    assert "bridge_ports none" in after and "address 10.0.0.1/24" in after, after

    vm.poweroff("isolated: poweroff after the apply")
    vm.boot("isolated: boot into Xen (the one-shot entry), SSH on the untouched NIC", timeout=600)
    xen = vm.ssh(
        f"cat /sys/hypervisor/type; ip -4 -o addr show {NIC}; ip -o link show {NIC}; "
        "ip -4 -o addr show br0; ls /sys/class/net/br0/brif; sysctl net.ipv4.ip_forward",
        phase="isolated: Xen is running",
    ).stdout
    assert xen.startswith("xen"), xen
    assert f"{NIC}    inet 10.0.2.15/24" in xen and "master" not in xen, xen
    assert "br0    inet 10.0.0.1/24" in xen and "net.ipv4.ip_forward = 1" in xen, xen
    started = time.monotonic()
    verified = vm.ssh("xenwizard verify", check=False, timeout=180, phase="isolated: verify")
    vm.mark("isolated: xenwizard verify", started)
    assert verified.returncode == 0 and "FAIL" not in verified.stdout, (
        verified.stdout + verified.stderr
    )

    # The guest connects to QEMU's gateway (10.0.2.2) through the host: QEMU's restricted user
    # network answers with a reset (vm9: "Connection refused"), which reaches the guest only
    # back through the host's NAT; the capture on eth0 shows its SYN left with the host's own
    # address and that no frame left with a Xen MAC.
    reach = f"10.0.2.2:{vm.port}"
    uplink.start(vm, NIC, 400, "isolated: capture on the uplink")
    guest = run_canary(vm, "canary4", XEN_MAC, "isolated: canary through NAT", reach=reach)
    frames, captured = uplink.stop(vm, "isolated: the uplink's frames")
    assert guest.lease is not None, guest.console
    assert guest.lease["serverid"] == "10.0.0.1", guest.lease
    assert guest.lease["ip"].startswith("10.0.0."), guest.lease
    assert guest.reached is not None and (
        guest.reached.startswith("SSH-2.0-") or "Connection refused" in guest.reached
    ), f"no answer from {reach} reached the guest: {guest.reached}\n{guest.console[-3000:]}"
    shown = f"the capture on {NIC}:\n{captured[-3000:]}"
    assert any(f.ipv4 == f"10.0.2.15>10.0.2.2 proto 6 dport {vm.port}" for f in frames), shown
    assert not [f for f in frames if f.mac.startswith("00:16:3e:")], shown
    assert not [f for f in frames if f.ipv4.startswith("10.0.0.")], shown
    started = time.monotonic()
    confirmed = vm.ssh("xenwizard confirm", check=False, timeout=300, phase="isolated: confirm")
    vm.mark("isolated: xenwizard confirm", started)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
