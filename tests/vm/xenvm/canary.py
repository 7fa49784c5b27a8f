"""A canary PV guest in the VM's dom0: the dom0 kernel with the busybox initramfs of the image
(tests/vm/xenvm/image.py), whose /init asks for a DHCP lease on its vif and prints what it got as
`XWCANARY ...` lines on its console, holds a few seconds (for `ethtool -k` on its vif), then
powers off. Given `reach` (HOST:PORT), it also takes the lease as its address and default route
and reports the first line a TCP server there sends: proof that it reaches other networks.

Its console is read through `xl create -c` in an SSH session with a terminal, so no xenconsoled
logging has to be configured. `xl create` once in a while never returns under emulation
(../shared/reference/xen-vm.md): every run is bounded and retried once.
"""

from __future__ import annotations

import re
import selectors
import subprocess
import time
from dataclasses import dataclass

from tests.vm.xenvm.image import GUEST_DIR
from tests.vm.xenvm.machine import Machine

HOLD = 25  # seconds the guest stays up after its DHCP attempt


@dataclass(frozen=True)
class CanaryResult:
    console: str
    lease: dict[str, str] | None  # ip, serverid, router, lease
    vif_offload: str | None  # `ethtool -k` of its vif in dom0, read while it held
    reached: str | None  # the first line from `reach`'s server, or what went wrong instead


def config(name: str, mac: str, kernel_version: str, reach: str | None = None) -> str:
    wanted = f" xwreach={reach}" if reach else ""
    return (
        f'name = "{name}"\n'
        'type = "pv"\n'
        f'kernel = "/boot/vmlinuz-{kernel_version}"\n'
        f'ramdisk = "/{GUEST_DIR}/initrd.gz"\n'
        f'extra = "console=hvc0 rdinit=/init xwhold={HOLD}{wanted}"\n'
        "memory = 128\n"
        "vcpus = 1\n"
        f'vif = [ "mac={mac}" ]\n'
        'on_poweroff = "destroy"\n'
        'on_crash = "destroy"\n'
    )


def _parse_lease(console: str) -> dict[str, str] | None:
    match = re.search(r"XWCANARY lease (.*)", console)
    if not match:
        return None
    return dict(part.split("=", 1) for part in match.group(1).split() if "=" in part)


def _parse_reach(console: str) -> str | None:
    match = re.search(r"XWCANARY reach \S+ (.*)", console)
    return match.group(1).strip() if match else None


def run_canary(
    vm: Machine, name: str, mac: str, phase: str, tries: int = 2, reach: str | None = None
) -> CanaryResult:
    """Start the guest, read its console until it is done, and its vif's offloads meanwhile."""
    cfg = f"/{GUEST_DIR}/{name}.cfg"
    vm.ssh(
        f"cat > {cfg} <<'EOF'\n{config(name, mac, vm.image.kernel_version, reach)}EOF\n"
        f"xl destroy {name} 2>/dev/null; true",
        phase=phase,
    )
    last = ""
    for attempt in range(1, tries + 1):
        started = time.monotonic()
        console = subprocess.Popen(
            [*vm.ssh_argv("-tt"), f"timeout 170 xl create -c {cfg}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert console.stdout is not None
        output = bytearray()
        offload = None
        deadline = started + 200
        selector = selectors.DefaultSelector()
        selector.register(console.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=2):
                chunk = console.stdout.read1(65536)  # type: ignore[attr-defined]
                if not chunk:
                    break
                output += chunk
            text = output.decode("utf-8", "replace")
            if offload is None and "XWCANARY done" in text:
                offload = vm.ssh(
                    f"ethtool -k vif$(xl domid {name}).0", check=False, phase=phase
                ).stdout
        console.kill()
        console.wait(30)
        last = output.decode("utf-8", "replace").replace("\r", "")
        vm.mark(f"{phase} (attempt {attempt})", started)
        if "XWCANARY done" in last:
            return CanaryResult(last, _parse_lease(last), offload, _parse_reach(last))
        vm.ssh(f"xl destroy {name} 2>/dev/null; true", check=False, timeout=60)
    vm.fail(
        phase, f"the canary {name} never finished its DHCP attempt; its console:\n{last[-3000:]}"
    )
