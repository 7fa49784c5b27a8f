"""`run_canary` (hostcheck/canary.py) against a fixture root that looks like a booted Xen host
and a fake `xl` (tests/kits/canarykit.py): its refusals, a pass, each way it fails with its reason,
`xl create` hanging and retried once, and the cleanup on every path: `xl destroy` called,
nothing left under run/xenwizard, a lease that stayed reported in left_behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits.canarykit import (
    DNSMASQ_PID,
    KERNEL,
    LEASES,
    FakeClock,
    FakeXl,
    Guest,
    TickingLeases,
    live_host,
    stop_dnsmasq,
)
from tests.kits.helpers import PRECISE_ROOT, copy_root, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.verify.hostcheck import canary as canary_module
from xenwizard.verify.hostcheck.canary import (
    CREATE_BOUND,
    NAME_PREFIX,
    canary_for_applied,
    random_mac,
    run_canary,
)
from xenwizard.verify.hostcheck.leases import in_range, parse_leases

CONFIG = WizardConfig()


def run(root: Path, guest: Guest | None = None, *, timeout: float = 120, config=CONFIG, **xl):
    clock = FakeClock()
    fake = FakeXl(root, clock, guest or Guest(), **xl)
    lines: list[str] = []
    result = run_canary(
        root, config, fake, timeout=timeout, on_progress=lines.append, clock=TickingLeases(fake)
    )
    return result, fake, lines


def nothing_left(root: Path, fake: FakeXl) -> None:
    """The canary's own cleanup: no directory of it under run/, the domain destroyed."""
    assert not (root / "run/xenwizard").exists()  # made by the canary, removed again
    assert list((root / "run").iterdir()) == []
    if fake.created_at is not None:  # a domain was made: destroyed, by its id
        assert "destroy" in fake.verbs()
        assert not fake.alive


@pytest.fixture
def host(tmp_path: Path) -> Path:
    return live_host(tmp_path / "root")


# --- a pass -------------------------------------------------------------------------------------


def test_a_lease_in_the_range_passes_and_nothing_is_left(host) -> None:
    result, fake, lines = run(host)
    assert result.passed, result.reason
    assert result.lease_ip == "10.0.0.57" and result.mac == fake.mac
    assert result.name == fake.name and result.name.startswith(NAME_PREFIX)
    assert result.reason == (
        f"{fake.name} ({fake.mac}) got 10.0.0.57 from dnsmasq on br0 in 20 s "
        "(range 10.0.0.10-10.0.0.100)"
    )
    assert result.left_behind == ()
    # It waited for the guest's release and poweroff before destroying it.
    assert fake.verbs()[:3] == ["domid", "create", "domid"]  # none of that name before
    assert fake.verbs()[-2:] == ["destroy", "domid"]
    assert fake.clock.now() >= fake.created_at + fake.guest.up_for
    assert fake.mac not in (host / LEASES).read_text()
    nothing_left(host, fake)
    assert "building the canary's initramfs" in lines and "cleaning up" in lines


def test_xl_killed_while_the_guest_boots_is_no_answer_and_the_guest_gets_its_lease(host) -> None:
    """`xl domid` killed by a signal (-11, seen in the emulated Xen host under load), then a
    transient exit 1: neither is taken for a guest that powered off, so the booting guest is
    not destroyed before it asks for its lease."""
    result, fake, _ = run(host, domid_answers=[-11, -11, 1, 0])
    assert result.passed, result.reason
    assert result.lease_ip == "10.0.0.57"
    assert fake.destroyed_at is None  # it powered off by itself after its release
    assert result.left_behind == () and not (host / "run/xenwizard").exists()


def test_a_guest_gone_is_confirmed_by_a_second_answer(host) -> None:
    result, fake, _ = run(host, Guest(lease_ip=None, up_for=30))
    assert result.reason.startswith("no lease for") and "powered off" in result.reason
    domids = [call for call in fake.calls[2:] if call[1] == "domid"]
    assert len(domids) >= 3  # alive answers, then "does not exist" twice before it concluded
    nothing_left(host, fake)


def test_the_xl_config_boots_the_running_kernel_on_the_bridge(host) -> None:
    config = build_config({"bridge": "xenbr7"})
    host = live_host(host, bridge="xenbr7")
    result, fake, _ = run(host, config=config)
    assert result.passed, result.reason
    text = fake.config_text
    assert f'name = "{fake.name}"' in text
    assert f'kernel = "{host}/boot/vmlinuz-{KERNEL}"' in text
    assert 'ramdisk = "' in text and "/run/xenwizard/canary-" in text
    assert f'vif = [ "mac={fake.mac},bridge=xenbr7" ]' in text
    assert "memory = 128" in text and 'on_poweroff = "destroy"' in text


