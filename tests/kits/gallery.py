"""Screen gallery: how to bring the wizard to each of its screens, deterministically.

The snapshot tests (tests/tui/test_screens_snapshots.py) drive each scenario and keep its
picture in tests/tui/__snapshots__/; `scripts/make-screens` copies those files, byte for byte,
into `screens/` (the gallery README links), so there is one picture of each screen.
Everything that changes between runs is pinned: the target is a copy of the packaged sample
system (Ubuntu 12.04), or of a current-release fixture root from tests/fixtures, shown as `/`;
the facts (interfaces, route, root, SSH) are fixed, the run id is fixed, the network checks of
current-release plans answer "accepted" (`pinned`), and the command of the steps the scenarios
inject (update-grub, their file's refresh) goes to `GalleryRunner`, which plays it and never
runs anything.
"""

from __future__ import annotations

import ast
import ipaddress
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from unittest import mock

from textual.pilot import Pilot

from tests.kits.enginekit import failing_edit
from xenwizard.edits import EditResult
from xenwizard.engine.runner import LineCallback
from xenwizard.planning.netcheck import Check, ToolVersions
from xenwizard.planning.plan import EditFile, Plan, Step
from xenwizard.planning.profiles.bootsteps import xen_title
from xenwizard.target.probe import DefaultRoute, InterfaceInfo, SystemFacts, probe
from xenwizard.target.rootfs import RootFS
from xenwizard.tui.demoapt import SimulatedRunner
from xenwizard.tui.screens.state import WizardContext
from xenwizard.verify.hostcheck.results import CheckResult

SAMPLE_ROOT = Path(__file__).resolve().parents[2] / "xenwizard" / "samples" / "ubuntu-12.04"
# Current-release scenarios use the repository's fixture roots (the gallery is a dev tool).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SNAPSHOT_TESTS = Path(__file__).resolve().parents[1] / "tui" / "test_screens_snapshots.py"
SNAPSHOTS = SNAPSHOT_TESTS.parent / "__snapshots__" / SNAPSHOT_TESTS.stem
ROOTS = {
    "debian-12": FIXTURES / "debian-12-root",  # ifupdown, `iface eno1 inet dhcp`
    "ubuntu-24.04": FIXTURES / "ubuntu-24.04-root",  # netplan file owned by cloud-init
}
RUN_ID = "20260101T120000-0001"
SIZE = (80, 24)


def lan_interfaces(nic: str, mac: str) -> tuple[InterfaceInfo, ...]:
    """What a live probe might find on a small server: one NIC on the LAN, and lo."""
    return (
        InterfaceInfo(nic, (ipaddress.IPv4Interface("192.168.1.10/24"),), mac, is_physical=True),
        InterfaceInfo("lo", (ipaddress.IPv4Interface("127.0.0.1/8"),)),
    )


SAMPLE_INTERFACES = lan_interfaces("eth0", "52:54:00:12:34:56")
SAMPLE_ROUTE = DefaultRoute(gateway="192.168.1.1", interface="eth0")
# Current releases name the NIC eno1 (the fixtures' files do too; MAC as in the netplan file).
CURRENT_INTERFACES = lan_interfaces("eno1", "52:54:00:8a:1c:02")
CURRENT_ROUTE = DefaultRoute(gateway="192.168.1.1", interface="eno1")


# The one command a file step runs (its refresh): the command of the injected steps.
SCRIPTED = "update-grub"


