"""Snapshot tests of every wizard screen at 80x24 (pytest-textual-snapshot).

Each test drives one scenario of `tests.kits.gallery` (the same ones `scripts/make-screens`
draws for `screens/`): a copy of the packaged sample system, pinned facts and run id, injected
steps whose commands never run. Review the HTML report before `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import gallery


@pytest.fixture(autouse=True)
def _pinned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    with gallery.pinned():  # run id; network checks (as scripts/make-screens pins them)
        yield


def check(snap_compare, tmp_path: Path, name: str, source: Path = gallery.SAMPLE_ROOT) -> None:
    item = gallery.scenario(name) if isinstance(name, str) else name
    app, runner = gallery.build_app(item, tmp_path, source)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await gallery.drive(pilot, item.keys, runner)

    try:
        assert snap_compare(app, terminal_size=gallery.SIZE, run_before=run_before)
    finally:
        runner.release.set()
        runner.resume.set()
    if item.name != "error":
        assert app.crashed is None


class TestWelcome:
    def test_welcome(self, snap_compare, tmp_path):
        """Plain-words intro, release/profile, Xen, toolstack, interfaces, route, root, SSH."""
        check(snap_compare, tmp_path, "welcome")

    def test_not_root_over_ssh_unfinished_run(self, snap_compare, tmp_path):
        """NOT root and over SSH in words; the unfinished run with its Roll back (r) button."""
        check(snap_compare, tmp_path, "welcome-unfinished")

    def test_debian_12(self, snap_compare, tmp_path):
        """debian-12 detected, the xl recipe, 'xl, the only toolstack here', eno1 and route."""
        check(snap_compare, tmp_path, "debian-12-welcome")

    def test_ubuntu_24_04_over_ssh(self, snap_compare, tmp_path):
        """ubuntu-24.04 over SSH through eno1: the whole WARNING, ending 'before rebooting'."""
        check(snap_compare, tmp_path, "ubuntu-24.04-welcome-ssh")

    def test_ubuntu_24_04_isolated(self, snap_compare, tmp_path):
        """isolated = true over SSH: 'Isolated bridge (no NIC) ... no network lockout risk'."""
        check(snap_compare, tmp_path, "ubuntu-24.04-welcome-isolated")


class TestBridge:
    def test_bridge(self, snap_compare, tmp_path):
        """br0 marked ok beside the field; eth0 and lo listed with addresses."""
        check(snap_compare, tmp_path, "bridge")

    def test_invalid_name(self, snap_compare, tmp_path):
        """'br0;reboot' typed: 'invalid:' and the reason beside the red field."""
        check(snap_compare, tmp_path, "bridge-invalid")

    def test_clash(self, snap_compare, tmp_path):
        """'eth0' typed: 'invalid: eth0 is a network card of this system, not a bridge'."""
        check(snap_compare, tmp_path, "bridge-clash")

    def test_nic_field_debian_12(self, snap_compare, tmp_path):
        """Debian 12: 'NIC to bridge' eno1 ok, 'detected: eno1, carries the default route'."""
        check(snap_compare, tmp_path, "debian-12-bridge")

    def test_isolated_debian_12(self, snap_compare, tmp_path):
        """Debian 12: Shape (•) isolated, the two shapes' sentences, no 'NIC to bridge' row."""
        check(snap_compare, tmp_path, "debian-12-bridge-isolated")


class TestSubnet:
    def test_subnet(self, snap_compare, tmp_path):
        """10.0.0.1/24 with network, netmask, broadcast, 254 usable hosts, alias br0:0."""
        check(snap_compare, tmp_path, "subnet")

    def test_overlap(self, snap_compare, tmp_path):
        """192.168.1.1/24 typed: WARNING that it overlaps eth0's 192.168.1.10/24."""
        check(snap_compare, tmp_path, "subnet-overlap")


class TestSubnetIpv6:
    def test_guest_ipv6_debian_12(self, snap_compare, tmp_path):
        """Debian 12: 'Guest IPv6' under the subnet, a /48 refused with its one-line reason."""
        check(snap_compare, tmp_path, "debian-12-subnet-ipv6")


class TestDhcp:
    def test_dhcp(self, snap_compare, tmp_path):
        """Range, lease, '91 addresses for guests', [x] Xen guests only with the reason."""
        check(snap_compare, tmp_path, "dhcp")

    def test_end_outside_subnet(self, snap_compare, tmp_path):
        """End 10.0.1.100: both range fields say it is outside the subnet 10.0.0.0/24."""
        check(snap_compare, tmp_path, "dhcp-invalid")

    def test_udp_switch_debian_12(self, snap_compare, tmp_path):
        """Debian 12: '[ ] UDP checksum workaround' (off by default) with its one-line why."""
        check(snap_compare, tmp_path, "debian-12-dhcp")


class TestDom0Memory:
    def test_default(self, snap_compare, tmp_path):
        """RAM, 'Default 1102 MiB: RULE' in one line, the field focused, what guests keep."""
        check(snap_compare, tmp_path, "dom0-memory")

    def test_boot_guard_debian_12(self, snap_compare, tmp_path):
        """systemd: the boot guard's switch on, 10 minutes to confirm."""
        check(snap_compare, tmp_path, "debian-12-dom0-memory")

    def test_more_than_the_ram(self, snap_compare, tmp_path):
        """8G on 3931 MiB: 'invalid: 8192 MiB is more than the machine has' beside the field."""
        check(snap_compare, tmp_path, "dom0-memory-invalid")


