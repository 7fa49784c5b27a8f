"""What a check returns: a name, PASS or FAIL, and the reason in plain words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    reason: str

    @property
    def status(self) -> str:
        return "PASS" if self.ok else "FAIL"

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.reason}"

    def data(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "ok": self.ok, "reason": self.reason}


def passed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, True, reason)


def failed(name: str, reason: str) -> CheckResult:
    return CheckResult(name, False, reason)