class GalleryRunner:
    """Plays `script` for update-grub once the injected step has written its file (`marker`):
    the command of the injected step, not a plan's own GRUB step before it; everything else
    (and update-grub without a script) is simulated.

    `block` prints a few lines, then waits until `release` is set (or the app has gone);
    `flood N` prints N lines and pauses half-way until `resume` is set.
    """

    def __init__(self) -> None:
        self.script: str | None = None
        self.marker: Path | None = None  # the injected step's file
        self.simulated = SimulatedRunner()  # the demo's: apt-get and update-grub on the copy
        self.release = threading.Event()
        self.blocked = threading.Event()
        self.resume = threading.Event()
        self.halfway = threading.Event()
        self.gone: Callable[[], bool] = lambda: False

    def run(
        self,
        argv: Sequence[str],
        on_line: LineCallback,
        env: Mapping[str, str] | None = None,
        network: bool = False,
    ) -> int:
        played = self.script is not None and self.marker is not None and self.marker.exists()
        if argv[0] != SCRIPTED or not played:
            return self.simulated.run(argv, on_line, env, network)
        assert self.script is not None
        command, *args = self.script.split()
        if command == "block":
            for n in range(1, 4):
                on_line(f"checking the bridge, part {n} of 3")
            self.blocked.set()
            while not self.release.wait(0.02):
                if self.gone():
                    return 1
            return 0
        if command == "flood":
            total = int(args[0])
            for n in range(1, total + 1):
                on_line(f"output line {n} of {total}")
                if n == total // 2:
                    self.halfway.set()
                    while not self.resume.wait(0.02):
                        if self.gone():
                            return 1
            return 0
        raise ValueError(f"unknown gallery script {self.script!r}; expected block or flood N")


def injected(at: int, step: Step, script: str | None = None) -> Callable[[WizardContext], None]:
    """A setup that adds `step` at position `at` of every plan the wizard makes, and has the
    gallery's runner play `script` for its command."""

    def setup(ctx: WizardContext) -> None:
        if script is not None:
            assert isinstance(ctx.runner, GalleryRunner)
            ctx.runner.script = script
            ctx.runner.marker = ctx.fs.root / step.path

        def factory(config):  # type: ignore[no-untyped-def]
            plan: Plan = ctx.profile_plan(config)
            added = step
            if isinstance(step, EditFile) and step.deferred:  # its file as this plan finds it
                added = replace(step, before=ctx.fs.read_text(step.path))
            steps = list(plan.steps)
            steps.insert(at if at >= 0 else len(steps), added)
            return replace(plan, steps=tuple(steps))

        ctx.plan_factory = factory

    return setup


def scripted_step(step_id: str, title: str) -> EditFile:
    """A step that runs a command the runner plays: it creates a small file of its own and
    then runs the file's refresh, update-grub (the rollback removes the file again)."""
    return EditFile(
        id=step_id,
        title=title,
        path=f"etc/xenwizard-gallery-{step_id}",
        before=None,
        after="",
        transform=lambda _text: EditResult(""),
        refresh=SCRIPTED,
    )


BLOCK_STEP = scripted_step("check", "Check the bridge (waits)")  # with script "block"
# fails before it changes anything; its file exists in every gallery root (packages skipped)
FAIL_STEP = failing_edit("check", "Check guest networking", "br0 not found", "etc/os-release")


def flood_step(lines: int) -> EditFile:
    return scripted_step("flood", f"Print {lines} lines")  # with script f"flood {lines}"


GUARD_RUN_ID = "20260101T110000-0001"
INSTALLED_XENWIZARD = "/usr/bin/xenwizard"  # the .deb's: pictures must not show a checkout


def guarded(ctx: WizardContext) -> None:
    """The target as the guarded first boot finds it: an earlier apply (packages played by
    the engine tests' fake apt-get) left the one-shot boot and the boot guard pending."""
    from tests.kits.enginekit import FakeRunner
    from xenwizard.engine.executor import Engine
    from xenwizard.planning.profiles import make_plan

    with (
        mock.patch("xenwizard.engine.executor.new_run_id", lambda *a, **k: GUARD_RUN_ID),
        mock.patch("xenwizard.target.boot.xenwizard_path", lambda: INSTALLED_XENWIZARD),
        mock.patch("xenwizard.planning.netcheck.check_ifupdown", _accepted("ifup --no-act")),
        mock.patch("xenwizard.planning.netcheck.tool_versions", _same_tools),
    ):
        plan = make_plan(ctx.config, ctx.facts, ctx.fs)
        result = Engine(plan, ctx.fs, FakeRunner(ctx.fs.real_root)).apply()
    assert result.outcome == "applied", result.message
    ctx.guard_checks = healthy_xen_host