class TestToolstack:
    def test_warning(self, snap_compare, tmp_path):
        """Keep xm: what breaks with xl; the acknowledgement unticked '[ ]'."""
        check(snap_compare, tmp_path, "toolstack")

    def test_next_refused(self, snap_compare, tmp_path):
        """Enter without the tick: 'Next is refused: tick the acknowledgement first'."""
        check(snap_compare, tmp_path, "toolstack-refused")

    def test_xl_debian_12(self, snap_compare, tmp_path):
        """Debian 12: 'Toolstack: xl', what replaces network-script; no checkbox, Next focused."""
        check(snap_compare, tmp_path, "debian-12-toolstack")

    def test_xl_ubuntu_24_04(self, snap_compare, tmp_path):
        """Ubuntu 24.04: the same xl notice (never the xm text), nothing to acknowledge."""
        check(snap_compare, tmp_path, "ubuntu-24.04-toolstack")


class TestPreview:
    def test_diff(self, snap_compare, tmp_path):
        """Step 7 selected: the interfaces diff with the br0:0 stanza, marks in the list."""
        check(snap_compare, tmp_path, "preview")

    def test_summary(self, snap_compare, tmp_path):
        """Summary: profile, root, 10 of 10 steps change, the eight files, the warning."""
        check(snap_compare, tmp_path, "preview-summary")

    def test_not_root(self, snap_compare, tmp_path):
        """Apply button gone grey and the status line says why: not running as root."""
        check(snap_compare, tmp_path, "preview-not-root")

    def test_save_dialog(self, snap_compare, tmp_path):
        """'s': the save dialog with ./xenwizard-plan.diff as the default path."""
        check(snap_compare, tmp_path, "preview-save")

    def test_confirm(self, snap_compare, tmp_path):
        """'a': 'Apply the plan?' with Apply (y) / Cancel (n), Cancel focused."""
        check(snap_compare, tmp_path, "preview-confirm")

    def test_debian_12_bridge_diff(self, snap_compare, tmp_path):
        """Debian 12, step 2: 'iface eno1 inet manual', br0 with bridge_ports/bridge_hw."""
        check(snap_compare, tmp_path, "debian-12-preview")

    def test_ubuntu_24_04_cloud_init(self, snap_compare, tmp_path):
        """Ubuntu 24.04 summary: the bridge goes into netplan; WARNING cloud-init owns the file."""
        check(snap_compare, tmp_path, "ubuntu-24.04-preview")

    def test_ubuntu_24_04_netplan_file(self, snap_compare, tmp_path):
        """Ubuntu 24.04, step 3: the new 90-xenwizard.yaml, eno1 dhcp4 false, br0 below."""
        check(snap_compare, tmp_path, "ubuntu-24.04-preview-netplan")

    def test_debian_12_isolated(self, snap_compare, tmp_path):
        """Summary: the bridge in interfaces.d, 'no network lockout risk at the reboot'."""
        check(snap_compare, tmp_path, "debian-12-preview-isolated")


class TestApply:
    def test_running(self, snap_compare, tmp_path):
        """Step 4 '[>] running' while it waits, 1-3 done/simulated, 5-8 '[ ] pending', log."""
        check(snap_compare, tmp_path, "apply-running")

    def test_failed_after_rollback(self, snap_compare, tmp_path):
        """Step 8 '[!] FAILED', 2-7 '[<] rolled back', 'ROLLED BACK' with the log path."""
        check(snap_compare, tmp_path, "apply-failed")

    def test_debian_12_running(self, snap_compare, tmp_path):
        """Debian 12: 13 steps one line each, step 11 in view; the log keeps its room."""
        check(snap_compare, tmp_path, "debian-12-apply-running")

    def test_applied(self, snap_compare, tmp_path):
        """Every step '[*] done' (packages '[~] simulated'), 'APPLIED', Continue button."""
        check(snap_compare, tmp_path, "apply-done")


class TestDone:
    def test_done(self, snap_compare, tmp_path):
        """Outcome, reboot + 'ip addr show br0', rollback RUN_ID, answers.toml, what changed."""
        check(snap_compare, tmp_path, "done")


class TestBootGuard:
    def test_pending_guard_debian_12(self, snap_compare, tmp_path):
        """Run id and deadline, verify's PASS/SKIP lines; Confirm, Roll back now, Continue."""
        check(snap_compare, tmp_path, "debian-12-boot-guard")


class TestDialogs:
    def test_help(self, snap_compare, tmp_path):
        """F1 on the bridge page: what the page is for and the keys."""
        check(snap_compare, tmp_path, "help")

    def test_quit(self, snap_compare, tmp_path):
        """Ctrl-Q: 'Quit xenwizard?' saying nothing has been changed."""
        check(snap_compare, tmp_path, "quit")

    def test_error(self, snap_compare, tmp_path):
        """An injected exception: ERROR page with the message and the details file, no traceback."""
        check(snap_compare, tmp_path, "error")
