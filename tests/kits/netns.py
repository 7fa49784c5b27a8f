"""Reusable pieces for proving the guest network with the real programs in network namespaces.

Everything here happens inside namespaces a `Lab` creates; nothing touches the machine's own
interfaces, and nothing sends traffic outside those namespaces. The pieces compose:

    with Lab() as lab:                                    # temp dir + cleanup of everything below
        host, guest = lab.namespace("host"), lab.namespace("guest")
        add_bridge(host, "br0", address="198.51.100.2/24")   # unlabelled LAN address, like xend
        add_lan(lab, host, "br0")                            # a LAN port: veth to a "lan" netns
        Ifupdown(host, lab.workdir("ifupdown"), ROOT / "etc/network/interfaces").run_line(
            'ifup "br0:0" >/dev/null || true')               # the rc.local line, as written
        dnsmasq = Dnsmasq(host, lab.workdir("dnsmasq"), conf_dirs=[ROOT / "etc/dnsmasq.d"]).start()
        add_veth(host, "vif1.0", guest, "eth0", mac="00:16:3e:00:00:01", master="br0")
        run_vif_line(host, vif_bridge_text, "vif1.0")        # the generated ethtool line
        lease = DhcpClient(guest, "eth0", lab.workdir("dhcp")).request()

`Lab.close()` (or leaving the `with`) kills every process inside its namespaces, deletes the
namespaces (which destroys their interfaces) and removes its temp dir; it runs also when a test
fails. Names are unique per run (`RUN_TAG`: prefix, pid, random), so a crashed run cannot collide
with the next one. `leftovers()` lists anything of this run that is still there.

Safety rules the pieces keep:
- interfaces are created with `ip -n NS`, so they never appear in the root namespace;
- `ifup` runs in a private mount namespace where /etc/network/if-*.d hold only an allow-list of
  hooks (`bridge` for bridge_ports, `ethtool`): others, like `resolved`, talk to services outside
  the namespace; the interfaces file and state dir are the test's (`-i`, `--state-dir`);
- dnsmasq has DNS off (`--port=0`), no resolv.conf or hosts file, pid/lease/log files in the lab;
- dhclient uses its own config, lease and pid files and a script that only records what it got
  and (optionally) sets the address inside the guest namespace; it is time-bounded.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.kits.helpers import PRECISE_ROOT, copy_root, run_cli
from xenwizard.answers.build import build_config
from xenwizard.edits.ebconfine import SCRIPT_PATH as CONFINE_SCRIPT
from xenwizard.edits.guestnet import SYSCTL_PATH as FORWARD_FILE

PREFIX = "xwt"
RUN_TAG = f"{PREFIX}{os.getpid()}{secrets.token_hex(2)}"
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DNSMASQ = shutil.which("dnsmasq", path=SBIN_PATH) or "/usr/sbin/dnsmasq"
DHCLIENT = shutil.which("dhclient", path=SBIN_PATH) or "/sbin/dhclient"
IFUP = shutil.which("ifup", path=SBIN_PATH) or "/sbin/ifup"
IFDOWN = shutil.which("ifdown", path=SBIN_PATH) or "/sbin/ifdown"
ETHTOOL = shutil.which("ethtool", path=SBIN_PATH) or "/usr/sbin/ethtool"
EBTABLES = shutil.which("ebtables", path=SBIN_PATH) or "/usr/sbin/ebtables"
HOOK_DIRS = ("if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d")
DEFAULT_HOOKS = ("bridge", "ethtool")  # bridge-utils (bridge_ports) and ethtool: local only
COMMAND_TIMEOUT = 20

_counter = itertools.count(1)
# What this run created, for `leftovers()`: namespaces, interface names, processes, dirs.
_created_namespaces: set[str] = set()
_created_links: set[str] = set()
_started: dict[int, str] = {}  # pid -> what it was (for the message)
_lab_dirs: set[Path] = set()


class NetnsError(RuntimeError):
    """A harness command failed; the message has the command and its output."""


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": SBIN_PATH, "LC_ALL": "C"}


def sh(argv: Sequence[str], *, check: bool = True, timeout: float = COMMAND_TIMEOUT, **kwargs):
    """Run a command, text output captured; a failure raises with everything it printed."""
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, env=_env(), **kwargs
    )
    if check and proc.returncode != 0:
        raise NetnsError(
            f"{' '.join(map(str, argv))} exited {proc.returncode}\n{proc.stdout}{proc.stderr}"
        )
    return proc


def _root_links() -> set[str]:
    try:
        return set(os.listdir("/sys/class/net"))
    except OSError:
        return set()


_ROOT_LINKS_AT_START = _root_links()


# --- can we? ------------------------------------------------------------------------------------


_availability: list[str | None] = []


def unavailable_reason() -> str | None:
    """Why network-namespace tests cannot run here, or None; asks the kernel once per run."""
    if _availability:
        return _availability[0]
    reason: str | None = None
    if os.geteuid() != 0:
        reason = "network namespaces need root (run the suite as root, as .ci/run does)"
    elif shutil.which("ip", path=SBIN_PATH) is None:
        reason = "iproute2 (`ip`) is not installed"
    else:
        probe = f"{RUN_TAG}-probe"
        proc = sh(["ip", "netns", "add", probe], check=False)
        if proc.returncode != 0:
            reason = f"`ip netns add` is not permitted here: {proc.stderr.strip()}"
        else:
            sh(["ip", "netns", "del", probe], check=False)
    _availability.append(reason)
    return reason


def missing_programs(*paths: str) -> list[str]:
    return [p for p in paths if not os.access(p, os.X_OK)]


def skip_unless_netns(*programs: str) -> None:
    """Skip, with the reason, only when namespaces are not permitted here.

    A missing program is a failure, not a skip: CI must not go green without the proof
    (scripts/dev-setup installs dnsmasq, ifupdown, isc-dhcp-client, ethtool, iproute2).
    """
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    missing = missing_programs(*programs)
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (scripts/dev-setup installs them)")


# --- namespaces and the lab ---------------------------------------------------------------------


class Netns:
    """One network namespace of a lab. Commands run in it with `ip netns exec`."""

    def __init__(self, lab: Lab, role: str, name: str):
        self.lab = lab
        self.role = role
        self.name = name

    def __repr__(self) -> str:
        return f"Netns({self.role}: {self.name})"

    def argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *map(str, argv)]

    def run(self, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        return sh(self.argv(argv), **kwargs)

    def ip(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return sh(["ip", "-n", self.name, *args], **kwargs)

    def popen(self, argv: Sequence[str], what: str, **kwargs) -> subprocess.Popen:
        """Start a long-running process in the namespace; the lab ends it on close."""
        proc = subprocess.Popen(self.argv(argv), env=_env(), **kwargs)
        self.lab._procs.append(proc)
        _started[proc.pid] = f"{what} in {self.name}"
        return proc

    def pids(self) -> list[int]:
        proc = sh(["ip", "netns", "pids", self.name], check=False)
        return [int(p) for p in proc.stdout.split()]

    def links(self) -> list[dict]:
        return json.loads(self.ip("-j", "link", "show").stdout or "[]")

    def link(self, dev: str) -> dict | None:
        proc = self.ip("-j", "link", "show", "dev", dev, check=False)
        if proc.returncode != 0:
            return None
        found = json.loads(proc.stdout or "[]")
        return found[0] if found else None

    def addresses(self, dev: str) -> list[dict]:
        """IPv4 addresses of `dev` as `ip -j` reports them (with `label`, `local`, `prefixlen`)."""
        proc = self.ip("-j", "-4", "addr", "show", "dev", dev)
        data = json.loads(proc.stdout or "[]")
        return [a for entry in data for a in entry.get("addr_info", [])]


class Lab:
    """One test's world: a temp dir, the namespaces and processes it starts; `close()` ends all."""

    def __init__(self, label: str = "lab"):
        self.tag = f"{RUN_TAG}-{next(_counter)}"
        self.label = label
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.tag}-"))
        os.chmod(self.dir, 0o755)
        _lab_dirs.add(self.dir)
        self.namespaces: list[Netns] = []
        self._procs: list[subprocess.Popen] = []
        self.closed = False

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def path(self, *parts: str) -> Path:
        """A directory (created) or file path inside the lab's temp dir."""
        target = self.dir.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def workdir(self, name: str) -> Path:
        target = self.dir / name
        target.mkdir(parents=True, exist_ok=True)
        return target

    def namespace(self, role: str) -> Netns:
        """A fresh namespace named `<tag>-<role>` with loopback up."""
        name = f"{self.tag}-{role}"
        sh(["ip", "netns", "add", name])
        _created_namespaces.add(name)
        ns = Netns(self, role, name)
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        return ns

    def close(self) -> None:
        """Kill what runs in our namespaces, delete them, remove the temp dir; report leftovers."""
        if self.closed:
            return
        self.closed = True
        problems: list[str] = []
        for proc in self._procs:
            _stop(proc)
        for ns in self.namespaces:
            for pid in ns.pids():  # anything else started in there (daemons that forked)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        for ns in self.namespaces:
            while ns.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
            if ns.pids():
                problems.append(f"processes {ns.pids()} still in {ns.name}")
            proc = sh(["ip", "netns", "del", ns.name], check=False)
            if proc.returncode != 0:
                problems.append(f"ip netns del {ns.name}: {proc.stderr.strip()}")
        shutil.rmtree(self.dir, ignore_errors=True)
        problems += leftovers(self.tag)
        if problems:
            raise NetnsError("lab cleanup left things behind: " + "; ".join(problems))