def healthy_xen_host(fs: RootFS) -> list[CheckResult]:
    """What verify says on the guarded first boot of a healthy Debian 12 Xen host (the gallery
    is not one: its live checks would only say SKIP)."""
    from xenwizard.verify.hostcheck import passed, run_checks

    files = [r for r in run_checks(fs, skip_live="gallery") if r.name.startswith("file")]  # real
    return [
        passed("run", f"{GUARD_RUN_ID} applied with profile debian-12 (bridge br0)"),
        passed("xen", "Xen 4.17.5 runs and this is dom0 (xl info answers)"),
        passed("bridge", "br0 is a bridge and up"),
        passed("alias", "10.0.0.1/24 on br0"),
        passed("dnsmasq", "runs (pid 812) with /etc/dnsmasq.d/xenwizard.conf, interface=br0"),
        passed("dhcp-confinement", "table bridge xenwizard is loaded"),
        *files,
    ]


@dataclass(frozen=True)
class Scenario:
    """One picture: the keys that lead to it from the start, and what differs from default."""

    name: str
    doc: str
    keys: tuple[str, ...] = ()
    facts: Mapping[str, object] = field(default_factory=dict)
    setup: Callable[[WizardContext], None] | None = None
    unfinished: tuple[str, ...] = ()
    root: str = ""  # a key of ROOTS; "" = the packaged sample (Ubuntu 12.04)


