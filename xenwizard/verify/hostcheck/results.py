"""What a check returns: a name, PASS, FAIL or SKIP, and the reason in plain words.

SKIP is neither a pass nor a failure: the check did not run (the apply skipped the step it would
check, or the live system cannot be seen from here). Only FAIL makes `xenwizard verify` exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: str  # PASS, FAIL or SKIP
    reason: str

    @property
    def ok(self) -> bool:
        """Passed (a skipped check is not a pass)."""
        return self.status == PASS

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.reason}"

    def data(self) -> dict[str, object]:
        """For --json: `ok` is true for PASS, false for FAIL and null for SKIP."""
        ok = None if self.status == SKIP else self.ok
        return {"name": self.name, "status": self.status, "ok": ok, "reason": self.reason}


def passed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, PASS, reason)


def failed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, FAIL, reason)


def skipped(name: str, reason: str) -> CheckResult:
    return CheckResult(name, SKIP, reason)
