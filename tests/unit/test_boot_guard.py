"""The GRUB drop-in, the one-shot first boot into Xen, the boot guard (expire, confirm) and
the preflight refusals, on fixture roots with the fake runner of the engine tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import EMPTY_GRUBENV, FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits import EditError, grubenv, grubxen, guardunits
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import list_runs
from xenwizard.planning.plan import BootOnce, EditFile
from xenwizard.planning.profiles import PlanError
from xenwizard.target.rootfs import RootFS
from xenwizard.verify import bootguard
from xenwizard.verify.hostcheck import failed
from xenwizard.verify.hostcheck.canary import CanaryResult

XEN = "Debian GNU/Linux, with Xen hypervisor"
PLAIN = "Debian GNU/Linux"
# The name efivarfs shows (EFI_GLOBAL_VARIABLE; systemd 252's libsystemd-shared reads the same
# name): written out, not taken from xenwizard.boot, so a wrong constant fails here too.
SB = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_root(FIXTURES / "debian-12-root", tmp_path / "root")


def apply(root: Path, runner: FakeRunner | None = None, config: WizardConfig | None = None):
    runner = runner or FakeRunner(root)
    plan = plan_for(root, config)
    return Engine(plan, RootFS(root), runner).apply(), runner


# --- grubenv against the real grub-editenv ----------------------------------------------------


def test_the_block_grub_editenv_list_creates_is_empty_and_the_fakes(tmp_path: Path) -> None:
    """`grub-editenv FILE list` (what grub-mkconfig runs under GRUB_DEFAULT=saved) creates a
    missing FILE: the block the refresh after update-grub removes again, and the fake's."""
    env = tmp_path / "grubenv"
    subprocess.run(
        [programs.require("grub-editenv"), str(env), "list"], check=True, capture_output=True
    )
    created = env.read_bytes()
    assert grubenv.is_empty(created) and created == EMPTY_GRUBENV
    assert not grubenv.is_empty(grubenv.set_vars(created, {"saved_entry": XEN}))
    assert not grubenv.is_empty(created[:-1]) and not grubenv.is_empty(b"#" * 1024)


def test_grubenv_writer_matches_grub_editenv(tmp_path: Path) -> None:
    env = tmp_path / "grubenv"
    subprocess.run(["grub-editenv", str(env), "create"], check=True)
    created = env.read_bytes()
    subprocess.run(
        ["grub-editenv", str(env), "set", "saved_entry=A b", "next_entry=x\\y"], check=True
    )
    ours = grubenv.set_vars(created, {"saved_entry": "A b", "next_entry": "x\\y"})
    assert ours == env.read_bytes()
    assert len(ours) == 1024
    subprocess.run(["grub-editenv", str(env), "set", "saved_entry=" + XEN], check=True)
    subprocess.run(["grub-editenv", str(env), "unset", "next_entry"], check=True)
    ours = grubenv.set_vars(ours, {"saved_entry": XEN, "next_entry": None})
    assert ours == env.read_bytes()
    listed = subprocess.run(
        ["grub-editenv", str(env), "list"], check=True, capture_output=True, text=True
    ).stdout
    assert listed == f"saved_entry={XEN}\n"
    assert grubenv.read(ours) == {"saved_entry": XEN}


def test_grubenv_refuses_what_is_not_a_block_or_does_not_fit() -> None:
    with pytest.raises(EditError, match="not a GRUB environment block"):
        grubenv.set_vars(b"saved_entry=0\n", {"next_entry": "x"})
    with pytest.raises(EditError, match="1024"):
        grubenv.set_vars(None, {"saved_entry": "x" * 1100})
    assert grubenv.set_vars(None, {"a": "1"}).startswith(grubenv.HEADER + b"a=1\n#")


# --- the drop-in --------------------------------------------------------------------------------


