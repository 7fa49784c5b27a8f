"""What the screens share: the target, its facts, the chosen profile and the answers so far.

Pure data and questions put to answers/, target/ and planning/; no textual here, so the pieces
that decide what a screen shows can be read (and tested) without a terminal.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from xenwizard.answers.clashes import Target
from xenwizard.answers.model import WizardConfig
from xenwizard.engine.runner import Runner
from xenwizard.planning.plan import Plan
from xenwizard.planning.profiles import PlanError, Profile, make_plan, pin_profile, select_profile
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

if TYPE_CHECKING:
    from xenwizard.target.netlayout import NicChoice
    from xenwizard.verify.bootguard import Pending
    from xenwizard.verify.hostcheck import CheckResult
    from xenwizard.verify.hostcheck.canary import CanaryResult

Progress = Callable[[str], None]

PlanFactory = Callable[[WizardConfig], Plan]


def _skip_line(results: list[CheckResult]) -> str:
    return f"SKIP {', '.join(r.name for r in results)}: {results[0].reason}"


LiveProbe = Callable[[SystemFacts], SystemFacts]


@dataclass
class WizardContext:
    """Everything a wizard run works on; built by `xenwizard.tui.launch` (or a test)."""

    fs: RootFS
    facts: SystemFacts
    runner: Runner
    config: WizardConfig = field(default_factory=WizardConfig)
    profile_name: str | None = None  # --profile / answers file; None: detect
    simulate_packages: bool = False  # demo: the runner plays the package step (demoapt)
    skip_packages: bool = False  # --skip-packages: the package step is skipped, as apply's flag
    answered: frozenset[str] = frozenset()  # answer keys the operator gave (flags, answers file)
    subnet_note: str | None = None  # why the start subnet is not the default, when it is not

    root_label: str | None = None  # how screens name the root (demo: "sample system")
    unfinished: tuple[str, ...] = ()  # ids of earlier runs killed mid-apply
    plan_default_path: str = "./xenwizard-plan.diff"
    error_log: str | None = None  # where an unexpected error's details go
    plan_factory: PlanFactory | None = None  # tests inject failing/slow steps here
    guard_checks: Callable[[RootFS], list[CheckResult]] | None = None  # the gallery pins verify
    guard_canary: Callable[[Progress], CanaryResult] | None = None  # tests pin the canary guest
    demo: bool = False
    # Live root: what only the kernel knows (interfaces, default route) is still to be added to
    # `facts` by this function; the app runs it in a worker once the first page takes input.
    live_probe: LiveProbe | None = None
    # What the operator left in a page's fields with Back: page -> widget id -> (the answer
    # the field was prefilled with, its text or state). The page shows it when it comes again.
    drafts: dict[str, dict[str, tuple[object, object]]] = field(default_factory=dict)
    # The Toolstack page's "I understand: keep xm" tick, once given (Next); shown ticked again.
    toolstack_acknowledged: bool = False
    profile: Profile | None = field(init=False, default=None)
    profile_reason: str = field(init=False, default="")
    profile_error: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        try:
            self.profile, self.profile_reason = select_profile(self.facts, self.profile_name)
        except PlanError as exc:
            self.profile_error = str(exc)

    @property
    def packages_skipped(self) -> bool:
        """The engine skips the package step (and the steps needing its files): only with
        --skip-packages; the demo's package step runs, played on the copy by its runner."""
        return self.skip_packages

    @property
    def may_write(self) -> bool:
        """Whether this user may apply: root, or anyone in the demo, which only writes the
        sample copy that user owns."""
        return self.facts.is_root or self.demo

    def pending_guard(self) -> Pending | None:
        """The boot guard waiting for `xenwizard confirm` on this target, if any. Asked before
        the first page: verify/ and the engine load only when the guard's files are there."""
        from xenwizard.verify.guardfiles import guard_files

        if not guard_files(self.fs):
            return None
        from xenwizard.verify.bootguard import pending

        return pending(self.fs)

    def guard_verify(self) -> list[CheckResult]:
        """`xenwizard verify` of the target, as the boot guard's page shows it."""
        from xenwizard.verify.bootguard import verify

        return (self.guard_checks or verify)(self.fs)

    def guard_guest(self, on_progress: Progress) -> CanaryResult:
        """`xenwizard verify --guest`'s canary guest on the target, for the boot guard's page
        (minutes under emulation: the page runs it in a worker)."""
        if self.guard_canary is not None:
            return self.guard_canary(on_progress)
        from xenwizard.verify.hostcheck.canary import canary_for_applied

        return canary_for_applied(self.fs.root, on_progress=on_progress)

    def check_lines(self, results: list[CheckResult]) -> list[str]:
        """verify's lines for a page: skipped checks with the same reason on one line, the
        root's host path written as its label."""
        lines: list[str] = []
        skipped: list[CheckResult] = []
        for result in [*results, None]:
            if result is not None and result.status == "SKIP":
                if skipped and skipped[-1].reason != result.reason:
                    lines.append(_skip_line(skipped))
                    skipped = []
                skipped.append(result)
                continue
            if skipped:
                lines.append(_skip_line(skipped))
                skipped = []
            if result is not None:
                lines.append(result.line())
        return [self.redact(line) for line in lines]

    def confirm_guard(self) -> list[str]:
        """`xenwizard confirm` after a verify that passed: what was done, one line each."""
        from xenwizard.verify.bootguard import confirm

        return confirm(self.fs, self.runner, lambda _line: None)

    def boot_guard(self, run_id: str) -> int | None:
        """The boot guard's deadline (minutes) when run `run_id` installed one, else None."""
        from xenwizard.verify.bootguard import pending

        guard = pending(self.fs)
        return guard.minutes if guard is not None and guard.run_id == run_id else None

    @property
    def target(self) -> Target:
        """What the answers must not clash with here (as far as the facts are detected)."""
        from xenwizard.planning.preflight import target_of

        return target_of(self.facts, self.fs, self.profile)

    @property
    def detecting(self) -> bool:
        """The live facts (interfaces, route) are still being detected."""
        return self.live_probe is not None

    def facts_detected(self, facts: SystemFacts) -> None:
        """The live probe's result: from now on every page sees the complete facts."""
        self.facts = facts
        self.live_probe = None
        self.use_free_subnet()

    def use_free_subnet(self) -> None:
        """Start on a free guest subnet, as the CLI does: when the operator named no address,
        range or subnet pool and the default 10.0.0.0/24 is used on the target, the first free
        private /24 (with why, for the Subnet page)."""
        from xenwizard.answers.build import build_config
        from xenwizard.answers.clashes import free_default_address

        if self.detecting or {"address", "dhcp-range", "subnet-pool"} & self.answered:
            return
        address, why = free_default_address(self.target)
        if why and address != self.config.address:
            self.config = build_config({"address": address}, self.config)
            self.subnet_note = why

    # --- paths as the operator sees them -------------------------------------------------

    @property
    def root(self) -> str:
        return str(self.fs.root)

    def show_path(self, path: str | os.PathLike[str]) -> str:
        """A host path under the root, written with the root's label (demo/tests: no temp dir)."""
        return self.redact(str(path))

    def redact(self, text: str) -> str:
        """Text with every mention of the root's host path written as the root's label."""
        if self.root_label is None:
            return text
        label = self.root_label
        for prefix in sorted({str(self.fs.real_root), str(self.fs.root)}, key=len, reverse=True):
            prefix = prefix.rstrip("/")
            if prefix:
                text = text.replace(prefix + "/", label.rstrip("/") + "/").replace(prefix, label)
        return text

    @property
    def root_option(self) -> str:
        """` --root DIR` (quoted for the shell) when the root is not this machine's `/`."""
        return "" if self.fs.is_live else f" --root {shlex.quote(self.root_text)}"

    def command(self, subcommand: str, *rest: str) -> str:
        """`xenwizard SUBCOMMAND ...` as the operator must type it for this root."""
        tail = "".join(f" {word}" for word in rest)
        return f"xenwizard {subcommand}{self.root_option}{tail}"

    @property
    def root_text(self) -> str:
        if self.root_label is not None:
            return self.root_label
        return "/ (this machine)" if self.fs.is_live else self.root

    @property
    def log_path(self) -> str:
        from xenwizard.paths import LOG_FILE

        return self.show_path(self.fs.path(LOG_FILE))

    def answers_path(self, run_id: str) -> str:
        from xenwizard.paths import RUNS_DIR

        return self.show_path(self.fs.path(f"{RUNS_DIR}/{run_id}/answers.toml"))

    def error_log_path(self) -> str:
        if self.error_log:
            return self.error_log
        from xenwizard.engine.privatefile import default_error_log

        return default_error_log(self.fs)

    # --- what the profile asks and offers ------------------------------------------------

    @property
    def toolstack(self) -> str:
        return self.profile.toolstack if self.profile is not None else "xl"

    @property
    def asks_nic(self) -> bool:
        """Profiles that build the bridge from a NIC (current releases) ask which NIC."""
        return self.profile is not None and self.profile.asks_nic

    @property
    def offers_udp_switch(self) -> bool:
        """Profiles where the UDP checksum workaround is optional show a switch for it."""
        return self.profile is not None and self.profile.udp_checksum_optional

    @property
    def offers_guest_ipv6(self) -> bool:
        """Profiles that can give the guests an IPv6 prefix ask for one (not ubuntu-precise)."""
        return self.profile is not None and self.profile.guest_ipv6

    @property
    def udp_default(self) -> bool:
        if self.config.udp_checksum_workaround is not None:
            return self.config.udp_checksum_workaround
        return self.profile.udp_checksum_default if self.profile is not None else True

    def nic_choice(self, *, detected: bool = False) -> NicChoice | None:
        """The NIC the profile would bridge (name, reason, candidates, error), or None.

        `detected`: what the profile finds on its own (the default-route NIC, or the one
        configured physical NIC), leaving aside a NIC chosen with --nic or on the bridge page.
        """
        if not self.asks_nic or self.profile is None:
            return None
        config = replace(self.config, nic=None) if detected else self.config
        try:
            return self.profile.primary_nic(config, self.facts, self.fs)
        except (PlanError, OSError):
            return None

    def no_bridgeable_nic(self) -> str | None:
        """Why no NIC of the target can be bridged at all (None when one can, or the profile
        takes no NIC): none is configured, or every one found is refused (lo, Wi-Fi, a bridge,
        not configured). Said on the welcome page, before the first question."""
        if self.config.isolated:
            return None  # the isolated bridge takes no NIC
        choice = self.nic_choice(detected=True)
        if choice is None or self.profile is None:
            return None
        name = choice.name
        found = [n for n in (name, *choice.candidates) if n]
        check = self.profile.nic_problem
        problems = {n: check(n, self.facts, self.fs) for n in dict.fromkeys(found)}
        if any(problem is None for problem in problems.values()):
            return None  # the detected NIC, or one to choose on the bridge page
        if name is not None:
            return f"no NIC of this system can be bridged: {name} {problems[name]}"
        error = choice.error or "no configured NIC found"
        return f"no NIC of this system can be bridged: {error}"

    def ssh_warning(self) -> str | None:
        """The profile's plain words when SSH runs through the NIC the bridge takes over."""
        if self.profile is None or self.config.isolated:  # the NIC is not touched
            return None
        choice = self.nic_choice()
        nic = self.config.nic or (choice.name if choice is not None else None)
        try:
            return self.profile.ssh_warning(self.config, self.facts, nic)
        except (PlanError, OSError):
            return None

    def make_plan(self, config: WizardConfig) -> Plan:
        """The plan for these answers (PlanError when the system cannot be handled)."""
        if self.plan_factory is not None:
            return self.plan_factory(config)
        from xenwizard.planning.preflight import lan_clash

        taken = lan_clash(config, self.facts)  # the preview builds plans in a worker: may wait
        if taken:
            raise PlanError(f"{taken}; go back to the Subnet page")
        return self.profile_plan(config)

    def profile_plan(self, config: WizardConfig) -> Plan:
        """The chosen profile's plan, with the reason the profile was chosen (detected, or
        --profile): going through `make_plan(name)` would call every plan "chosen with
        --profile", and the saved plan would say so too."""
        if self.profile is None:
            return make_plan(config, self.facts, self.fs, self.profile_name)
        plan = self.profile.build(config, self.facts, self.fs, self.profile_reason)
        return pin_profile(plan, self.profile_name)


