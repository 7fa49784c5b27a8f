"""The `verify` checks on their own: a real applied root, a fake live system, exact reasons."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, PRECISE_ROOT, REPO, copy_root, plan_for, run_cli
from xenwizard.answers.model import WizardConfig
from xenwizard.cli import main
from xenwizard.planning.preflight import alias_lan_address_warning
from xenwizard.target.probe import DefaultRoute, InterfaceInfo, SystemFacts
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck import (
    DEFAULT_DNSMASQ_CONF,
    CheckResult,
    CommandOutput,
    LinkState,
    ProcessInfo,
    dnsmasq_sources,
    run_checks,
)

IF = ipaddress.IPv4Interface


@dataclass
class FakeLive:
    """A live system as a dict: links, addresses by label, processes, files by host path."""

    links: dict[str, LinkState] = field(default_factory=dict)
    addrs: dict[str, list[ipaddress.IPv4Interface]] = field(default_factory=dict)
    procs: list[ProcessInfo] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)  # None: absent
    mtimes: dict[str, float] = field(default_factory=dict)
    commands: dict[tuple[str, ...], CommandOutput] = field(default_factory=dict)  # else: no such

    def link(self, name: str) -> LinkState | None:
        return self.links.get(name)

    def addresses(self) -> dict[str, list[ipaddress.IPv4Interface]]:
        return self.addrs

    def processes(self, name: str) -> list[ProcessInfo]:
        return [p for p in self.procs if p.name == name]

    def read_text(self, path: str) -> str | None:
        if path in self.files:
            return self.files[path]
        try:
            return Path(path).read_text()
        except OSError:
            return None

    def run(self, argv, timeout: float = 10) -> CommandOutput | None:
        return self.commands.get(tuple(argv))

    def mtime(self, path: str) -> float | None:
        if path in self.mtimes:
            return self.mtimes[path]
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None


def apply(root: Path, *flags: str) -> None:
    code = main(["apply", "--root", str(root), "--yes", "--skip-packages", *flags])
    assert code == 0


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    target = copy_root(PRECISE_ROOT, tmp_path / "root")
    apply(target)
    capsys.readouterr()
    return target


def dnsmasq_cmdline(root: Path) -> tuple[str, ...]:
    """How Debian's init script starts it, with CONFIG_DIR mapped into the root."""
    return (
        "/usr/sbin/dnsmasq",
        "-x",
        "/run/dnsmasq/dnsmasq.pid",
        "-u",
        "dnsmasq",
        "-C",
        str(root / "etc/dnsmasq.conf"),
        "-7",
        f"{root}/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new",
        "--local-service",
    )


ICMP6 = "--ip6-proto ipv6-icmp --ip6-icmp-type"  # as Debian 12's ebtables 1.8.9 lists it


def ebtables_listings(port: str = "peth0") -> dict[tuple[str, ...], CommandOutput]:
    """`ebtables -L CHAIN` as Debian 12's ebtables prints it once the script has run."""
    header = "Bridge table: filter\n\nBridge chain: {chain}, entries: {n}, policy: {policy}\n"
    chains = {
        "FORWARD": ("ACCEPT", ["-j XENWIZARD-FORWARD"]),
        "INPUT": ("ACCEPT", ["-j XENWIZARD-INPUT"]),
        "OUTPUT": ("ACCEPT", ["-j XENWIZARD-OUTPUT"]),
        "XENWIZARD-FORWARD": (
            "RETURN",
            [
                f"-p IPv4 -o {port} --ip-proto udp --ip-dport 67 -j DROP",
                f"-p IPv4 -i {port} --ip-proto udp --ip-dport 68 -j DROP",
                f"-p IPv6 -i {port} {ICMP6} router-solicitation -j DROP",
                f"-p IPv6 -i {port} {ICMP6} router-advertisement -j DROP",
                f"-p IPv6 -o {port} {ICMP6} router-solicitation -j DROP",
                f"-p IPv6 -o {port} {ICMP6} router-advertisement -j DROP",
                f"-p IPv6 -i {port} --ip6-proto udp --ip6-dport 546:547 -j DROP",
                f"-p IPv6 -o {port} --ip6-proto udp --ip6-dport 546:547 -j DROP",
            ],
        ),
        "XENWIZARD-INPUT": (
            "RETURN",
            [
                f"-p IPv4 -i {port} --ip-proto udp --ip-dport 67 -j DROP",
                f"-p IPv6 -i {port} {ICMP6} router-solicitation -j DROP",
                f"-p IPv6 -i {port} --ip6-proto udp --ip6-dport 547 -j DROP",
            ],
        ),
        "XENWIZARD-OUTPUT": (
            "RETURN",
            [
                f"-p IPv6 -o {port} {ICMP6} router-advertisement -j DROP",
                f"-p IPv6 -o {port} --ip6-proto udp --ip6-dport 546 -j DROP",
            ],
        ),
    }
    return {
        ("/sbin/ebtables", "-L", chain): CommandOutput(
            0, header.format(chain=chain, n=len(rules), policy=policy) + "\n".join(rules) + "\n", ""
        )
        for chain, (policy, rules) in chains.items()
    }