def test_dropin_rendering() -> None:
    both = grubxen.render_dropin(("dom0_mem=2048M,max:2048M",), True)
    assert both.startswith(grubxen.MARKER)
    assert 'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT dom0_mem=2048M,max:2048M"' in both
    assert both.endswith("GRUB_DEFAULT=saved\n")
    plain = grubxen.render_dropin(("dom0_mem=1G,max:1G",), False)
    assert "GRUB_DEFAULT" not in plain.replace("GRUB_CMDLINE_XEN_DEFAULT", "")
    with pytest.raises(EditError, match="not a plain"):
        grubxen.render_dropin(('a"; reboot; "',), True)
    with pytest.raises(EditError, match="not written by xenwizard"):
        grubxen.set_dropin("GRUB_DEFAULT=2\n", (), True)


# --- the plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("default", "grubenv_vars", "previous"),
    [
        ("0", None, PLAIN),
        ("1", None, f"Advanced options for {PLAIN}"),
        ("'Debian GNU/Linux'", None, PLAIN),
        ("saved", {"saved_entry": "Old kernel"}, "Old kernel"),
        ("saved", None, PLAIN),  # no saved_entry: GRUB boots entry 0
    ],
)
def test_one_shot_keeps_the_current_default(
    root: Path, default: str, grubenv_vars: dict | None, previous: str
) -> None:
    path = root / "etc/default/grub"
    path.write_text(path.read_text().replace("GRUB_DEFAULT=0", f"GRUB_DEFAULT={default}"))
    if grubenv_vars:
        (root / grubenv.PATH).write_bytes(grubenv.set_vars(None, grubenv_vars))
    plan = plan_for(root)
    (once,) = [s for s in plan.steps if isinstance(s, BootOnce)]
    assert (once.previous, once.entry) == (previous, XEN)
    assert plan.boot is not None
    assert plan.boot.data() == {
        "next_entry": XEN,
        "next_is_xen": True,
        "default_entry": previous,
        "boot_guard": True,
        "confirm_within": 10,
        "note": "",
    }


def test_plan_text_and_json_say_what_boots_next(root: Path) -> None:
    text = run_cli("plan", "--root", str(root), "--confirm-within", "3")
    assert text.returncode == 0, text.stderr
    assert f"boot: next boot: {XEN!r} (Xen)" in text.stdout
    assert f"default until `xenwizard confirm`: {PLAIN!r}" in text.stdout
    assert "OnBootSec=3min" in text.stdout
    data = json.loads(run_cli("plan", "--root", str(root), "--json").stdout)
    assert data["boot"]["next_entry"] == XEN and data["boot"]["default_entry"] == PLAIN
    ids = [s["id"] for s in data["steps"]]
    assert ids[-5:] == [
        "grub-xen",
        "boot-once",
        "boot-guard-service",
        "boot-guard-timer",
        "boot-guard-enable",
    ]
    assert data["steps"][-5]["refresh"] == "update-grub"


def test_no_boot_guard_makes_xen_the_default(root: Path) -> None:
    plan = plan_for(root, WizardConfig(boot_guard=False))
    assert not [s for s in plan.steps if s.id.startswith("boot-")]
    # the drop-in still carries dom0's memory, without GRUB_DEFAULT=saved
    (dropin,) = [s for s in plan.steps if s.id == "grub-xen"]
    assert dropin.after is not None and "dom0_mem=" in dropin.after
    assert "GRUB_DEFAULT" not in dropin.after
    assert plan.boot is not None and plan.boot.default_entry == XEN
    assert "--no-boot-guard" in plan.boot.guard_note


def test_no_systemd_no_guard_and_says_so(root: Path) -> None:
    (root / "usr/lib/systemd/systemd").unlink()
    plan = plan_for(root)
    assert not [s for s in plan.steps if s.id.startswith("boot-")]
    assert plan.boot is not None and "needs systemd" in plan.boot.guard_note
    assert "console" in plan.boot.guard_note