# --- small derived facts the screens display --------------------------------------------------


def usable_hosts(net: ipaddress.IPv4Network) -> int:
    return max(net.num_addresses - 2, 0)


def interfaces_lines(facts: SystemFacts, *, loopback: bool = True) -> list[str]:
    """One line per interface with its addresses; a note when the probe did not look."""
    if not facts.live:
        return ["not probed (the root is not this machine's /)"]
    found = [i for i in facts.interfaces if loopback or i.name != "lo"]
    if not found:
        return ["none found"]
    out = []
    for iface in found:
        kind = " (bridge)" if iface.is_bridge else ""
        addrs = ", ".join(str(a) for a in iface.addresses) or "no IPv4 address"
        out.append(f"{iface.name}{kind}: {addrs}")
    return out


def toolstack_text(facts: SystemFacts, toolstack: str) -> str:
    """The toolstack in effect, read against the profile's (`ctx.toolstack`: "xm" or "xl").

    No default for `toolstack`: on xl releases the xend-era reading ("empty means xm") is
    wrong, so every caller must say which release family it is talking about.
    """
    if toolstack == "xm":
        if facts.toolstack is None:
            return "no TOOLSTACK line in /etc/default/xen (xm, the default)"
        if facts.toolstack == "":
            return "TOOLSTACK= (empty: xm, the default)"
        return f"TOOLSTACK={facts.toolstack}"
    if facts.toolstack is None:
        if not facts.xen_installed:
            return "xl, the only toolstack here (Xen is not installed yet)"
        return "xl, the only toolstack here (no TOOLSTACK line in /etc/default/xen)"
    if facts.toolstack in ("", toolstack):
        return f"TOOLSTACK={facts.toolstack} (xl, the only toolstack here)"
    return f"TOOLSTACK={facts.toolstack}, but xl is the only toolstack here"