def healthy(root: Path, config: WizardConfig | None = None) -> FakeLive:
    cfg = config or WizardConfig()
    return FakeLive(
        commands=ebtables_listings(),
        links={cfg.bridge: LinkState(cfg.bridge, is_bridge=True, up=True, operstate="up")},
        addrs={cfg.bridge: [IF("198.51.100.2/24")], cfg.alias: [cfg.interface], "lo": []},
        procs=[
            ProcessInfo(
                pid=4242,
                name="dnsmasq",
                cmdline=dnsmasq_cmdline(root),
                started=time.time() + 5,  # started after apply wrote the files
                same_netns=True,
                udp_ports=frozenset({67}),
            )
        ],
        files={
            "/sys/hypervisor/type": "xen\n",
            "/proc/xen/capabilities": "control_d\n",
            "/proc/sys/net/ipv4/ip_forward": "1\n",  # the guests' forwarding (issue 12)
        },
    )


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_everything_passes_on_a_healthy_host(root: Path) -> None:
    results = run_checks(RootFS(root), healthy(root))
    # --skip-packages skipped the GRUB step (it needs Xen's entry): it and its file say SKIP
    assert [r.line() for r in results if r.failed] == []
    assert {r.name for r in results if not r.ok} == {"dom0-mem", "file etc/default/grub"}
    assert by_name(results)["dom0-mem"].reason.startswith("skipped by the apply (--skip-packages)")
    names = [r.name for r in results]
    assert names[:9] == [
        "run",
        "xen",
        "dom0-mem",
        "bridge",
        "bridge-address",
        "alias",
        "dnsmasq",
        "dnsmasq-config",
        "dnsmasq-dhcp",
    ]
    assert names[9] == "dhcp-confinement"
    assert names[-1] == "toolstack"


def test_the_ebtables_confinement_must_be_loaded_on_the_lan_port(root: Path) -> None:
    live = healthy(root)
    confined = by_name(run_checks(RootFS(root), live))["dhcp-confinement"]
    assert confined.ok and "on peth0" in confined.reason, confined.line()
    live.commands[("/sbin/ebtables", "-L", "XENWIZARD-INPUT")] = CommandOutput(
        255, "", "Chain 'XENWIZARD-INPUT' doesn't exist.\n"
    )
    unloaded = by_name(run_checks(RootFS(root), live))["dhcp-confinement"]
    assert unloaded.line() == (
        "FAIL dhcp-confinement: ebtables chain XENWIZARD-INPUT is not loaded: guests may get "
        "leases from the LAN's DHCP server, and the host's dnsmasq hears LAN machines; run "
        "/etc/xenwizard/dhcp-confine.sh"
    )
    live.commands.update(ebtables_listings(port="peth1"))  # rules for another port
    wrong = by_name(run_checks(RootFS(root), live))["dhcp-confinement"]
    assert not wrong.ok and "XENWIZARD-FORWARD `-o peth0 .*--ip-dport 67 -j DROP`" in wrong.reason
    live.commands.update(ebtables_listings())
    listing = live.commands[("/sbin/ebtables", "-L", "XENWIZARD-OUTPUT")]
    without_ra = listing.stdout.replace("router-advertisement", "echo-request")
    live.commands[("/sbin/ebtables", "-L", "XENWIZARD-OUTPUT")] = CommandOutput(0, without_ra, "")
    leaky = by_name(run_checks(RootFS(root), live))["dhcp-confinement"]
    assert leaky.line() == (
        "FAIL dhcp-confinement: ebtables lacks XENWIZARD-OUTPUT `-o peth0 .*--ip6-icmp-type "
        "router-advertisement -j DROP`: guests may take addresses on the LAN's IPv6 prefix (its "
        "router advertisements or DHCPv6) and route around this host; run "
        "/etc/xenwizard/dhcp-confine.sh again"
    )
    del live.commands[("/sbin/ebtables", "-L", "FORWARD")]
    missing = by_name(run_checks(RootFS(root), live))["dhcp-confinement"]
    assert "`ebtables` is not installed" in missing.reason