def test_the_temp_dir_is_private_while_the_guest_runs(host) -> None:
    seen = {}

    def look(fake: FakeXl) -> None:
        (workdir,) = (host / "run/xenwizard").iterdir()
        seen["modes"] = (
            (host / "run/xenwizard").stat().st_mode & 0o777,
            workdir.stat().st_mode & 0o777,
        )
        seen["files"] = sorted(p.name for p in workdir.iterdir())

    result, _fake, _ = run(host, on_create=look)
    assert result.passed
    assert seen == {"modes": (0o700, 0o700), "files": ["canary.cfg", "initrd.gz"]}


def test_random_macs_are_xen_macs() -> None:
    macs = {random_mac() for _ in range(50)}
    assert len(macs) > 45
    assert all(m.startswith("00:16:3e:") and int(m.split(":")[3], 16) < 0x80 for m in macs)


# --- failures, with the reason -----------------------------------------------------------------


def test_no_lease_within_the_bound_fails_with_the_reason(host) -> None:
    result, fake, _ = run(host, Guest(lease_ip=None, up_for=10_000), timeout=90)
    assert not result.passed
    assert result.reason == (
        f"no lease for {fake.mac} from dnsmasq on br0 within 90 s; see dnsmasq's log "
        "(`journalctl -u dnsmasq`) and `xenwizard verify`"
    )
    assert result.lease_ip is None
    nothing_left(host, fake)


def test_dnsmasq_gone_meanwhile_is_named_in_the_reason(host) -> None:
    result, fake, _ = run(
        host,
        Guest(lease_ip=None, up_for=10_000),
        timeout=90,
        on_create=lambda _: stop_dnsmasq(host),
    )
    assert result.reason == (
        f"no lease for {fake.mac} from dnsmasq on br0 within 90 s; dnsmasq is not running"
    )
    nothing_left(host, fake)


def test_a_guest_that_gives_up_ends_the_wait_early(host) -> None:
    result, fake, _ = run(host, Guest(lease_ip=None, up_for=30))
    assert not result.passed
    assert result.reason.startswith(f"no lease for {fake.mac} from dnsmasq on br0 before the guest")
    assert "gave up and powered off (3" in result.reason
    assert fake.clock.now() < 1000 + 60  # did not wait the whole bound
    nothing_left(host, fake)


def test_a_lease_outside_the_range_fails(host) -> None:
    result, fake, _ = run(host, Guest(lease_ip="10.0.2.16"))
    assert not result.passed
    assert result.reason == (
        f"{fake.name} ({fake.mac}) got 10.0.2.16, outside 10.0.0.10-10.0.0.100: "
        "dnsmasq on br0 hands out addresses from another range"
    )
    assert result.lease_ip == "10.0.2.16"
    nothing_left(host, fake)


def test_xl_create_failing_is_reported_with_its_last_line(host) -> None:
    result, fake, _ = run(host, Guest(create_fails="libxl: error: bridge br0 \x1b[31mgone"))
    assert not result.passed
    assert result.reason == (
        f"{fake.name} did not start: `xl create` failed (exit 3): "
        "libxl: error: bridge br0 \\x1b[31mgone"
    )
    assert fake.verbs() == ["domid", "create", "domid"]  # it made none: nothing destroyed
    nothing_left(host, fake)


# --- xl create hanging --------------------------------------------------------------------------


def test_a_hanging_xl_create_is_destroyed_and_tried_once_more(host) -> None:
    result, fake, lines = run(host, Guest(create_hangs=1), timeout=300)
    assert result.passed, result.reason
    verbs = fake.verbs()
    assert verbs[:4] == ["domid", "create", "domid", "create"]
    assert fake.bounds[1] == CREATE_BOUND  # [0]: `xl domid`, that no such domain is there
    assert any("did not return within 60 s; once more" in line for line in lines)
    nothing_left(host, fake)


def test_xl_create_hanging_twice_fails_and_cleans_up(host) -> None:
    result, fake, _ = run(host, Guest(create_hangs=2), timeout=300)
    assert not result.passed
    assert (
        result.reason == f"{fake.name} did not start: `xl create` did not return within 60 s, twice"
    )
    assert fake.verbs().count("create") == 2
    assert "destroy" not in fake.verbs()  # neither create made a domain
    nothing_left(host, fake)


def test_a_hang_after_the_guest_came_up_is_watched_not_retried(host) -> None:
    """The pitfall seen under emulation: `xl create` never returned although the guest ran."""
    clock = FakeClock()
    fake = FakeXl(host, clock, Guest(create_hangs=1))
    original = fake._create

    def create_but_hang(config, on_line):
        code = original(config, on_line)
        fake.created_at = clock.now() - 5  # it is running all the same
        return code

    fake._create = create_but_hang  # type: ignore[method-assign]
    result = run_canary(host, CONFIG, fake, clock=TickingLeases(fake))
    assert result.passed, result.reason
    assert fake.verbs().count("create") == 1
    nothing_left(host, fake)