def test_precise_says_the_guard_is_not_available(tmp_path: Path) -> None:
    plan = plan_for(copy_root(FIXTURES / "precise-root", tmp_path / "p"))
    assert not [s for s in plan.steps if s.id.startswith("boot-")]
    # its GRUB step only fixes dom0's memory (issue 23): no saved default, no one-shot boot
    (grub,) = [s for s in plan.steps if s.id == "grub-xen"]
    assert isinstance(grub, EditFile) and "GRUB_DEFAULT=saved" not in (grub.after or "")
    (warning,) = [w for w in plan.warnings if "boot guard" in w]
    assert "upstart" in warning and "console" in warning and "Shift" in warning


def test_confirm_within_answers() -> None:
    assert build_config({"confirm-within": 30}).confirm_within == 30
    assert build_config({"confirm-within": "1440"}).confirm_within == 1440
    for bad in ("0", "1441", "ten", True):
        with pytest.raises(ConfigError, match="confirm-within"):
            build_config({"confirm-within": bad})
    assert build_config({"boot-guard": False}).to_answers()["boot-guard"] is False
    assert "confirm-within" not in WizardConfig().to_answers()


# --- preflight ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "refused", "warned"),
    [
        (b"\x06\x00\x00\x00\x01", True, False),
        (b"\x06\x00\x00\x00\x00", False, False),
        (None, False, False),
        (b"\x06\x00", False, True),
        (b"\x06\x00\x00\x00\x07", False, True),
    ],
)
def test_secure_boot_shapes(root: Path, data: bytes | None, refused: bool, warned: bool) -> None:
    if data is not None:
        (root / SB).parent.mkdir(parents=True)
        (root / SB).write_bytes(data)
    if refused:
        with pytest.raises(PlanError, match="Secure Boot is on") as info:
            plan_for(root)
        assert SB in str(info.value) and "\n" not in str(info.value)
        return
    plan = plan_for(root)
    assert any("Secure Boot state unknown" in w for w in plan.warnings) == warned


@pytest.mark.parametrize("missing", ["usr/sbin/update-grub", "boot/grub"])
def test_no_grub_is_refused(root: Path, missing: str) -> None:
    shutil.rmtree(root / missing) if (root / missing).is_dir() else (root / missing).unlink()
    with pytest.raises(PlanError, match="no GRUB on this target") as info:
        plan_for(root)
    assert str(info.value).startswith(f"/{missing} is missing")
    assert "by hand" in str(info.value)
    done = run_cli("plan", "--root", str(root))
    assert done.returncode == 1 and "another bootloader" in done.stderr


# --- apply, rollback, update-grub ---------------------------------------------------------------