def test_no_applied_run(tmp_path: Path) -> None:
    bare = copy_root(PRECISE_ROOT, tmp_path / "root")
    results = by_name(run_checks(RootFS(bare), healthy(bare)))
    assert results["run"].line() == (
        f"FAIL run: no applied run found under {bare}/var/lib/xenwizard; "
        "checks below assume the defaults"
    )
    assert not any(name.startswith("file ") for name in results)


def test_a_rolled_back_run_is_not_the_last_apply(root: Path, capsys) -> None:
    assert main(["rollback", "--root", str(root)]) == 0
    capsys.readouterr()
    results = by_name(run_checks(RootFS(root), healthy(root)))
    assert results["run"].reason.startswith("no applied run found under")


def test_custom_answers_drive_the_live_checks(tmp_path: Path, capsys) -> None:
    target = copy_root(PRECISE_ROOT, tmp_path / "root")
    apply(target, "--bridge", "xenbr7", "--address", "192.168.77.1/25",
          "--dhcp-range", "192.168.77.20-192.168.77.90")  # fmt: skip
    capsys.readouterr()
    cfg = WizardConfig(
        bridge="xenbr7",
        address="192.168.77.1/25",
        dhcp_start="192.168.77.20",
        dhcp_end="192.168.77.90",
    )
    results = by_name(run_checks(RootFS(target), healthy(target, cfg)))
    assert not [r.line() for r in results.values() if r.failed]
    assert {n for n, r in results.items() if not r.ok} == {"dom0-mem", "file etc/default/grub"}
    assert results["alias"].reason == "192.168.77.1/25 on xenbr7:0"
    # the default bridge would not do
    results = by_name(run_checks(RootFS(target), healthy(target)))
    assert results["bridge"].line() == (
        "FAIL bridge: xenbr7 does not exist; the toolstack's network script creates it at boot"
    )


def test_bridge_down_or_not_a_bridge(root: Path) -> None:
    live = healthy(root)
    live.links["br0"] = LinkState("br0", is_bridge=True, up=False, operstate="down")
    assert by_name(run_checks(RootFS(root), live))["bridge"].reason == (
        "br0 is down; bring it up with `ip link set br0 up`"
    )
    live.links["br0"] = LinkState("br0", is_bridge=False, up=True)
    assert by_name(run_checks(RootFS(root), live))["bridge"].reason == (
        "br0 exists but is not a bridge"
    )


def test_alias_problems_are_named(root: Path) -> None:
    live = healthy(root)
    live.addrs["br0:0"] = [IF("10.0.0.1/16")]
    assert by_name(run_checks(RootFS(root), live))["alias"].line() == (
        "FAIL alias: 10.0.0.1/16 on br0:0: prefix /16, expected /24"
    )
    del live.addrs["br0:0"]
    live.addrs["br0"] = [IF("198.51.100.2/24"), IF("10.0.0.1/24")]
    assert by_name(run_checks(RootFS(root), live))["alias"].line() == (
        "FAIL alias: 10.0.0.1/24 is on br0, expected 10.0.0.1/24 labelled br0:0"
    )