def _stop(proc: subprocess.Popen, timeout: float = 3) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def leftovers(tag: str = RUN_TAG) -> list[str]:
    """Anything of this run (or of one lab, by its tag) that still exists."""
    found: list[str] = []
    names = sh(["ip", "netns", "list"], check=False).stdout.split("\n")
    for line in names:
        name = line.split(" ")[0]
        if name.startswith(tag):
            found.append(f"namespace {name}")
    stray = (_root_links() - _ROOT_LINKS_AT_START) & _created_links
    found += [f"interface {name} in the root namespace" for name in sorted(stray)]
    if tag == RUN_TAG:
        found += [f"process {pid} ({what})" for pid, what in _started.items() if _alive(pid)]
        found += [f"directory {d}" for d in sorted(_lab_dirs) if d.exists()]
    return found


def assert_nothing_left(tag: str = RUN_TAG) -> None:
    """For a module- or session-end check: nothing of this run (or lab tag) remains."""
    remaining = leftovers(tag)
    assert not remaining, f"left behind by the netns tests: {remaining}"


# --- links --------------------------------------------------------------------------------------


def add_bridge(ns: Netns, name: str, *, address: str | None = None, up: bool = True) -> None:
    """A bridge as xend's network-bridge leaves it: up, optionally with an unlabelled address."""
    ns.ip("link", "add", name, "type", "bridge")
    _created_links.add(name)
    if address:
        ns.ip("addr", "add", address, "dev", name)
    if up:
        ns.ip("link", "set", name, "up")


