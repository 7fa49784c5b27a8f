"""The canary's own guest side, proven against the real dnsmasq in network namespaces.

No Xen here, so `xl` is played by a runner that, on `xl create`, unpacks the initramfs the
canary built (the real `cpio`), plugs a veth with the canary's MAC into the bridge of a "host"
namespace where the real dnsmasq serves it, and runs the initramfs' own /canary.sh with its
static busybox (chrooted, in a "guest" namespace). /init itself is not run: its `poweroff -f`
would power off this machine (and its devtmpfs mount is left out: /dev/null is made as a node).
Everything else is the product: `run_canary` reads the real dnsmasq's leases file, sees the
lease in the range, waits for the guest's release, and finds nothing left behind.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from tests.kits.canarykit import LEASES, live_host
from tests.kits.netns import DNSMASQ, Dnsmasq, Lab, Netns, add_bridge, add_veth, skip_unless_netns
from xenwizard.answers.model import WizardConfig
from xenwizard.verify.hostcheck.canary import run_canary

pytestmark = [pytest.mark.netns, pytest.mark.slow]

GUEST_SETUP = (
    "/bin/busybox --install -s /bin && export PATH=/bin && mount -t proc proc /proc "
    "&& mount -t sysfs sysfs /sys && sh /canary.sh"
)


DOMID = "7"


class NetnsXl:
    """`xl create/domid/destroy` for one canary, with a namespace for its domain."""

    def __init__(self, lab: Lab, host: Netns, bridge: str):
        self.lab, self.host, self.bridge = lab, host, bridge
        self.guest: subprocess.Popen | None = None
        self.calls: list[list[str]] = []
        self.output = ""

    def run(
        self,
        argv: Sequence[str],
        on_line: Callable[[str], None],
        env: Mapping[str, str] | None = None,
    ) -> int:
        assert list(argv[:2]) == ["timeout", "-k"]
        command = list(argv[4:])
        self.calls.append(command)
        verb = command[1]
        if verb == "create":
            self._create(Path(command[2]))
            return 0
        alive = self.guest is not None and self.guest.poll() is None
        if verb == "domid" and alive:
            on_line(DOMID)  # as the real `xl domid NAME` prints it
        if verb == "destroy" and alive:
            assert command[2] == DOMID  # by id: only the domain the canary created
            assert self.guest is not None
            self.guest.kill()
            self.guest.wait(10)
        return 0 if alive else 1

    def _create(self, config: Path) -> None:
        text = config.read_text()
        mac = re.search(r"mac=([0-9a-f:]+),bridge=" + self.bridge, text).group(1)  # type: ignore[union-attr]
        ramdisk = Path(re.search(r'ramdisk = "([^"]+)"', text).group(1))  # type: ignore[union-attr]
        tree = self.lab.workdir("guest-root")
        subprocess.run(
            ["cpio", "-i", "-d", "--quiet", "--no-absolute-filenames"],
            input=gzip.decompress(ramdisk.read_bytes()),
            cwd=tree,
            check=True,
        )
        os.mknod(tree / "dev/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # no devtmpfs here
        guest = self.lab.namespace("guest")
        add_veth(self.host, "vifc.0", guest, "eth0", mac=mac, master=self.bridge)
        self.guest = guest.popen(
            ["chroot", str(tree), "/bin/busybox", "sh", "-c", GUEST_SETUP],
            "canary guest",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def test_the_canary_gets_a_lease_from_the_real_dnsmasq_and_releases_it(tmp_path) -> None:
    skip_unless_netns(DNSMASQ, "/usr/bin/cpio")
    root = live_host(tmp_path / "root")
    with Lab("canary") as lab:
        host = lab.namespace("host")
        add_bridge(host, "br0", address="10.0.0.1/24")
        dnsmasq = Dnsmasq(
            host,
            root / Path(LEASES).parent,  # its leases file is the root's dnsmasq.leases
            extra=["--interface=br0", "--dhcp-range=10.0.0.10,10.0.0.100,12h"],
        ).start()
        assert dnsmasq.lease_file == root / LEASES
        xl = NetnsXl(lab, host, "br0")
        result = run_canary(root, WizardConfig(), xl, timeout=60)
        console = xl.guest.communicate(timeout=10)[0] if xl.guest else ""
        log = dnsmasq.log()
        dnsmasq.stop()
    assert result.passed, f"{result.reason}\n{console}\n{log}"
    assert result.lease_ip is not None
    assert f"DHCPACK(br0) {result.lease_ip} {result.mac}" in log
    # udhcpc -R from the address lease.sh put on eth0: dnsmasq dropped the lease.
    assert f"DHCPRELEASE(br0) {result.lease_ip} {result.mac}" in log, console
    assert result.left_behind == ()
    assert result.mac not in (root / LEASES).read_text()
    assert "xenwizard-canary: lease " in console
    assert not (root / "run/xenwizard").exists()
    verbs = [c[1] for c in xl.calls]
    assert verbs[:2] == ["domid", "create"] and "destroy" in verbs  # none of its name before