def test_only_the_labelled_alias_fails_bridge_address(root: Path) -> None:
    live = healthy(root)
    del live.addrs["br0"]
    result = by_name(run_checks(RootFS(root), live))["bridge-address"]
    assert result.line().startswith(
        "FAIL bridge-address: br0 has no unlabelled IPv4 address; "
        "dnsmasq ignores the labelled br0:0 alias"
    )


def test_dnsmasq_elsewhere_or_not_ours(root: Path) -> None:
    live = healthy(root)
    live.procs = [replace(live.procs[0], same_netns=False)]
    assert by_name(run_checks(RootFS(root), live))["dnsmasq"].reason.startswith(
        "no dnsmasq process runs in this network namespace"
    )
    libvirt = ("/usr/sbin/dnsmasq", "--conf-file=/var/lib/libvirt/dnsmasq/default.conf")
    live.procs = [replace(live.procs[0], same_netns=True, cmdline=libvirt)]
    results = by_name(run_checks(RootFS(root), live))
    assert results["dnsmasq"].ok
    assert results["dnsmasq-config"].reason.startswith(
        "no dnsmasq here reads etc/dnsmasq.d/xenwizard.conf (pid 4242: /usr/sbin/dnsmasq "
        "--conf-file=/var/lib/libvirt/dnsmasq/default.conf)"
    )


def test_dnsmasq_config_that_fights_the_bridge(root: Path) -> None:
    live = healthy(root)
    live.files[str(root / "etc/dnsmasq.conf")] = "except-interface=br0\n"
    assert by_name(run_checks(RootFS(root), live))["dnsmasq-config"].line() == (
        "FAIL dnsmasq-config: pid 4242 has except-interface=br0"
    )
    live.files[str(root / "etc/dnsmasq.conf")] = "interface=eth1\n"
    live.files[str(root / "etc/dnsmasq.d/xenwizard.conf")] = "dhcp-range=1.2.3.4,1.2.3.5\n"
    assert by_name(run_checks(RootFS(root), live))["dnsmasq-config"].line() == (
        "FAIL dnsmasq-config: pid 4242 serves eth1, not br0"
    )


def test_dnsmasq_started_before_the_settings_changed(root: Path) -> None:
    live = healthy(root)
    settings = root / "etc/dnsmasq.d/xenwizard.conf"
    live.procs = [replace(live.procs[0], started=os.stat(settings).st_mtime - 60)]
    assert by_name(run_checks(RootFS(root), live))["dnsmasq-config"].line() == (
        "FAIL dnsmasq-config: pid 4242 started before etc/dnsmasq.d/xenwizard.conf last changed, "
        "so it runs the old settings; restart dnsmasq"
    )


def test_dhcp_port(root: Path) -> None:
    live = healthy(root)
    live.procs = [replace(live.procs[0], udp_ports=frozenset())]
    assert by_name(run_checks(RootFS(root), live))["dnsmasq-dhcp"].line() == (
        "FAIL dnsmasq-dhcp: pid 4242 has no UDP port 67 open: DHCP is off (no dhcp-range loaded?)"
    )
    live.procs = [replace(live.procs[0], udp_ports=None)]
    assert by_name(run_checks(RootFS(root), live))["dnsmasq-dhcp"].reason == (
        "cannot see pid 4242's sockets; run as root"
    )


def test_files_and_links_as_the_run_left_them(root: Path) -> None:
    live = healthy(root)
    rc_local = root / "etc/rc.local"
    lines = rc_local.read_text().split("\n")
    last = max(i for i, line in enumerate(lines) if line == "exit 0")
    lines[last] = "exit 1"
    rc_local.write_text("\n".join(lines))
    (root / "etc/xen/scripts/vif-bridge").unlink()
    (root / "usr/lib/xen-tools/precise.d").unlink()
    results = by_name(run_checks(RootFS(root), live))
    assert results["file etc/rc.local"].reason.startswith("changed since run ")
    assert f"(first difference at line {last + 1}; edited by hand?)" in (
        results["file etc/rc.local"].reason
    )
    assert results["file etc/xen/scripts/vif-bridge"].reason.startswith("missing; run ")
    assert results["link usr/lib/xen-tools/precise.d"].reason.startswith("missing; run ")
    assert results["file etc/network/interfaces"].ok