# --- what is left behind -----------------------------------------------------------------------


def test_a_lease_that_was_not_released_is_reported_not_edited(host) -> None:
    result, fake, _ = run(host, Guest(releases=False))
    assert result.passed
    assert result.left_behind == (
        f"the lease of {fake.mac} in /{LEASES} (its release did not reach dnsmasq); "
        "it expires after 12h",
    )
    assert fake.mac in (host / LEASES).read_text()  # dnsmasq's file untouched
    nothing_left(host, fake)


def test_a_domain_xl_destroy_cannot_remove_is_reported(host) -> None:
    result, fake, _ = run(host, Guest(up_for=10_000, destroy_fails=True))
    assert result.passed
    assert any(
        item.startswith(f"domain {fake.name} (xl destroy exit 1: libxl: error: destroy failed)")
        for item in result.left_behind
    )


def test_cleanup_runs_when_the_runner_raises(host) -> None:
    clock = FakeClock()
    fake = FakeXl(host, clock, Guest(up_for=10_000))
    fake.on_create = lambda xl: setattr(xl, "raise_on", "domid")  # breaks just after create
    with pytest.raises(RuntimeError, match="the runner broke"):
        run_canary(host, CONFIG, fake, clock=TickingLeases(fake))
    assert fake.verbs()[-1] == "destroy"
    nothing_left(host, fake)


def test_a_build_failure_is_a_reason_and_leaves_nothing(host, monkeypatch) -> None:
    def broken(fs, kernel):
        raise OSError(28, "No space left on device", "initrd.gz")

    monkeypatch.setattr(canary_module, "build_initramfs", broken)
    result, fake, _ = run(host)
    assert result.reason == "not started: initrd.gz: No space left on device"
    assert fake.calls == []
    nothing_left(host, fake)


def test_an_existing_run_xenwizard_is_kept(host) -> None:
    (host / "run/xenwizard").mkdir(mode=0o700)
    (host / "run/xenwizard/boot-guard").write_text("someone else's\n")
    result, _fake, _ = run(host)
    assert result.passed
    assert sorted(p.name for p in (host / "run/xenwizard").iterdir()) == ["boot-guard"]


# --- refusals ---------------------------------------------------------------------------------


def refused(root: Path) -> str:
    result, fake, _ = run(root)
    assert not result.passed and fake.calls == []
    assert not (root / "run/xenwizard").exists()
    assert result.reason.startswith("not started: ")
    return result.reason.removeprefix("not started: ")


def test_refused_without_xen(host) -> None:
    (host / "sys/hypervisor/type").unlink()
    assert refused(host) == (
        "Xen is not running (/sys/hypervisor/type is missing); reboot into GRUB's Xen entry"
    )
    (host / "sys/hypervisor/type").write_text("kvm\n")
    assert "(/sys/hypervisor/type is 'kvm')" in refused(host)


def test_refused_without_xl(host) -> None:
    (host / "usr/sbin/xl").unlink()
    assert refused(host) == "Xen runs, but there is no `xl`: the Xen tools are not installed"


def test_refused_without_the_bridge(host) -> None:
    (host / "sys/class/net/br0/bridge").rmdir()
    assert refused(host) == "the bridge br0 is not a bridge; `xenwizard verify` says why"
    (host / "sys/class/net/br0").rmdir()
    assert refused(host) == "the bridge br0 is missing; `xenwizard verify` says why"


def test_refused_without_dnsmasq(host) -> None:
    stop_dnsmasq(host)
    assert refused(host) == "dnsmasq is not running; start it (`systemctl start dnsmasq`)"


def test_refused_when_no_dnsmasq_serves_the_bridge(host) -> None:
    (host / "etc/dnsmasq.d/canary-test.conf").write_text("interface=eth9\n")
    assert refused(host) == (
        f"dnsmasq runs (pid {DNSMASQ_PID}), but none has interface=br0 in its configuration; "
        "restart dnsmasq so it reads xenwizard's settings in /etc/dnsmasq.d"
    )


def test_refused_with_leasefile_ro(host) -> None:
    (host / "etc/dnsmasq.d/canary-test.conf").write_text("interface=br0\nleasefile-ro\n")
    assert "runs with leasefile-ro: it keeps no leases file" in refused(host)


def test_refused_without_a_static_busybox(host) -> None:
    (host / "bin/busybox").write_bytes(Path("/bin/ls").read_bytes())
    reason = refused(host)
    assert reason.startswith("/bin/busybox is dynamically linked")
    assert "install busybox-static" in reason


