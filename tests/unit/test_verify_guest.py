"""`xenwizard verify --guest`: the canary's result as one more check, `guest`, in the text and
JSON output and in the exit status; `--guest-timeout` checked; with `--root DIR` the canary is
not started (this machine is not DIR's host)."""

from __future__ import annotations

import json

import pytest

from tests.kits.helpers import FIXTURES, copy_root, run_cli
from xenwizard.cli import main
from xenwizard.commands import verify
from xenwizard.verify.hostcheck.canary import CanaryResult

PASSED = CanaryResult(
    True,
    "xenwizard-canary-ab12 (00:16:3e:12:34:56) got 10.0.0.57 from dnsmasq on br0 in 41 s "
    "(range 10.0.0.10-10.0.0.100)",
    lease_ip="10.0.0.57",
    mac="00:16:3e:12:34:56",
    seconds=52.34,
    name="xenwizard-canary-ab12",
)
FAILED = CanaryResult(
    False,
    "no lease for 00:16:3e:12:34:56 from dnsmasq on br0 within 120 s; dnsmasq is not running",
    mac="00:16:3e:12:34:56",
    seconds=121.0,
    left_behind=("the lease of 00:16:3e:12:34:56 in /var/lib/misc/dnsmasq.leases (...)",),
    name="xenwizard-canary-ab12",
)


@pytest.fixture
def applied(tmp_path, capsys):
    root = copy_root(FIXTURES / "debian-12-root", tmp_path / "root")
    assert main(["apply", "--root", str(root), "--yes", "--skip-packages"]) == 0
    capsys.readouterr()
    return root


def with_canary(monkeypatch, result: CanaryResult) -> list[dict]:
    calls: list[dict] = []

    def fake(root, runner=None, timeout=120.0, on_progress=None, *, assume_live=False):
        calls.append({"root": str(root), "timeout": timeout, "assume_live": assume_live})
        if on_progress:
            on_progress("starting xenwizard-canary-ab12")
        return result

    monkeypatch.setattr(verify, "canary_for_applied", fake)
    return calls


def verify_live(root, *flags: str) -> list[str]:
    # --assume-live: the fixture root stands for this machine; the live checks fail here.
    return ["verify", "--root", str(root), "--assume-live", *flags]


def test_text_output_ends_with_the_guest_line(applied, monkeypatch, capsys) -> None:
    calls = with_canary(monkeypatch, PASSED)
    main(verify_live(applied, "--guest", "--guest-timeout", "90"))
    out, err = capsys.readouterr()
    assert calls == [{"root": str(applied), "timeout": 90.0, "assume_live": True}]
    lines = out.splitlines()
    assert lines[0].startswith("PASS run: ")
    assert lines[-1] == f"PASS guest: {PASSED.reason}"
    assert "verify --guest: starting xenwizard-canary-ab12" in err


def test_a_failed_canary_fails_verify_and_lists_what_it_left(applied, monkeypatch, capsys) -> None:
    with_canary(monkeypatch, FAILED)
    monkeypatch.setattr(verify, "run_checks", lambda fs, skip_live=None: [])  # all checks pass
    assert main(verify_live(applied, "--guest")) == 1
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"FAIL guest: {FAILED.reason}",
        f"  left behind: {FAILED.left_behind[0]}",
    ]


def test_a_passing_canary_and_passing_checks_exit_0(applied, monkeypatch, capsys) -> None:
    with_canary(monkeypatch, PASSED)
    monkeypatch.setattr(verify, "run_checks", lambda fs, skip_live=None: [])
    assert main(verify_live(applied, "--guest")) == 0


def test_json_has_the_guest_as_one_more_check(applied, monkeypatch, capsys) -> None:
    with_canary(monkeypatch, FAILED)
    assert main(verify_live(applied, "--guest", "--json")) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["name"] == "run"
    assert data[-1] == {
        "name": "guest",
        "status": "FAIL",
        "ok": False,
        "reason": FAILED.reason,
        "domain": "xenwizard-canary-ab12",
        "mac": "00:16:3e:12:34:56",
        "lease_ip": None,
        "seconds": 121.0,
        "left_behind": list(FAILED.left_behind),
    }


def test_without_guest_there_is_no_canary(applied, monkeypatch, capsys) -> None:
    calls = with_canary(monkeypatch, PASSED)
    main(verify_live(applied, "--json"))
    assert calls == []
    assert "guest" not in {c["name"] for c in json.loads(capsys.readouterr().out)}


def test_with_a_root_that_is_not_this_machine_the_canary_is_not_started(applied) -> None:
    done = run_cli("verify", "--root", str(applied), "--guest", "--json")
    assert done.returncode == 1
    guest = json.loads(done.stdout)[-1]
    assert guest["name"] == "guest" and guest["ok"] is False
    assert guest["reason"] == (
        f"not started: {applied} is not the running system (--root); the canary runs on the "
        "live host"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "'soon' is not a number of seconds (e.g. 120)"),
        ("5", "5 s is out of range; expected 10 to 1800 seconds"),
        ("nan", "nan s is out of range"),
    ],
)
def test_a_bad_guest_timeout_is_one_clear_line(value: str, message: str) -> None:
    done = run_cli("verify", "--guest", "--guest-timeout", value)
    assert done.returncode == 1
    assert message in done.stderr.splitlines()[-1]


def test_guest_timeout_needs_guest(applied) -> None:
    done = run_cli("verify", "--root", str(applied), "--guest-timeout", "60")
    assert done.returncode == 1
    assert done.stderr == "xenwizard verify: --guest-timeout needs --guest\n"
    assert done.stdout == ""