def add_veth(
    ns: Netns,
    name: str,
    peer_ns: Netns,
    peer_name: str,
    *,
    mac: str | None = None,
    master: str | None = None,
) -> None:
    """A veth pair made inside `ns` (never the root ns), its peer moved to `peer_ns`, both up.

    `mac` is the peer's (the guest's) address; `master` plugs the `ns` end into a bridge.
    """
    ns.ip("link", "add", name, "type", "veth", "peer", "name", peer_name, "netns", peer_ns.name)
    _created_links.update((name, peer_name))
    if mac:
        peer_ns.ip("link", "set", peer_name, "address", mac)
    if master:
        ns.ip("link", "set", name, "master", master)
    ns.ip("link", "set", name, "up")
    peer_ns.ip("link", "set", peer_name, "up")


def add_lan(
    lab: Lab, host: Netns, bridge: str, *, port: str = "peth0", address: str | None = None
) -> Netns:
    """The LAN: a "lan" namespace whose veth is the bridge's physical port in `host`."""
    lan = lab.namespace("lan")
    add_veth(host, port, lan, "lan0", master=bridge)
    if address:
        lan.ip("addr", "add", address, "dev", "lan0")
    return lan


def offload(ns: Netns, dev: str) -> dict[str, str]:
    """`ethtool -k DEV` as a dict: {'tx-checksumming': 'off', ...}."""
    out = ns.run(["ethtool", "-k", dev]).stdout
    features: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            features[key.strip()] = value.split()[0]
    return features