# Key tokens: "@apply" waits for the apply to finish, "@blocked" for the blocking step,
# "@verified" for the boot guard page's verify.
TO_DOM0 = ("enter", "enter", "enter", "enter")
TO_TOOLSTACK = (*TO_DOM0, "enter")
TO_PREVIEW = (*TO_TOOLSTACK, "space", "enter")
TO_APPLY = (*TO_PREVIEW, "a", "y")
# Current releases (xl): nothing to acknowledge on the toolstack page.
XL_TO_TOOLSTACK = ("enter", "enter", "enter", "enter", "enter")
XL_TO_PREVIEW = (*XL_TO_TOOLSTACK, "enter")
SSH_CLIENT = "192.168.1.50 50022 192.168.1.10 22"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("welcome", "Welcome: plan in plain words and the detected facts"),
    Scenario(
        "welcome-unfinished",
        "Welcome as a normal user over SSH, with an unfinished earlier run offered for rollback",
        facts={"is_root": False, "ssh_connection": "192.168.1.50 50022 192.168.1.10 22"},
        unfinished=("20251231T235900-0abc",),
    ),
    Scenario("bridge", "Bridge name with the existing interfaces", ("enter",)),
    Scenario(
        "bridge-invalid",
        "Bridge name rejected as it is typed, with the reason beside the field",
        ("enter", "end", "backspace", "backspace", "backspace", *"br0;reboot"),
    ),
    Scenario(
        "bridge-clash",
        "Bridge name that is already an interface (not a bridge): refused, saying what it is",
        ("enter", "end", "backspace", "backspace", "backspace", *"eth0"),
    ),
    Scenario(
        "subnet", "Subnet: host address with netmask, broadcast, network, hosts", ("enter", "enter")
    ),
    Scenario(
        "subnet-overlap",
        "Subnet overlapping the LAN address of eth0",
        ("enter", "enter", "ctrl+u", *"192.168.1.1/24"),
    ),
    Scenario(
        "dhcp",
        "DHCP range, lease, address count and the Xen-guests-only switch",
        ("enter", "enter", "enter"),
    ),
    Scenario(
        "dhcp-invalid",
        "DHCP range end outside the subnet: both fields show the reason",
        ("enter", "enter", "enter", "tab", "ctrl+u", *"10.0.1.100"),
    ),
    Scenario(
        "dom0-memory",
        "Dom0 memory: the RAM, the rule's default in one line, the field and what guests keep",
        TO_DOM0,
    ),
    Scenario(
        "dom0-memory-invalid",
        "Dom0 memory above the machine's RAM: refused beside the field",
        (*TO_DOM0, "ctrl+u", *"8G"),
    ),
    Scenario("toolstack", "Toolstack warning waiting for the acknowledgement", TO_TOOLSTACK),
    Scenario(
        "toolstack-refused",
        "Next refused until the acknowledgement is ticked",
        (*TO_TOOLSTACK, "enter"),
    ),
    Scenario(
        "preview",
        "Preview: steps beside the selected file's coloured diff",
        (*TO_PREVIEW, "down", "down", "down", "down", "down", "down", "down", "down"),  # alias step
    ),
    Scenario("preview-summary", "Preview summary: profile, files and warnings", TO_PREVIEW),
    Scenario(
        "preview-not-root",
        "Preview as a normal user: apply disabled with the reason",
        TO_PREVIEW,
        facts={"is_root": False},
    ),
    Scenario("preview-save", "Saving the plan: the path with its default", (*TO_PREVIEW, "s")),
    Scenario("preview-confirm", "Apply asks for confirmation", (*TO_PREVIEW, "a")),
    Scenario(
        "apply-running",
        "Apply running: states by symbol and word, progress, live log",
        (*TO_APPLY, "@blocked"),
        setup=injected(3, BLOCK_STEP, "block"),
    ),
    Scenario(
        "apply-failed",
        "A failed step after the rollback: every change undone, log path shown",
        (*TO_APPLY, "@apply"),
        setup=injected(-1, FAIL_STEP),
    ),
    Scenario("apply-done", "Apply finished", (*TO_APPLY, "@apply")),
    Scenario(
        "done", "Done: what changed, next steps, undo, answers file", (*TO_APPLY, "@apply", "enter")
    ),
    Scenario("help", "Help for the bridge page (F1)", ("enter", "f1")),
    Scenario("quit", "Ctrl-Q asks before quitting", ("enter", "ctrl+q")),
    Scenario(
        "error",
        "An unexpected error ends on the error page with the message and the log path",
        TO_PREVIEW,
        setup=lambda ctx: setattr(ctx, "plan_factory", _explode),
    ),
    # --- current releases: the screens that differ (issue 6) ---------------------------------
    Scenario(
        "debian-12-welcome",
        "Debian 12 (ifupdown): the xl recipe detected from os-release, Xen not installed yet",
        root="debian-12",
    ),
    Scenario(
        "debian-12-bridge",
        "Debian 12: the NIC to bridge, prefilled with the profile's primary NIC and why",
        ("enter",),
        root="debian-12",
    ),
    Scenario(
        "debian-12-dhcp",
        "Debian 12: the UDP checksum workaround is a switch, off by default",
        ("enter", "enter", "enter"),
        root="debian-12",
    ),
    Scenario(
        "debian-12-subnet-ipv6",
        "Debian 12: the guests' IPv6 prefix on the subnet page: a /48 is refused with the reason",
        ("enter", "enter", "tab", "tab", "ctrl+u", *"2001:db8::/48"),
        root="debian-12",
    ),
    Scenario(
        "debian-12-dom0-memory",
        "Debian 12: dom0's memory and the boot guard, on with its deadline in minutes",
        ("enter", "enter", "enter", "enter"),
        root="debian-12",
    ),
    Scenario(
        "debian-12-toolstack",
        "Debian 12: xl is the only toolstack, what replaces xend's network-script; "
        "nothing to acknowledge",
        XL_TO_TOOLSTACK,
        root="debian-12",
    ),
    Scenario(
        "debian-12-preview",
        "Debian 12: the bridge step's interfaces diff (eno1 manual, br0 takes its DHCP and MAC, "
        "the guest subnet as a second br0 stanza)",
        (*XL_TO_PREVIEW, "down", "down", "tab", "pagedown"),
        root="debian-12",
    ),
    Scenario(
        "debian-12-apply-running",
        "Debian 12 applying 19 steps on 80x24: one line per step, the running one in view, "
        "the live log below",
        (*XL_TO_PREVIEW, "a", "y", "@blocked"),
        setup=injected(10, BLOCK_STEP, "block"),
        root="debian-12",
    ),
    Scenario(
        "debian-12-boot-guard",
        "Debian 12 after the guarded first boot: verify's checks, Confirm (c) and Roll back "
        "now (r)",
        ("@verified",),
        setup=guarded,
        root="debian-12",
    ),
    Scenario(
        "debian-12-bridge-isolated",
        "Debian 12: the isolated shape chosen on the bridge page (the two shapes in a sentence "
        "each); no NIC to bridge",
        ("enter", "tab", "tab", "right"),
        root="debian-12",
    ),
    Scenario(
        "debian-12-preview-isolated",
        "Debian 12, isolated: the preview says the host's network configuration is not "
        "touched and there is no network lockout risk; the bridge in interfaces.d",
        ("enter", "tab", "tab", "right", *XL_TO_PREVIEW[1:]),
        root="debian-12",
    ),
    Scenario(
        "ubuntu-24.04-welcome-isolated",
        "Ubuntu 24.04 over SSH with isolated = true answered: no SSH warning, no network "
        "lockout risk",
        facts={"ssh_connection": SSH_CLIENT},
        setup=lambda ctx: setattr(ctx, "config", replace(ctx.config, isolated=True)),
        root="ubuntu-24.04",
    ),
    Scenario(
        "ubuntu-24.04-welcome-ssh",
        "Ubuntu 24.04 (netplan) over SSH through the NIC the bridge takes over: the plain warning",
        facts={"ssh_connection": SSH_CLIENT},
        root="ubuntu-24.04",
    ),
    Scenario(
        "ubuntu-24.04-toolstack",
        "Ubuntu 24.04: xl is the only toolstack; nothing to acknowledge",
        XL_TO_TOOLSTACK,
        root="ubuntu-24.04",
    ),
    Scenario(
        "ubuntu-24.04-preview",
        "Ubuntu 24.04: the summary says the bridge goes into netplan and warns that cloud-init "
        "owns the existing file",
        XL_TO_PREVIEW,
        root="ubuntu-24.04",
    ),
    Scenario(
        "ubuntu-24.04-preview-netplan",
        "Ubuntu 24.04: xenwizard's own netplan file moves eno1's addressing onto br0",
        (*XL_TO_PREVIEW, "down", "down", "down", "tab", "pagedown"),
        root="ubuntu-24.04",
    ),
)


