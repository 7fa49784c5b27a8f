"""A real xen-tools guest in the VM's dom0, made as an admin makes one after xenwizard's run:
`xen-create-image` with xenwizard's block in /etc/xen-tools/xen-tools.conf (bridge, DHCP, the
host's codename, the storage dir, 512M of memory, xenwizard's network role) and only the options
that say where the system comes from (the tarball of tests/vm/xenvm/guestimage.py; no network in
the VM), then `xl create`. The guest boots its own kernel through pygrub, its network comes up
on the bridge under whatever name its udev gives the NIC, it takes a lease from the host's
dnsmasq, and dom0 pings it. The guest and its disk are removed afterwards.

On by default (XENWIZARD_VM_XEN_TOOLS=0 leaves it out). It needs the VM's CPU without XSAVE and
AVX (machine.CPU): with them, under QEMU 7.2's emulation, the guest's own userspace crashed
(vm8: systemd-gpt-auto-generator segfaulted in ld.so, systemd took a general protection fault in
libc) after pygrub, its kernel and initramfs had gone well.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass

from tests.vm.xenvm.guestimage import GUEST_TARBALL, guest_mirror
from tests.vm.xenvm.hoststate import dnsmasq_dhcp_log
from tests.vm.xenvm.machine import Machine

CREATE_TIMEOUT = 1500  # unpacking the tarball into its disk image under emulation
LEASE_TIMEOUT = 600  # the guest's boot (pygrub, systemd, ifupdown) under emulation
CONSOLE_BOUND = LEASE_TIMEOUT + 120  # the console reader outlives the wait for the lease


@dataclass(frozen=True)
class XenToolsGuest:
    name: str
    mac: str
    lease_ip: str
    config: str  # /etc/xen/NAME.cfg as xen-create-image wrote it


def make_xen_tools_guest(vm: Machine, name: str, phase: str) -> XenToolsGuest:
    created = vm.ssh(
        f"xen-create-image --hostname {name} --install-method=tar "
        f"--install-source=/{GUEST_TARBALL} --mirror={guest_mirror()} --pygrub "
        # a swap disk, not --noswap: xen-tools 4.9.2's menu.lst for pygrub hard-codes
        # `kopt=root=/dev/xvda2` (common.sh, generateDebianGrubMenuLst), and the root is xvda2
        # only beside a swap xvda1; with --noswap the root is xvda1 and the guest cannot boot.
        # No --memory: xenwizard's block gives 512M (the shipped 256M deadlocks a bookworm
        # guest unpacking its initramfs, MODULES=most: "System is deadlocked on memory").
        "--size=2G --swap=64M",
        check=False,
        timeout=CREATE_TIMEOUT,
        phase=f"{phase}: xen-create-image",
    )
    log = vm.ssh(f"cat /var/log/xen-tools/{name}.log", check=False, phase=phase).stdout
    assert created.returncode == 0, (created.stdout + created.stderr)[-4000:] + log[-4000:]
    config = vm.ssh(f"cat /etc/xen/{name}.cfg", phase=f"{phase}: its config").stdout
    match = re.search(r"mac=([0-9A-Fa-f:]{17})", config)
    assert match, config
    mac = match.group(1).lower()
    assert "bootloader" in config and "pygrub" in config, config
    assert "bridge=br0" in config and mac.startswith("00:16:3e:"), config
    assert re.search(r"^memory\s*=\s*'512'$", config, re.M), config  # the block's memory
    console = _GuestConsole(vm, name)
    try:
        lease_ip = _wait_for_lease(vm, mac, phase, console)
        pinged = vm.ssh(f"ping -c 3 -W 5 {lease_ip}", check=False, phase=f"{phase}: ping")
        assert pinged.returncode == 0, pinged.stdout + pinged.stderr + console.text()[-3000:]
        return XenToolsGuest(name, mac, lease_ip, config)
    except subprocess.TimeoutExpired as exc:  # dom0 too busy to answer SSH: still show the guest
        raise AssertionError(f"{phase}: {exc}\nits console:\n{console.text()[-6000:]}") from exc
    finally:
        console.close()
        vm.ssh(
            f"xl destroy {name} 2>/dev/null; xen-delete-image --hostname {name} 2>&1; "
            f"rm -f /etc/xen/{name}.cfg",
            check=False,
            timeout=300,
            phase=f"{phase}: remove the guest",
        )


class _GuestConsole:
    """`xl create -c` in an SSH session with a terminal, read in a thread: the guest's own
    console (pygrub's choice, its kernel, its boot) is what a failure report needs."""

    def __init__(self, vm: Machine, name: str) -> None:
        self._output = bytearray()
        self._process = subprocess.Popen(
            [*vm.ssh_argv("-tt"), f"timeout {CONSOLE_BOUND} xl create -c /etc/xen/{name}.cfg"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        while chunk := self._process.stdout.read1(65536):  # type: ignore[attr-defined]
            self._output += chunk

    def text(self) -> str:
        return bytes(self._output).decode("utf-8", "replace").replace("\r", "")

    def close(self) -> None:
        self._process.kill()
        self._process.wait(30)
        self._reader.join(30)


def _wait_for_lease(vm: Machine, mac: str, phase: str, console: _GuestConsole) -> str:
    """The address the host's dnsmasq gave `mac` on br0 (DHCPACK in its log)."""
    deadline = time.monotonic() + LEASE_TIMEOUT
    heard = ""
    while time.monotonic() < deadline:
        try:
            heard = vm.ssh(dnsmasq_dhcp_log(f" {mac}"), check=False, phase=f"{phase}: lease").stdout
        except subprocess.TimeoutExpired:  # dom0 busy serving the booting guest: ask again
            continue
        match = re.search(rf"DHCPACK\(br0\) (\S+) {re.escape(mac)}", heard)
        if match:
            return match.group(1)
        time.sleep(15)
    state = vm.ssh(
        "xl list; cat /etc/xen/*.cfg; tail -n 5 /var/log/xen/xl-*.log",
        check=False,
        timeout=300,
        phase=phase,
    ).stdout
    raise AssertionError(
        f"{phase}: no lease for {mac} within {LEASE_TIMEOUT} s\n{heard}\n{state}\n"
        f"its console:\n{console.text()[-6000:]}"
    )