# --- the files a plan produced ------------------------------------------------------------------


def vif_ethtool_line(vif_script: str) -> str:
    """The `ethtool -K ... tx off` line of a generated vif-bridge script or vif-post.d hook."""
    for line in vif_script.splitlines():
        if re.match(r"\s*ethtool\s+-K\s", line):
            return line.strip()
    raise AssertionError("no `ethtool -K` line in the vif script")


def run_vif_line(ns: Netns, vif_script: str, dev: str) -> subprocess.CompletedProcess:
    """Run the generated ethtool line with bash as vif-bridge would, with `dev` set."""
    line = vif_ethtool_line(vif_script)
    return ns.run(["bash", "-ec", f"dev={dev}\n{line}"])


def source_vif_hook(
    ns: Netns, hook: Path, *, dev: str, bridge: str, command: str = "online", type_if: str = "vif"
) -> subprocess.CompletedProcess:
    """Source a vif-post.d hook the way Xen's vif-bridge does (for the Debian 12 layout)."""
    script = f'command={command}; dev={dev}; bridge={bridge}; type_if={type_if}\n. "$1"\n'
    return ns.run(["bash", "-ec", script, "vif-bridge", str(hook)])


def rc_local_line(rc_local: str, alias: str) -> str:
    """The generated `ifup "BR:0" ...` line of rc.local, as written."""
    for line in rc_local.splitlines():
        if re.match(r"\s*ifup\s", line) and alias in line:
            return line.strip()
    raise AssertionError(f"no `ifup {alias}` line in rc.local")


# --- ifupdown -----------------------------------------------------------------------------------