def test_deferred_edits_compare_with_the_journaled_hash(root: Path) -> None:
    """A step computed after a package install has no text in plan.json: the hash decides."""
    run_dir = next((root / "var/lib/xenwizard/runs").iterdir())
    plan = json.loads((run_dir / "plan.json").read_text())
    for step in plan["steps"]:
        if step["id"] == "vif-bridge-checksum":
            step["after"] = None
    (run_dir / "plan.json").write_text(json.dumps(plan))
    live = healthy(root)
    assert by_name(run_checks(RootFS(root), live))["file etc/xen/scripts/vif-bridge"].ok
    script = root / "etc/xen/scripts/vif-bridge"
    script.write_text(script.read_text() + "# local\n")
    result = by_name(run_checks(RootFS(root), live))["file etc/xen/scripts/vif-bridge"]
    assert not result.ok and "edited by hand?" in result.reason


def test_toolstack_as_it_was(root: Path) -> None:
    default_xen = root / "etc/default/xen"
    original = default_xen.read_text()
    assert by_name(run_checks(RootFS(root), healthy(root)))["toolstack"].ok
    default_xen.write_text(original.replace("TOOLSTACK=", "TOOLSTACK=xl", 1))
    assert by_name(run_checks(RootFS(root), healthy(root)))["toolstack"].line() == (
        "FAIL toolstack: TOOLSTACK='xl': xl creates no bridge and breaks autostart on this "
        "release; set it back to empty (xm)"
    )
    default_xen.write_text(original.replace("TOOLSTACK=", "TOOLSTACK=xm", 1))
    run_id = next((root / "var/lib/xenwizard/runs").iterdir()).name
    assert by_name(run_checks(RootFS(root), healthy(root)))["toolstack"].line() == (
        f"FAIL toolstack: etc/default/xen has TOOLSTACK='xm'; it had TOOLSTACK='' "
        f"when run {run_id} was planned"
    )


# --- dnsmasq's files as its command line selects them -------------------------------------------


def test_sources_of_debians_init_script_command_line(tmp_path: Path) -> None:
    conf_dir = tmp_path / "dnsmasq.d"
    conf_dir.mkdir()
    for name in ("xenwizard.conf", "old.dpkg-old", ".hidden", "backup~", "README"):
        (conf_dir / name).write_text("")
    main_conf = tmp_path / "dnsmasq.conf"
    main_conf.write_text(f"conf-file={tmp_path}/extra.conf\n")
    (tmp_path / "extra.conf").write_text("interface=br0\n")
    cmd = ["dnsmasq", "-C", str(main_conf), "-7", f"{conf_dir},.dpkg-dist,.dpkg-old"]
    sources = dnsmasq_sources(cmd, lambda p: Path(p).read_text() if Path(p).exists() else None)
    assert set(sources.files) == {
        str(main_conf),
        f"{conf_dir}/README",
        f"{conf_dir}/xenwizard.conf",
        f"{tmp_path}/extra.conf",
    }
    assert ("interface", "br0") in sources.options


def test_sources_default_conf_file_and_include_patterns(tmp_path: Path) -> None:
    conf_dir = tmp_path / "d"
    conf_dir.mkdir()
    (conf_dir / "a.conf").write_text("")
    (conf_dir / "b.txt").write_text("")
    texts = {DEFAULT_DNSMASQ_CONF: f"conf-dir={conf_dir},*.conf\n"}
    sources = dnsmasq_sources(["dnsmasq", "--keep-in-foreground"], texts.get)
    assert sources.files == (DEFAULT_DNSMASQ_CONF, f"{conf_dir}/a.conf")
    sources = dnsmasq_sources(["dnsmasq", f"--conf-dir={conf_dir}", "-C/dev/null"], texts.get)
    assert set(sources.files) == {f"{conf_dir}/a.conf", f"{conf_dir}/b.txt"}


# --- the preflight warning ----------------------------------------------------------------------


def facts(**kwargs) -> SystemFacts:
    return SystemFacts(root="/", live=True, **kwargs)


