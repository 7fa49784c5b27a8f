"""tests/vm/xenvm/guestcheck.py, the lead's helper for the real-Xen VM, against a fake `Machine`:
it parses `verify --guest --json` and finds each kind of canary leftover."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.vm.xenvm import guestcheck

MAC = "00:16:3e:12:34:56"
GUEST = {
    "name": "guest",
    "status": "PASS",
    "ok": True,
    "reason": "...",
    "domain": "xenwizard-canary-ab12",
    "mac": MAC,
    "lease_ip": "10.0.0.57",
    "seconds": 52.3,
    "left_behind": [],
}
XL_LIST = (
    "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
    "Domain-0                                     0  1024     2     r-----      50.1\n"
)


class FakeVM:
    def __init__(self, answers: dict[str, str], returncode: int = 0):
        self.answers, self.returncode, self.commands = answers, returncode, []

    def ssh(self, command, *, timeout=120, check=True, phase="ssh"):
        self.commands.append(command)
        key = next(k for k in self.answers if command.startswith(k))
        return subprocess.CompletedProcess(command, self.returncode, self.answers[key], "progress")

    def fail(self, phase, reason):
        raise AssertionError(f"{phase}: {reason}")


def leftovers_vm(xl: str = XL_LIST, files: str = "", leases: str = "") -> FakeVM:
    return FakeVM(
        {
            "xenwizard verify": json.dumps([{"name": "run", "ok": True}, GUEST]),
            "xl list": f"{xl}@@\n{files}@@\n{leases}",
        }
    )


def test_a_clean_pass_is_accepted() -> None:
    vm = leftovers_vm(leases="1767225600 00:16:3e:99:99:99 10.0.0.11 * *\n")
    result = guestcheck.assert_guest_passes(vm, "canary")  # type: ignore[arg-type]
    assert result.guest == GUEST
    assert vm.commands[0] == "xenwizard verify --guest --guest-timeout 240 --json"


def test_each_leftover_is_found() -> None:
    vm = leftovers_vm(
        xl=XL_LIST
        + "xenwizard-canary-ab12                        7   128     1     -b----   1.0\n",
        files="/run/xenwizard/canary-x1y2\n",
        leases=f"1767225600 {MAC} 10.0.0.57 * *\n",
    )
    assert guestcheck.canary_leftovers(vm, MAC, "x") == [  # type: ignore[arg-type]
        "domain xenwizard-canary-ab12",
        "file /run/xenwizard/canary-x1y2",
        f"lease 1767225600 {MAC} 10.0.0.57 * *",
    ]
    with pytest.raises(AssertionError):
        guestcheck.assert_guest_passes(vm, "canary")  # type: ignore[arg-type]


def test_output_that_is_not_json_fails_the_phase() -> None:
    vm = FakeVM({"xenwizard verify": "Traceback ..."})
    with pytest.raises(AssertionError, match="printed no JSON"):
        guestcheck.verify_guest(vm, "canary")  # type: ignore[arg-type]