def test_refused_without_the_kernel_image(host) -> None:
    (host / f"boot/vmlinuz-{KERNEL}").unlink()
    assert refused(host) == f"no /boot/vmlinuz-{KERNEL}: the canary boots the running kernel"


def test_the_leases_file_comes_from_dnsmasq_s_configuration(host) -> None:
    (host / "etc/dnsmasq.d/canary-test.conf").write_text(
        "interface=br0\ndhcp-leasefile=/var/lib/xen-dhcp/leases\n"
    )
    (host / "var/lib/xen-dhcp").mkdir(parents=True)
    clock = FakeClock()
    fake = FakeXl(host, clock, Guest())
    fake_leases = host / "var/lib/xen-dhcp/leases"
    original = fake._set_lease

    def set_there(present: bool) -> None:
        original(present)
        (host / LEASES).replace(fake_leases)
        (host / LEASES).write_text("")

    fake._set_lease = set_there  # type: ignore[method-assign]
    result = run_canary(host, CONFIG, fake, clock=TickingLeases(fake))
    assert result.passed, result.reason


# --- the answers of the last applied run ------------------------------------------------------


def test_canary_for_applied_uses_the_applied_answers(tmp_path, monkeypatch) -> None:
    root = copy_root(PRECISE_ROOT.parent / "debian-12-root", tmp_path / "root")
    done = run_cli(
        "apply", "--root", str(root), "--yes", "--skip-packages", "--bridge", "xenbr7",
        "--address", "192.168.77.1/24", "--dhcp-range", "192.168.77.20-192.168.77.90",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    live_host(root, bridge="xenbr7")
    seen = {}

    def fake_run(root_, config, runner, timeout, on_progress):
        seen.update(bridge=config.bridge, range=config.dhcp_range, timeout=timeout)
        return canary_module.CanaryResult(True, "ok")

    monkeypatch.setattr(canary_module, "run_canary", fake_run)
    assert canary_for_applied(root, timeout=77, assume_live=True).passed
    assert seen == {"bridge": "xenbr7", "range": "192.168.77.20-192.168.77.90", "timeout": 77}


def test_canary_for_applied_refuses_without_an_applied_run(tmp_path) -> None:
    root = live_host(tmp_path / "root")
    result = canary_for_applied(root, assume_live=True)
    assert not result.passed
    assert result.reason == (
        f"not started: no applied run under {root}/var/lib/xenwizard: nothing to check the "
        "guest with"
    )


def test_canary_for_applied_says_plainly_it_is_not_there_on_precise(tmp_path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    done = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert done.returncode == 0, done.stdout + done.stderr
    result = canary_for_applied(root, assume_live=True)
    assert not result.passed
    assert result.reason.startswith("not available on ubuntu-precise: its toolstack is xend/xm")


# --- the lease file ---------------------------------------------------------------------------


def test_dnsmasq_leases_are_read_by_mac_and_v6_lines_skipped() -> None:
    text = (
        "1767225600 00:16:3E:AA:BB:CC 10.0.0.57 canary 01:00:16:3e:aa:bb:cc\n"
        "1767229999 00:16:3e:11:22:33 10.0.0.11 * *\n"
        "duid 00:01:00:01:2c:5a:2b:7d:52:54:00:12:34:56\n"
        "1767225600 1234567 fd00::5 * 00:01:00:01\n"
        "garbage\n"
    )
    leases = parse_leases(text)
    assert sorted(leases) == ["00:16:3e:11:22:33", "00:16:3e:aa:bb:cc"]
    assert leases["00:16:3e:aa:bb:cc"].ip == "10.0.0.57"


@pytest.mark.parametrize(
    ("ip", "inside"),
    [("10.0.0.10", True), ("10.0.0.100", True), ("10.0.0.9", False), ("10.0.0.101", False)],
)
def test_the_range_check_includes_both_ends(ip: str, inside: bool) -> None:
    assert in_range(ip, "10.0.0.10", "10.0.0.100") is inside


def test_a_path_leaving_the_root_is_a_reason_not_a_traceback(host) -> None:
    (host / "usr/sbin/xl").unlink()
    (host / "usr/sbin/xl").symlink_to("/usr/bin/env")  # absolute: resolves outside the root
    reason = refused(host)
    assert "outside the root" in reason and "usr/sbin/xl" in reason


def test_canary_for_applied_runs_only_on_the_live_system(tmp_path) -> None:
    root = live_host(tmp_path / "root")
    result = canary_for_applied(root)
    assert result.reason == (
        f"not started: {root} is not the running system (--root); the canary runs on the live host"
    )