def test_lan_address_warning() -> None:
    cfg = WizardConfig()
    with_address = InterfaceInfo("eth0", addresses=(IF("198.51.100.7/24"),), is_physical=True)
    without = InterfaceInfo("eth0", is_physical=True)
    route = DefaultRoute("198.51.100.1", "eth0")
    assert (
        alias_lan_address_warning(cfg, facts(interfaces=(with_address,), default_route=route))
        is None
    )
    text = alias_lan_address_warning(cfg, facts(interfaces=(without,), default_route=route))
    assert text is not None and text.startswith("eth0 has no IPv4 address")
    assert "dnsmasq ignores the labelled br0:0 alias" in text
    text = alias_lan_address_warning(cfg, facts(interfaces=(without,)))
    assert text is not None and text.startswith("no default route")
    assert alias_lan_address_warning(cfg, replace(facts(interfaces=(without,)), live=False)) is None


# --- the command --------------------------------------------------------------------------------


def test_verify_command_exit_code_and_json(tmp_path: Path) -> None:
    bare = copy_root(PRECISE_ROOT, tmp_path / "root")
    done = run_cli("verify", "--root", str(bare), "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data[0] == {
        "name": "run",
        "status": "FAIL",
        "ok": False,
        "reason": f"no applied run found under {bare}/var/lib/xenwizard; "
        "checks below assume the defaults",
    }
    text = run_cli("verify", "--root", str(bare))
    assert text.returncode == 1
    assert text.stdout.splitlines()[0].startswith("FAIL run: no applied run found under ")
    assert all(line.startswith(("PASS ", "FAIL ", "SKIP ")) for line in text.stdout.splitlines())
    assert f"SKIP bridge: not run: {bare} is not the running system (--root)" in text.stdout
    missing = run_cli("verify", "--root", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("xenwizard: error: root ")
    assert "Traceback" not in missing.stderr


def test_verify_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "import xenwizard.commands.verify, xenwizard.verify.hostcheck\n"
        "assert 'textual' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# --- dom0-mem: Xen booted with the dom0_mem the run's GRUB step set (issue 23) ----------------

# `xm info` (xend, Xen 4.1) and `xl info` list Xen's own command line as xen_commandline
# (xen: tools/python/xen/xend/XendNode.py xeninfo's ITEM_ORDER; tools/xl's info output).
XEN_INFO = "xen_version            : {version}\nxen_commandline        : {line}\n"


@pytest.mark.parametrize(
    ("source", "tool"), [(PRECISE_ROOT, "xm"), (FIXTURES / "debian-12-root", "xl")]
)
def test_dom0_mem_is_read_from_xens_own_command_line(tmp_path: Path, source: Path, tool: str):
    from tests.kits.enginekit import FakeRunner
    from xenwizard.answers.build import build_config
    from xenwizard.engine.executor import Engine

    root = copy_root(source, tmp_path / "root")
    config = build_config({"dom0-mem": "1536M"})
    plan = plan_for(root, config)
    assert Engine(plan, RootFS(root), FakeRunner(root)).apply().outcome == "applied"
    live = healthy(root)

    def answer(line: str) -> None:
        text = XEN_INFO.format(version="4.1.6.1" if tool == "xm" else "4.17.5", line=line)
        live.commands[(tool, "info")] = CommandOutput(0, text, "")

    answer("placeholder dom0_mem=1536M,max:1536M console=vga")
    result = by_name(run_checks(RootFS(root), live))["dom0-mem"]
    assert (
        result.line()
        == f"PASS dom0-mem: Xen's command line has dom0_mem=1536M,max:1536M (`{tool} info`)"
    )
    answer("placeholder console=vga")  # update-grub never ran, or the plain entry booted
    result = by_name(run_checks(RootFS(root), live))["dom0-mem"]
    assert (
        result.failed
        and "Xen booted with no dom0_mem, not dom0_mem=1536M,max:1536M" in result.reason
    )
    answer("dom0_mem=1536M,max:1536M dom0_mem=4096M")  # the last one counts, as in Xen
    assert by_name(run_checks(RootFS(root), live))["dom0-mem"].failed
    del live.commands[(tool, "info")]
    result = by_name(run_checks(RootFS(root), live))["dom0-mem"]
    assert result.failed and f"`{tool} info` is not installed" in result.reason