def _explode(config):  # type: ignore[no-untyped-def]
    raise RuntimeError("the plan could not be made (injected failure for the gallery)")


def scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def make_context(
    root: Path,
    runner: GalleryRunner,
    *,
    facts: Mapping[str, object] | None = None,
    unfinished: tuple[str, ...] = (),
    label: str = "/",
) -> WizardContext:
    """The gallery's context on a copy of a root: pinned facts, simulated packages."""
    fs = RootFS(root)
    base: SystemFacts = probe(fs, live=False)
    runner.simulated = SimulatedRunner(fs, xen_title(fs, base))
    precise = base.release == "ubuntu-12.04"  # eth0 there; eno1 on current releases
    pinned = replace(
        base,
        interfaces=SAMPLE_INTERFACES if precise else CURRENT_INTERFACES,
        default_route=SAMPLE_ROUTE if precise else CURRENT_ROUTE,
        live=True,
        is_root=True,
        ssh_connection=None,
    )
    return WizardContext(
        fs=fs,
        facts=replace(pinned, **dict(facts or {})),  # type: ignore[arg-type]
        runner=runner,
        simulate_packages=True,
        root_label=label,
        unfinished=unfinished,
        error_log=str(root / "var" / "log" / "xenwizard-error.log"),
    )


def _accepted(tool: str) -> Callable[..., Check]:
    def check(*_args: object, **_kwargs: object) -> Check:
        return Check(True, tool)

    return check


@contextmanager
def pinned_run_id() -> Iterator[None]:
    """Every run the engine starts gets RUN_ID, so pictures and journals name one run."""
    with mock.patch("xenwizard.engine.executor.new_run_id", lambda *a, **k: RUN_ID):
        yield