@dataclass(frozen=True, slots=True)
class ToolstackNotice:
    """What the toolstack screen says, and whether the operator must acknowledge it."""

    title: str
    lines: tuple[str, ...]
    acknowledge: str | None  # the checkbox label; None: nothing to acknowledge


def toolstack_notice(ctx: WizardContext) -> ToolstackNotice:
    """The profile's own notice when it has one, else the text for its toolstack."""
    current = toolstack_text(ctx.facts, ctx.toolstack)
    note = ctx.profile.toolstack_note if ctx.profile is not None else ""
    if note and ctx.toolstack != "xm":
        lines = [f"Now: {current}.", "", *textwrap.wrap(note, 76)]
        return ToolstackNotice(f"Toolstack: {ctx.toolstack}", tuple(lines), None)
    if ctx.toolstack == "xm":
        lines = [
            f"Now: {current}.",
            "xenwizard keeps the xm toolstack and never switches it.",
            "",
            "Do not switch to xl on this release (Xen 4.1):",
            " - xl does not run xend's network-script: the bridge would never be created",
            " - xl does not start the guests marked for autostart at boot",
            " - your xm guest configs and habits would need fixing again",
        ]
        if ctx.facts.toolstack == "xl":
            lines += [
                "",
                "WARNING: it is set to xl now. Set TOOLSTACK= back to empty by hand",
                "in /etc/default/xen before rebooting.",
            ]
        return ToolstackNotice(
            "Toolstack: keep xm", tuple(lines), "I understand: keep xm, do not switch to xl"
        )
    lines = [
        f"Now: {current}.",
        "xl is the only toolstack on this release; there is nothing to choose.",
        "xl does not create bridges: the bridge step of this plan sets one up in the",
        "distribution's network configuration instead of xend's network-script.",
    ]
    return ToolstackNotice("Toolstack: xl", tuple(lines), None)


TABLE_WIDTH = 78 - 14  # the value column of `facts_table` on an 80-column screen


def facts_table(rows: Iterable[tuple[str, str]], width: int = 14) -> str:
    """Label and value rows as aligned text; a row with neither is left out."""
    return "\n".join(f"{k:<{width}}{v}" for k, v in rows if k or v)
