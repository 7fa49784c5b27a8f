"""The namespace tests that need kernel drivers this machine's kernel lacks, in a Debian 12 VM.

`tests/system/test_netns_bond_vlan.py` puts a bond of two veths and a VLAN on a veth under the
bridge; it needs the bonding and 8021q drivers, which the kernel of this machine (and of CI's)
does not have, so there it is skipped. Debian's own kernel has both: this test boots the plain
Debian 12 image (no Xen) in QEMU, installs the test's programs from the image's local
repository (dnsmasq, nft, ifenslave, bridge-utils, ethtool, bubblewrap), and runs that test file
with pytest in this checkout's copy, as CI runs it (`CI=true`: a missing program fails). Both
shapes must pass; a skip fails here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.vm.xenvm.machine import Machine
from tests.vm.xenvm.prebuild import INSIDE, INSIDE_SUITE
from tests.vm.xenvm.session import vm_session

pytestmark = [pytest.mark.slow, pytest.mark.xenvm]
VM_SUITE = INSIDE_SUITE  # its image is built in the background from the start of the run
TEST_FILE = "tests/system/test_netns_bond_vlan.py"


@pytest.fixture(scope="module")
def vm() -> Iterator[Machine]:
    with vm_session(VM_SUITE) as machine:
        yield machine


def test_bond_and_vlan_under_the_bridge_with_debians_kernel(vm: Machine) -> None:
    vm.boot("inside: first boot (plain Debian 12)")
    started = time.monotonic()
    installed = vm.ssh(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        + " ".join(INSIDE.packages),
        check=False,
        timeout=900,
        phase="inside: the test's programs",
    )
    vm.mark("inside: apt-get install the test's programs", started)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    started = time.monotonic()
    ran = vm.ssh(
        f"cd /{INSIDE.checkout} && CI=true /opt/xenwizard/bin/python -m pytest "
        f"-p no:cacheprovider -rs -v {TEST_FILE}",
        check=False,
        timeout=1500,
        phase=f"inside: pytest {TEST_FILE}",
    )
    vm.mark(f"inside: pytest {TEST_FILE}", started)
    out = ran.stdout + ran.stderr
    assert ran.returncode == 0, out[-8000:]
    assert re.search(r"\b2 passed\b", out) and "skipped" not in out, out[-8000:]