@contextmanager
def pinned() -> Iterator[None]:
    """The run id fixed, and the network checks of current-release plans (`ifup --no-act`,
    `netplan generate`) answered "accepted": whether this machine has ifupdown or netplan
    installed must not change a picture. The real checks run in the profile tests."""
    with (
        pinned_run_id(),
        mock.patch("xenwizard.planning.netcheck.check_ifupdown", _accepted("ifup --no-act")),
        mock.patch(
            "xenwizard.planning.netcheck.check_netplan", _accepted("netplan generate --root-dir")
        ),
        mock.patch("xenwizard.planning.netcheck.tool_versions", _same_tools),
        mock.patch("xenwizard.target.boot.xenwizard_path", lambda: INSTALLED_XENWIZARD),
    ):
        yield


def _same_tools(package: str, *_args: object) -> ToolVersions:
    """This machine's checking tool taken as the target's own: its version must not change a
    picture either."""
    return ToolVersions(package, None, None)


def build_app(item: Scenario, workdir: Path, source: Path = SAMPLE_ROOT):  # type: ignore[no-untyped-def]
    """The app for a scenario on a fresh copy of its root (else `source`) under `workdir`,
    and its runner."""
    from xenwizard.tui.app import XenWizardApp

    if item.root:
        source = ROOTS[item.root]
    root = workdir / "root"
    shutil.copytree(source, root, symlinks=True)
    runner = GalleryRunner()
    ctx = make_context(root, runner, facts=item.facts, unfinished=item.unfinished)
    if item.setup is not None:
        item.setup(ctx)
    app = XenWizardApp(ctx)
    runner.gone = lambda: not app.is_running
    return app, runner


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (a worker thread is involved), or fail."""
    for _ in range(3000):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise TimeoutError(f"timed out waiting for {what}")


async def drive(pilot: Pilot, keys: Sequence[str], runner: GalleryRunner) -> None:
    """Press the keys, honouring the wait tokens."""
    from xenwizard.tui.screens.apply import ApplyScreen

    app = pilot.app
    await wait_for(pilot, lambda: app._ready_signalled, "the first page")
    # The first page's footer is mounted just after its first frame: wait for its keys.
    await wait_for(pilot, lambda: bool(app.screen.query("FooterKey")), "the first page's keys")
    for key in keys:
        if key == "@apply":
            await wait_for(pilot, lambda: isinstance(app.screen, ApplyScreen), "the apply page")
            page = app.screen
            await wait_for(pilot, lambda s=page: hasattr(s, "worker"), "the apply worker")
            await page.worker.wait()
            await wait_for(
                pilot,
                lambda s=page: not s.running and bool(s.finished or s.stopped_by),
                "the apply's last event",
            )
        elif key == "@verified":
            await wait_for(
                pilot, lambda: getattr(app.screen, "results", None) is not None, "verify's checks"
            )
        elif key == "@blocked":
            await wait_for(pilot, runner.blocked.is_set, "the blocking step")
            page = app.screen
            await wait_for(
                pilot,
                lambda s=page: isinstance(s, ApplyScreen) and s.output_lines >= 3,
                "the blocking step's output",
            )
        else:
            await pilot.press(key)
    # Typed-ahead keys are all handed on and no page is still building its plan.
    await wait_for(
        pilot,
        lambda: not app._typed and not getattr(app.screen, "building", False),
        "the keys to be handled",
    )
    await pilot.pause()


def snapshot_files() -> dict[str, Path]:
    """Each scenario's snapshot file: the test `Class.test_x` that calls `check(..., "NAME")`
    keeps its picture as SNAPSHOTS/Class.test_x.svg (pytest-textual-snapshot's naming). Read
    from the test module's source, so the map cannot go stale."""
    tree = ast.parse(SNAPSHOT_TESTS.read_text(encoding="utf-8"))
    files: dict[str, Path] = {}
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for test in cls.body:
            if not isinstance(test, ast.FunctionDef):
                continue
            names = [
                arg.value
                for call in ast.walk(test)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == "check"
                for arg in call.args[2:3]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
            assert len(names) == 1, f"{cls.name}.{test.name}: no single check(..., NAME)"
            assert names[0] not in files, f"{names[0]}: drawn by two snapshot tests"
            files[names[0]] = SNAPSHOTS / f"{cls.name}.{test.name}.svg"
    return files