def test_apply_writes_the_one_shot_and_the_guard_and_rollback_removes_them(root: Path) -> None:
    before = manifest(root)
    result, runner = apply(root)
    assert result.outcome == "applied", result.message
    env = grubenv.read((root / grubenv.PATH).read_bytes())
    assert env == {"saved_entry": PLAIN, "next_entry": XEN}
    assert "GRUB_DEFAULT=saved" in (root / grubxen.DROPIN).read_text()
    assert "OnBootSec=10min" in (root / guardunits.TIMER_PATH).read_text()
    assert (root / guardunits.TIMER_LINK).is_symlink()
    assert "boot-guard expire" in (root / guardunits.SERVICE_PATH).read_text()
    # update-grub ran after the drop-in was written
    grub_calls = [i for i, c in enumerate(runner.calls) if c == ["update-grub"]]
    assert grub_calls
    runner.calls.clear()
    rolled = Engine(None, RootFS(root), runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []
    # the drop-in's undo, then the purge (Xen's postrm), then the packages step's own refresh
    purge = next(i for i, c in enumerate(runner.calls) if c[:2] == ["apt-get", "purge"])
    grub = [i for i, c in enumerate(runner.calls) if c == ["update-grub"]]
    assert len(grub) == 2 and grub[0] < purge < grub[1]


def test_the_empty_grubenv_update_grub_creates_is_not_left_behind(root: Path) -> None:
    """grub-mkconfig's `grub-editenv - list` creates a missing grubenv under GRUB_DEFAULT=saved
    (the fake does too): the refresh removes that empty block, so the one-shot step creates the
    file (journaled) and the rollback removes it; an empty grubenv there before stays."""
    result, runner = apply(root)
    assert result.outcome == "applied", result.message
    log = (root / "var/log/xenwizard.log").read_text()
    assert "removed the empty /boot/grub/grubenv that update-grub created" in log
    assert Engine(None, RootFS(root), runner).rollback(result.run_id).outcome == "rolled-back"
    assert not (root / grubenv.PATH).exists()
    empty = grubenv.set_vars(None, {})
    (root / grubenv.PATH).write_bytes(empty)
    result, runner = apply(root)
    assert Engine(None, RootFS(root), runner).rollback(result.run_id).outcome == "rolled-back"
    assert (root / grubenv.PATH).read_bytes() == empty


def test_update_grub_failing_rolls_the_apply_back(root: Path) -> None:
    before = manifest(root)
    result, _ = apply(root, FakeRunner(root, fail={"update-grub": 1}, fail_once=True))
    assert result.outcome == "rolled-back"
    assert "update-grub exited with status 1" in result.message
    assert diff_manifests(before, manifest(root)) == []


def test_update_grub_failing_on_undo_too_is_a_failed_rollback(root: Path) -> None:
    result, _ = apply(root, FakeRunner(root, fail={"update-grub": 1}))
    assert result.outcome == "rollback-failed"
    assert result.message.count("update-grub exited with status 1") == 3  # apply, 2 undos


def test_no_xen_entry_after_update_grub_fails_the_step(root: Path) -> None:
    before = manifest(root)
    runner = FakeRunner(root)
    runner._update_grub = lambda on_line: 0  # an update-grub that leaves the menu as it was
    result, _ = apply(root, runner)
    assert result.outcome == "rolled-back"
    assert "has no Xen entry after update-grub" in result.message
    assert diff_manifests(before, manifest(root)) == []


# --- the guard after the reboot -----------------------------------------------------------------


def test_expire_without_a_guard_does_nothing(root: Path) -> None:
    assert bootguard.expire(RootFS(root), FakeRunner(root), None) is None
    done = run_cli("boot-guard", "--root", str(root), "expire")
    assert done.returncode == 0 and "no pending boot guard" in done.stdout


def test_expire_rolls_back_and_history_names_the_guard(root: Path) -> None:
    before = manifest(root)
    result, runner = apply(root, config=WizardConfig(confirm_within=7))
    fs = RootFS(root)
    guard = bootguard.pending(fs)
    assert guard is not None and (guard.run_id, guard.minutes, guard.entry) == (
        result.run_id,
        7,
        XEN,
    )
    rolled = bootguard.expire(fs, runner, None)
    assert rolled is not None and rolled.outcome == "rolled-back"
    assert ["systemctl", "reboot"] not in runner.calls  # not the live root
    assert diff_manifests(before, manifest(root)) == []
    assert bootguard.pending(fs) is None
    (info,) = list_runs(fs)
    assert info.rollback_reason == "boot guard: not confirmed within 7 min"
    history = run_cli("history", "--root", str(root))
    assert "rolled back by the boot guard: not confirmed within 7 min" in history.stdout
    data = json.loads(run_cli("history", "--root", str(root), "--json").stdout)
    assert data[0]["rollback_reason"] == "boot guard: not confirmed within 7 min"
    assert data[0]["message"].startswith("boot guard: not confirmed within 7 min; ")
    log = (root / "var/log/xenwizard.log").read_text()
    assert "boot guard: not confirmed within 7 min" in log


def test_expire_says_which_checks_failed(root: Path) -> None:
    result, runner = apply(root)
    assert result.outcome == "applied"
    rolled = bootguard.expire(
        RootFS(root), runner, None, check=lambda fs: [failed("xen", "not running under Xen")]
    )
    assert rolled is not None and rolled.run_id == result.run_id
    assert "verify failed: xen: not running under Xen" in rolled.message


def test_expire_names_the_canary_guests_verdict_after_verify_passed(root: Path) -> None:
    result, runner = apply(root)
    assert result.outcome == "applied"
    guest = CanaryResult(False, "no lease for 00:16:3e:00:00:01 from dnsmasq on br0 in 120 s")
    rolled = bootguard.expire(
        RootFS(root), runner, None, check=lambda fs: [], guest=lambda fs: guest
    )
    assert rolled is not None and rolled.outcome == "rolled-back"
    (info,) = list_runs(RootFS(root))
    assert info.rollback_reason == (
        "boot guard: not confirmed within 10 min; canary guest failed: "
        "no lease for 00:16:3e:00:00:01 from dnsmasq on br0 in 120 s"
    )


def test_expire_skips_the_canary_when_verify_failed(root: Path) -> None:
    result, runner = apply(root)
    assert result.outcome == "applied"
    started: list[str] = []
    rolled = bootguard.expire(
        RootFS(root),
        runner,
        None,
        check=lambda fs: [failed("bridge", "br0 is down")],
        guest=lambda fs: started.append("canary") or CanaryResult(True, "got a lease"),
    )
    assert rolled is not None and rolled.outcome == "rolled-back"
    assert started == [] and "canary" not in rolled.message


def test_the_guards_canary_starts_only_on_the_live_host(root: Path) -> None:
    assert bootguard.guest_check(RootFS(root)) is None


def test_confirm_refuses_when_verify_fails_then_anyway(root: Path) -> None:
    result, _ = apply(root)
    assert result.outcome == "applied"
    dropin = root / "etc/dnsmasq.d/xenwizard.conf"
    dropin.write_text(dropin.read_text() + "# edited\n")
    refused = run_cli("confirm", "--root", str(root))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "verify failed" in refused.stderr
    assert bootguard.pending(RootFS(root)) is not None  # nothing changed
    done = run_cli("confirm", "--root", str(root), "--anyway")
    assert done.returncode == 0, done.stderr
    assert f"GRUB's default is now {XEN!r}" in done.stdout
    assert grubenv.read((root / grubenv.PATH).read_bytes()) == {"saved_entry": XEN}
    for rel in (guardunits.TIMER_LINK, guardunits.TIMER_PATH, guardunits.SERVICE_PATH):
        assert not (root / rel).exists() and not (root / rel).is_symlink()
    again = run_cli("confirm", "--root", str(root))
    assert again.returncode == 0 and "no pending boot guard" in again.stdout
    checked = run_cli("verify", "--root", str(root)).stdout
    assert "boot-guard" not in checked and "FAIL file etc/default/grub.d" not in checked
    assert bootguard.expire(RootFS(root), FakeRunner(root), None) is None


def test_rollback_after_confirm_still_restores_everything(root: Path) -> None:
    before = manifest(root)
    result, runner = apply(root)
    fs = RootFS(root)
    done = bootguard.confirm(fs, runner, lambda line: None)
    assert any("confirmed" in line for line in done)
    rolled = Engine(None, fs, runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []


def test_a_confirmed_host_replans_nothing_and_arms_no_guard(root: Path) -> None:
    """After confirm, Xen is GRUB's default: the same answers plan no change (a second
    Ansible play reports changed=0, no reboot, no guard re-armed to roll back a host nobody
    reboots into); other answers do change the host, and their reboot is guarded again."""
    result, runner = apply(root)
    assert result.outcome == "applied"
    bootguard.confirm(RootFS(root), runner, lambda line: None)
    again = plan_for(root)
    assert [step.id for step in again.steps if step.changed] == []
    assert not any(step.id.startswith(("boot-once", "boot-guard")) for step in again.steps)
    assert again.boot is not None and again.boot.guard_minutes is None
    assert again.boot.default_entry == XEN and "nothing to confirm" in again.boot.guard_note
    other = plan_for(root, WizardConfig(bridge="xenbr1", confirm_within=5))
    changed = {step.id for step in other.steps if step.changed}
    assert {"boot-guard-service", "boot-guard-timer", "boot-guard-enable"} <= changed, changed
    assert other.boot is not None and other.boot.guard_minutes == 5


def test_confirm_waits_for_no_one_holding_the_lock(root: Path) -> None:
    from xenwizard.engine.lock import RunLock

    result, runner = apply(root)
    assert result.outcome == "applied"
    fs = RootFS(root)
    lock = RunLock(fs, "rollback")
    lock.acquire()
    try:
        with pytest.raises(bootguard.GuardError):
            bootguard.confirm(fs, runner, lambda line: None)
    finally:
        lock.release()
    assert bootguard.pending(fs) is not None


def test_guard_refused_when_xenwizard_cannot_be_found(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("xenwizard.target.boot.xenwizard_path", lambda: None)
    (root / "usr/bin/xenwizard").unlink()  # nor does the target have the .deb's command
    with pytest.raises(PlanError, match="/usr/bin/xenwizard is not in the target"):
        plan_for(root)
    assert plan_for(root, WizardConfig(boot_guard=False)).boot is not None


def test_xenwizard_path_is_the_installed_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from xenwizard.target import boot

    monkeypatch.setattr(sys, "argv", ["/opt/x/bin/xenwizard"])
    monkeypatch.setattr("os.path.isfile", lambda p: p == "/opt/x/bin/xenwizard")
    assert boot.xenwizard_path() == "/opt/x/bin/xenwizard"
    monkeypatch.setattr(sys, "argv", ["/usr/lib/xenwizard/lib/xenwizard/__main__.py"])
    monkeypatch.setattr(sys, "prefix", "/usr/lib/xenwizard")
    monkeypatch.setattr("os.path.isfile", lambda p: p == "/usr/bin/xenwizard")
    assert boot.xenwizard_path() == "/usr/bin/xenwizard"


def test_expire_rolls_back_a_later_run_first(root: Path) -> None:
    before = manifest(root)
    first, runner = apply(root)
    second = Engine(plan_for(root, WizardConfig(lease="1h")), RootFS(root), runner).apply()
    assert second.outcome == "applied", second.message
    rolled = bootguard.expire(RootFS(root), runner, None)
    assert rolled is not None and rolled.run_id == first.run_id
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []
    states = {info.run_id: (info.state, info.rollback_reason) for info in list_runs(RootFS(root))}
    assert states[second.run_id][0] == "rolled-back"
    assert states[second.run_id][1].endswith(f"(applied after run {first.run_id})")


def test_apply_ends_with_reboot_and_confirm(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from xenwizard.cli import main

    monkeypatch.setattr("xenwizard.commands.apply.CommandRunner", lambda r: FakeRunner(root))
    apt_get = root / "usr/bin/apt-get"  # what FakeRunner plays, as a real target has it
    apt_get.parent.mkdir(parents=True, exist_ok=True)
    apt_get.touch(mode=0o755)
    assert main(["apply", "--root", str(root), "--yes", "--confirm-within", "15"]) == 0
    last = capsys.readouterr().out.splitlines()[-2:]
    assert last == [
        f"Reboot, log in again within 15 minutes and run `xenwizard confirm --root {root}`;",
        "otherwise the boot guard rolls this run back and the host comes back as it was.",
    ]


def test_the_guard_service_is_never_cut_short_by_a_start_timeout() -> None:
    """Found on the real Debian 13 VM: as a oneshot, the guard was still "starting" when its
    rollback removed the unit file and the purge's daemon-reload reset its start timeout to
    systemd's default 90 s, which killed it in the middle of apt-get purge. A Type=exec service
    is started once it runs, and keeps running without its file."""
    from xenwizard.edits import guardunits

    unit = guardunits.render_service("/usr/bin/xenwizard")
    service = [line for line in unit.split("[Service]\n", 1)[1].splitlines() if line[:1] != "#"]
    assert service == ["Type=exec", "ExecStart=/usr/bin/xenwizard boot-guard expire"]