class Ifupdown:
    """The real ifup/ifdown in a namespace, reading the test's interfaces file and state dir.

    `run_line` runs a shell line unchanged (the rc.local line): `ifup` there is a wrapper that
    adds `-i FILE --state-dir DIR`. Hooks in /etc/network/if-*.d are limited to `hooks`, by
    bind mounts in a private mount namespace that ends with the command.
    """

    def __init__(
        self, ns: Netns, workdir: Path, interfaces: Path, *, hooks: Iterable[str] = DEFAULT_HOOKS
    ):
        self.ns = ns
        self.dir = workdir
        self.interfaces = Path(interfaces)
        self.state = workdir / "state"
        self.bin = workdir / "bin"
        self.hooks_dir = workdir / "hooks"
        for d in (self.state, self.bin):
            d.mkdir(parents=True, exist_ok=True)
        for name, real in (("ifup", IFUP), ("ifdown", IFDOWN), ("ifquery", IFUP)):
            wrapper = self.bin / name
            cmd = real if name != "ifquery" else str(Path(IFUP).with_name("ifquery"))
            wrapper.write_text(
                f'#!/bin/sh\nexec {cmd} -i "{self.interfaces}" --state-dir "{self.state}" "$@"\n'
            )
            wrapper.chmod(0o755)
        self.binds: list[tuple[Path, str]] = []
        allowed = set(hooks)
        for d in HOOK_DIRS:
            host_dir = Path("/etc/network") / d
            if not host_dir.is_dir():
                continue
            ours = self.hooks_dir / d
            ours.mkdir(parents=True, exist_ok=True)
            for entry in sorted(os.listdir(host_dir)):
                if entry in allowed:  # a copy: a link into /etc/network would loop once bound
                    shutil.copy2(host_dir / entry, ours / entry)
            self.binds.append((ours, str(host_dir)))

    def run_line(self, line: str, *, check: bool = False) -> subprocess.CompletedProcess:
        mounts = "".join(f'mount --bind "{src}" "{dst}"\n' for src, dst in self.binds)
        script = f'{mounts}export PATH="{self.bin}:$PATH"\n{line}\n'
        return self.ns.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-ec", script], check=check
        )

    def ifup(self, iface: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run_line(" ".join(["ifup", "-v", *args, f'"{iface}"']), check=check)

    def ifdown(self, iface: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run_line(" ".join(["ifdown", "-v", *args, f'"{iface}"']), check=check)


# --- dnsmasq ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """One line of dnsmasq's lease file."""

    expiry: int
    mac: str
    ip: str
    hostname: str


class Dnsmasq:
    """The real dnsmasq in a namespace with the operator's files, DNS off, files in `workdir`.

    `conf_file` is what dnsmasq reads first (None: no main file, /dev/null); `conf_dirs` are
    passed as `--conf-dir=DIR[,exclusions]` like Debian's init script does with CONFIG_DIR.
    """

    def __init__(
        self,
        ns: Netns,
        workdir: Path,
        *,
        conf_file: Path | None = None,
        conf_dirs: Sequence[str | Path] = (),
        extra: Sequence[str] = (),
    ):
        self.ns = ns
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.pid_file = workdir / "dnsmasq.pid"
        self.lease_file = workdir / "dnsmasq.leases"
        self.log_file = workdir / "dnsmasq.log"
        self.args = [
            DNSMASQ,
            "--keep-in-foreground",
            f"--conf-file={conf_file or '/dev/null'}",
            *(f"--conf-dir={d}" for d in conf_dirs),
            "--port=0",  # DNS off
            "--no-resolv",
            "--no-hosts",
            f"--pid-file={self.pid_file}",
            f"--dhcp-leasefile={self.lease_file}",
            f"--log-facility={self.log_file}",
            "--log-dhcp",
            "--user=root",  # the lab dir is root's; the real one drops to user dnsmasq
            *extra,
        ]
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self, timeout: float = 5) -> Dnsmasq:
        self.lease_file.touch()
        self.started_at = time.time()
        self.proc = self.ns.popen(
            self.args, "dnsmasq", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                raise NetnsError(f"dnsmasq exited {self.proc.returncode}: {out}{self.log()}")
            if "DHCP, " in self.log():  # "DHCP, IP range ..." once its sockets are open
                return self
            time.sleep(0.05)
        raise NetnsError(f"dnsmasq did not start DHCP within {timeout}s: {self.log()}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            if self.proc.stdout:
                self.proc.stdout.close()

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def leases(self) -> list[Lease]:
        out = []
        for line in self.lease_file.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4:
                out.append(Lease(int(parts[0]), parts[1].lower(), parts[2], parts[3]))
        return out

    def lease_for(self, mac: str) -> Lease | None:
        return next((le for le in self.leases() if le.mac == mac.lower()), None)


# --- a DHCP client ------------------------------------------------------------------------------

_DHCLIENT_SCRIPT = """#!/bin/sh
# Records what dhclient got; sets the address only inside the guest namespace.
env | sort > "{dir}/env.$reason"
if [ "$reason" = BOUND ] && [ "{configure}" = yes ]; then
    ip -4 addr add "$new_ip_address/$new_subnet_mask" dev "$interface" || true
fi
exit 0
"""


@dataclass(frozen=True)
class DhcpResult:
    """What the client was offered and bound: address, lease time and the server."""

    ip: str
    subnet_mask: str
    lease_time: int
    server: str
    env: dict[str, str] = field(repr=False)

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(f"{self.ip}/{self.subnet_mask}")


class DhcpClient:
    """ISC dhclient in a guest namespace: one attempt, bounded by `timeout` seconds."""

    def __init__(self, ns: Netns, iface: str, workdir: Path, *, configure: bool = True):
        self.ns = ns
        self.iface = iface
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.script = workdir / "dhclient-script"
        self.script.write_text(
            _DHCLIENT_SCRIPT.format(dir=workdir, configure="yes" if configure else "no")
        )
        self.script.chmod(0o755)
        self.output = ""
        self.returncode: int | None = None

    def request(self, timeout: int = 8) -> DhcpResult | None:
        """Ask for a lease; the result once bound, None when no offer came within `timeout`."""
        for old in self.dir.glob("env.*"):
            old.unlink()
        conf = self.dir / "dhclient.conf"
        # A plain request; `timeout` bounds the whole attempt, `retry` is never reached (-1).
        conf.write_text(
            f"timeout {timeout};\ninitial-interval 1;\n"
            "request subnet-mask, broadcast-address, routers, dhcp-lease-time;\n"
        )
        argv = [
            DHCLIENT, "-1", "-d", "-v", "-4",
            "-cf", conf,
            "-sf", self.script,
            "-lf", self.dir / "dhclient.leases",
            "-pf", self.dir / "dhclient.pid",
            self.iface,
        ]  # fmt: skip
        proc = self.ns.popen(
            argv, "dhclient", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        bound = self.dir / "env.BOUND"
        deadline = time.monotonic() + timeout + 3
        try:
            while time.monotonic() < deadline and proc.poll() is None and not bound.exists():
                time.sleep(0.05)
        finally:
            _stop(proc)
            self.returncode = proc.returncode
            self.output = proc.stdout.read() if proc.stdout else ""
            if proc.stdout:
                proc.stdout.close()
        if not bound.exists():
            return None
        env = _read_env(bound)
        return DhcpResult(
            ip=env["new_ip_address"],
            subnet_mask=env.get("new_subnet_mask", ""),
            lease_time=int(env.get("new_dhcp_lease_time", "0")),
            server=env.get("new_dhcp_server_identifier", ""),
            env=env,
        )


_DHCLIENT6_SCRIPT = """#!/bin/sh
# Records what dhclient -6 got; never configures anything.
env | sort > "{dir}/env.$reason"
exit 0
"""


class Dhcp6Client:
    """ISC dhclient -6 asking for an address (IA_NA): one attempt, bounded by `timeout`.

    It records what it got and configures nothing. The interface needs a link-local address
    that is no longer tentative (`wait_link_local`), or dhclient cannot bind to port 546."""

    def __init__(self, ns: Netns, iface: str, workdir: Path):
        self.ns = ns
        self.iface = iface
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.script = workdir / "dhclient-script"
        self.script.write_text(_DHCLIENT6_SCRIPT.format(dir=workdir))
        self.script.chmod(0o755)
        self.output = ""

    def request(self, timeout: int = 8) -> str | None:
        """The address (ADDR/LEN) the client bound within `timeout` seconds, or None."""
        for old in self.dir.glob("env.*"):
            old.unlink()
        conf = self.dir / "dhclient6.conf"
        conf.write_text(f"timeout {timeout};\ninitial-interval 1;\n")
        argv = [
            DHCLIENT, "-1", "-d", "-v", "-6",
            "-cf", conf,
            "-sf", self.script,
            "-lf", self.dir / "dhclient6.leases",
            "-pf", self.dir / "dhclient6.pid",
            self.iface,
        ]  # fmt: skip
        proc = self.ns.popen(
            argv, "dhclient -6", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        bound = self.dir / "env.BOUND6"
        deadline = time.monotonic() + timeout + 3
        try:
            while time.monotonic() < deadline and proc.poll() is None and not bound.exists():
                time.sleep(0.05)
        finally:
            _stop(proc)
            self.output = proc.stdout.read() if proc.stdout else ""
            if proc.stdout:
                proc.stdout.close()
        if not bound.exists():
            return None
        env = _read_env(bound)
        return f"{env['new_ip6_address']}/{env.get('new_ip6_prefixlen', '128')}"


def addresses6(ns: Netns, dev: str) -> list[dict]:
    """IPv6 addresses of `dev` as `ip -j` reports them (`local`, `prefixlen`, `scope`, flags)."""
    proc = ns.ip("-j", "-6", "addr", "show", "dev", dev)
    data = json.loads(proc.stdout or "[]")
    return [a for entry in data for a in entry.get("addr_info", [])]


def wait_link_local(ns: Netns, dev: str, timeout: float = 10) -> None:
    """Until `dev` has a link-local address that duplicate address detection has cleared."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in addresses6(ns, dev) if a.get("scope") == "link"]
        if found and not any(a.get("tentative") for a in found):
            return
        time.sleep(0.1)
    raise NetnsError(f"{dev} in {ns.name} has no usable link-local address: {addresses6(ns, dev)}")


def _read_env(path: Path) -> dict[str, str]:
    """`env | sort` output; values may hold '=' but not newlines (dhclient's never do)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key] = value
    return env


def guest(
    lab: Lab, host: Netns, bridge: str, mac: str, *, vif: str = "vif1.0", role: str | None = None
) -> Netns:
    """A guest namespace plugged into `bridge` through a veth whose host end is named like a vif."""
    ns = lab.namespace(role or f"guest{vif.replace('vif', '').replace('.', '-')}")
    add_veth(host, vif, ns, "eth0", mac=mac, master=bridge)
    return ns


# --- the seed's layout, after the reboot --------------------------------------------------------


def operator_dnsmasq(
    host: Netns, root: Path, workdir: Path, *, extra: Sequence[str] = ()
) -> Dnsmasq:
    """dnsmasq reading what the target's own would: ROOT/etc/dnsmasq.conf and CONFIG_DIR.

    Debian and Ubuntu's init script passes CONFIG_DIR from etc/default/dnsmasq as `-7`; the
    directory is mapped into ROOT (its exclusion suffixes are kept).
    """
    default = (
        (root / "etc/default/dnsmasq").read_text()
        if (root / "etc/default/dnsmasq").exists()
        else ""
    )
    match = re.search(r"^CONFIG_DIR=(\S+)", default, re.M)
    spec = match.group(1).strip("'\"") if match else "/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new"
    directory, *suffixes = spec.split(",")
    conf_dir = ",".join([str(root / directory.lstrip("/")), *suffixes])
    conf = root / "etc/dnsmasq.conf"
    return Dnsmasq(
        host, workdir, conf_file=conf if conf.exists() else None, conf_dirs=[conf_dir], extra=extra
    )


@dataclass
class PreciseHost:
    """A host namespace as the seed's recipe leaves it after the reboot, from a written root.

    Boot order as on Ubuntu 12.04: xend's network-bridge makes BR (the NIC as its port, the
    NIC's address unlabelled on BR), dnsmasq starts, and rc.local runs its `ifup "BR:0"` line.
    """

    lab: Lab
    root: Path
    bridge: str
    alias: str
    host: Netns
    lan: Netns
    ifupdown: Ifupdown
    dnsmasq: Dnsmasq
    rc_local: subprocess.CompletedProcess

    def plug_guest(self, mac: str, *, vif: str = "vif1.0", workaround: bool = True) -> Netns:
        """A guest on BR through `vif`; runs the written vif-bridge ethtool line on it."""
        ns = guest(self.lab, self.host, self.bridge, mac, vif=vif)
        if workaround:
            run_vif_line(self.host, (self.root / "etc/xen/scripts/vif-bridge").read_text(), vif)
        return ns

    def dhcp(self, ns: Netns, *, timeout: int = 8) -> DhcpResult | None:
        client = DhcpClient(ns, "eth0", self.lab.workdir(f"dhcp-{ns.role}"))
        return client.request(timeout=timeout)


def boot_precise_host(
    lab: Lab,
    root: Path,
    bridge: str,
    *,
    lan_address: str | None = "198.51.100.2/24",
    dnsmasq_extra: Sequence[str] = (),
) -> PreciseHost:
    host = lab.namespace("host")
    add_bridge(host, bridge, address=lan_address)
    lan = add_lan(lab, host, bridge)
    dnsmasq = operator_dnsmasq(host, root, lab.workdir("dnsmasq"), extra=dnsmasq_extra).start()
    alias = f"{bridge}:0"
    ifupdown = Ifupdown(host, lab.workdir("ifupdown"), root / "etc/network/interfaces")
    line = rc_local_line((root / "etc/rc.local").read_text(), alias)
    rc_local = ifupdown.run_line(line)
    confine = root / CONFINE_SCRIPT
    rc_text = (root / "etc/rc.local").read_text()
    if f"/{CONFINE_SCRIPT}" in rc_text:  # rc.local's next line
        host.run(["sh", str(confine)])
    for nat_line in (s.strip() for s in rc_text.splitlines()):
        if nat_line.startswith("iptables -t nat "):  # nat: the guests' masquerade line
            host.run(["sh", "-e", "-c", nat_line])
    forward = root / FORWARD_FILE
    if forward.exists():  # procps reads /etc/sysctl.d at boot
        host.run(["sysctl", "-p", str(forward)])
    return PreciseHost(lab, root, bridge, alias, host, lan, ifupdown, dnsmasq, rc_local)


def applied_root(source: Path, dest: Path, *answers: str) -> Path:
    """A copy of a fixture root after `xenwizard apply --yes --skip-packages ANSWERS`.

    The real apply writes the files and the journal that `xenwizard verify` compares with.
    """
    copy_root(source, dest)
    proc = run_cli("apply", "--root", str(dest), "--yes", "--skip-packages", *answers)
    if proc.returncode != 0:
        raise NetnsError(f"xenwizard apply failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return dest


def answer_flags(answers: dict[str, object]) -> list[str]:
    flags = []
    for key, value in answers.items():
        if isinstance(value, bool):
            flags.append(f"--{key}" if value else f"--no-{key}")
        else:
            flags.append(f"--{key}={value}")
    return flags


class PreciseBoots:
    """Boots Precise hosts for one test and tears every one down (pass or fail):

        @pytest.fixture
        def boot(request):
            with PreciseBoots(request.node.name) as boots:
                yield boots.boot

    `boot(answers, **kw)` applies the Precise fixture root with `answers` (answers-file keys)
    and returns the booted `PreciseHost` (kw: see `boot_precise_host`).
    """

    def __init__(self, label: str = "precise"):
        skip_unless_netns(DNSMASQ, DHCLIENT, IFUP, ETHTOOL, EBTABLES)
        self.label = label
        self.labs: list[Lab] = []

    def __enter__(self) -> PreciseBoots:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def boot(self, answers: dict[str, object] | None = None, **kwargs) -> PreciseHost:
        answers = answers or {}
        lab = Lab(self.label)
        self.labs.append(lab)
        root = applied_root(PRECISE_ROOT, lab.path("root"), *answer_flags(answers))
        return boot_precise_host(lab, root, build_config(answers).bridge, **kwargs)

    def close(self) -> None:
        errors = []
        for lab in self.labs:
            try:
                lab.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
