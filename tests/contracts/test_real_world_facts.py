"""Constants of the package that name something in the real world, checked against the real
thing on this machine (a library, a program, a package's files, the kernel's /proc and /sys),
or, where this machine has none, against an upstream source cited beside the check.

Never against a copy of the constant: each expected value here comes from outside xenwizard.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import gzip
import ipaddress
import json
import platform
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.helpers import FIXTURES, REFERENCE, run_cli, unpacked_debian_package
from xenwizard.answers import checks as answer_checks
from xenwizard.edits import (
    dnsmasq,
    grubcfg,
    grubenv,
    grubxen,
    guardunits,
    guestnet,
    ifupdown,
    nftunit,
    sxp,
    xlconf,
)
from xenwizard.engine import journalschema, policyrcd
from xenwizard.planning.profiles import bridged, current, ubuntu_precise
from xenwizard.target import (
    beneath,
    boot,
    dpkgstatus,
    lanprobe,
    probe,
    routes,
    shippedfile,
    sysctl,
)
from xenwizard.target.probe import parse_ifupdown_addresses
from xenwizard.verify.hostcheck import canary as hostcanary
from xenwizard.verify.hostcheck import dnsmasq as hostdnsmasq
from xenwizard.verify.hostcheck import dnsmasqconf, initramfs, leases, nftables
from xenwizard.verify.hostcheck import guestaccess as hostguest

# --- UEFI: the SecureBoot variable ------------------------------------------------------------
# Upstream: torvalds/linux include/linux/efi.h, EFI_GLOBAL_VARIABLE_GUID
#   EFI_GUID(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c)
# On this machine: libefivar's exported efi_guid_global, and systemd's own SecureBoot name.

EFIVARS = Path("/sys/firmware/efi/efivars")


def _libefivar_global_guid() -> str | None:
    """efivar's EFI_GLOBAL_GUID, formatted by efivar itself (None: no libefivar here)."""
    name = ctypes.util.find_library("efivar")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    text = ctypes.c_char_p()
    lib.efi_guid_to_str.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p)]
    guid = ctypes.cast(lib.efi_guid_global, ctypes.c_void_p)
    if lib.efi_guid_to_str(guid, ctypes.byref(text)) < 0:
        return None
    return (text.value or b"").decode()


def _systemd_secure_boot_names() -> set[str]:
    """The SecureBoot-GUID names systemd's shared library reads (systemd's efivars code)."""
    found: set[str] = set()
    for path in glob.glob("/usr/lib/*/systemd/libsystemd-shared-*.so") + glob.glob(
        "/lib/systemd/libsystemd-shared-*.so"
    ):
        data = Path(path).read_bytes()
        start = data.find(b"SecureBoot-")
        while start >= 0:
            found.add(data[start : data.index(b"\0", start)].decode())
            start = data.find(b"SecureBoot-", start + 1)
    return found


def test_secure_boot_variable_is_efi_global_variable() -> None:
    name = Path(boot.SECURE_BOOT_VAR).name
    assert Path("/" + boot.SECURE_BOOT_VAR).parent == EFIVARS
    checked = 0
    if EFIVARS.is_dir():  # a UEFI machine: efivarfs itself
        secure_boot = [p.name for p in EFIVARS.iterdir() if p.name.startswith("SecureBoot-")]
        assert secure_boot in ([], [name]), secure_boot  # firmware without Secure Boot has none
        checked += 1
    guid = _libefivar_global_guid()
    if guid is not None:
        assert name == f"SecureBoot-{guid}"
        checked += 1
    systemd_names = _systemd_secure_boot_names()
    if systemd_names:
        assert name in systemd_names, systemd_names
        checked += 1
    if not checked:
        pytest.skip("no efivarfs, libefivar or systemd library here to check against")


# --- Linux: interface names, ARP, openat2 (the kernel's UAPI headers, linux-libc-dev) ---------

UAPI = Path("/usr/include")


def _define(header: Path, name: str) -> int | None:
    """`#define NAME VALUE` of a C header, the value as C reads it (None: no header here)."""
    if not header.is_file():
        return None
    match = re.search(
        rf"^#\s*define\s+{name}\s+(0x[0-9a-fA-F]+|[0-9]+)\b", header.read_text(), re.M
    )
    assert match, f"{header} defines no {name}"
    return int(match[1], 0)


def test_interface_name_length_is_ifnamsiz_less_its_nul() -> None:
    ifnamsiz = _define(UAPI / "linux/if.h", "IFNAMSIZ")
    if ifnamsiz is None:
        pytest.skip("no /usr/include/linux/if.h (linux-libc-dev)")
    assert ifnamsiz - 1 == answer_checks.MAX_IFNAME_LEN
    assert ifnamsiz - 1 - len(":0") == answer_checks.MAX_BRIDGE_LEN


def test_arp_ethertype_and_openat2_numbers_are_the_kernels() -> None:
    found = {
        "ETH_P_ARP": _define(UAPI / "linux/if_ether.h", "ETH_P_ARP"),
        "RESOLVE_NO_MAGICLINKS": _define(UAPI / "linux/openat2.h", "RESOLVE_NO_MAGICLINKS"),
        "RESOLVE_NO_SYMLINKS": _define(UAPI / "linux/openat2.h", "RESOLVE_NO_SYMLINKS"),
        "RESOLVE_BENEATH": _define(UAPI / "linux/openat2.h", "RESOLVE_BENEATH"),
        "RESOLVE_IN_ROOT": _define(UAPI / "linux/openat2.h", "RESOLVE_IN_ROOT"),
    }
    if platform.machine() == "x86_64":
        found["SYS_OPENAT2"] = _define(UAPI / "x86_64-linux-gnu/asm/unistd_64.h", "__NR_openat2")
    if None in found.values():
        pytest.skip("the kernel's UAPI headers are not installed (linux-libc-dev)")
    assert found.pop("ETH_P_ARP") == lanprobe.ETH_P_ARP
    for name, value in found.items():
        assert getattr(beneath, name) == value, name


# --- /proc and sysctl: the forwarding switch --------------------------------------------------


def test_ip_forward_is_a_real_sysctl_under_proc_sys() -> None:
    assert Path("/proc/sys") == sysctl.PROC_SYS
    assert Path(hostguest.PROC_FORWARD) == sysctl.PROC_SYS / guestnet.FORWARD_KEY.replace(".", "/")
    assert Path(hostguest.PROC_FORWARD).is_file()
    listing = subprocess.run(
        [programs.require("sysctl"), "-N", "-a"], capture_output=True, text=True
    )
    names = listing.stdout.split()
    assert guestnet.FORWARD_KEY in names
    assert set(journalschema.SYSCTL_KEYS) <= set(names)


# --- dnsmasq: its defaults and option names, from the real program ---------------------------


@pytest.fixture(scope="module")
def dnsmasq_help() -> str:
    return subprocess.run(
        [programs.require("dnsmasq"), "--help"], capture_output=True, text=True
    ).stdout


def test_dnsmasq_defaults_are_the_programs(dnsmasq_help: str) -> None:
    assert f"(defaults to {dnsmasqconf.DEFAULT_DNSMASQ_CONF})" in dnsmasq_help
    assert f"(defaults to {leases.DEFAULT_LEASES})" in dnsmasq_help


def test_dnsmasq_short_and_long_options_are_the_programs(dnsmasq_help: str) -> None:
    for short, long in dnsmasqconf._SHORT.items():
        assert re.search(rf"^{re.escape(short)}, --{long}=", dnsmasq_help, re.M), (short, long)
    for name in dnsmasqconf._WITH_VALUE:
        assert re.search(rf"--{name}=", dnsmasq_help), name


def test_every_lease_file_spelling_is_one_dnsmasq_accepts(tmp_path: Path) -> None:
    """Found here: "dhcp-lease-file" was read as a lease file option too; dnsmasq refuses it
    ("bad option"), so no running dnsmasq has it and the spelling is gone."""
    dnsmasq_program = programs.require("dnsmasq")
    for option in leases.LEASEFILE_OPTIONS:
        conf = tmp_path / f"{option}.conf"
        conf.write_text(f"{option}={tmp_path}/leases\n")
        done = subprocess.run(
            [dnsmasq_program, "--test", "-C", str(conf)], capture_output=True, text=True
        )
        assert done.returncode == 0, (option, done.stderr)


def test_the_shortest_lease_is_dnsmasqs_two_minutes() -> None:
    page = Path("/usr/share/man/man8/dnsmasq.8.gz")
    if not page.is_file():
        pytest.skip("dnsmasq's manual page is not installed")
    text = " ".join(gzip.decompress(page.read_bytes()).decode().split())
    assert "minimum lease time is two minutes" in text
    assert answer_checks.MIN_LEASE_SECONDS == 2 * 60


# --- ifupdown: the keywords its own reader knows (ifquery, ifupdown 0.8) ----------------------


def _ifquery(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "interfaces"
    path.write_text(text)
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return subprocess.run(
        [programs.require("ifquery"), "-i", str(path), "--state-dir", str(state), *args],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_every_stanza_keyword_is_one_ifupdown_reads(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/a").write_text("auto lo\niface lo inet loopback\n")
    lines = {
        "iface": "iface eth9 inet manual",
        "mapping": "mapping eth9\n    script /bin/true",
        "auto": "auto eth9\niface eth9 inet manual",
        "source": f"source {tmp_path}/d/a",
        "source-directory": f"source-directory {tmp_path}/d",
        "source-dir": f"source-dir {tmp_path}/d",
        "rename": "rename eth8=eth9",
        "no-auto-down": "no-auto-down eth9\niface eth9 inet manual",
        "no-scripts": "no-scripts eth9\niface eth9 inet manual",
        "allow-hotplug": "allow-hotplug eth9\niface eth9 inet manual",
    }
    assert set(lines) == set(ifupdown.STARTERS) | {"allow-hotplug"}
    for keyword, line in lines.items():
        done = _ifquery(tmp_path, line + "\n", "--list", "-a")
        assert done.returncode == 0, (keyword, done.stderr)
    assert set(ifupdown.SOURCE_KEYWORDS) <= set(lines)
    done = _ifquery(tmp_path, "template eth9\n", "--list", "-a")
    assert "misplaced option" in done.stderr  # no such stanza in ifupdown (see the next test)


def test_an_option_named_template_stays_in_its_stanza_as_ifupdown_reads_it(tmp_path: Path) -> None:
    """Found by the check above: xenwizard took `template` for a stanza keyword, so the address
    after such an option line was lost to the clash checks."""
    text = "auto eth9\niface eth9 inet static\n    template foo\n    address 10.9.9.1/24\n"
    shown = _ifquery(tmp_path, text, "eth9").stdout
    assert "template: foo" in shown and "address: 10.9.9.1" in shown
    assert parse_ifupdown_addresses(text) == (("eth9", ipaddress.IPv4Interface("10.9.9.1/24")),)


def test_the_up_options_are_ifupdowns(tmp_path: Path) -> None:
    """ifupdown reads each as a command to run as the interface comes up (post-up is its
    other name for up)."""
    body = "".join(f"    {name} /bin/true {name}\n" for name in routes.UP_OPTIONS)
    shown = _ifquery(tmp_path, f"iface eth9 inet manual\n{body}", "eth9").stdout
    for name in routes.UP_OPTIONS:
        assert re.search(rf"^(pre-)?up: /bin/true {name}$", shown, re.M), (name, shown)


# --- dpkg, apt, invoke-rc.d -------------------------------------------------------------------


def test_dpkg_status_file_and_states_are_dpkgs() -> None:
    assert Path("/" + dpkgstatus.STATUS_FILE).is_file()
    page = Path("/usr/share/man/man1/dpkg.1.gz")
    if not page.is_file():
        pytest.skip("dpkg's manual page is not installed")
    text = gzip.decompress(page.read_bytes()).decode()
    states = set(re.findall(r'^\.IP "\\fB([a-z-]+)\\fR"', text, re.M))
    assert states >= dpkgstatus.PRESENT_STATES, dpkgstatus.PRESENT_STATES - states
    assert {"not-installed", "config-files"} & dpkgstatus.PRESENT_STATES == set()


def test_apt_cache_directory_is_apts() -> None:
    if shutil.which("apt-config") is None:
        pytest.skip("apt not installed")
    done = subprocess.run(["apt-config", "dump"], capture_output=True, text=True, check=True)
    conf = dict(re.findall(r'^(Dir::Cache(?:::archives)?) "([^"]*)";', done.stdout, re.M))
    assert (
        f"{conf['Dir::Cache'].strip('/')}/{conf['Dir::Cache::archives'].strip('/')}"
    ) == shippedfile.APT_CACHE


def test_policy_rc_d_is_where_invoke_rc_d_asks_and_101_means_deny() -> None:
    doc = Path("/usr/share/doc/init-system-helpers/README.policy-rc.d.gz")
    if not doc.is_file():
        pytest.skip("init-system-helpers' README.policy-rc.d is not installed")
    text = " ".join(gzip.decompress(doc.read_bytes()).decode().split())
    assert f"/{policyrcd.POLICY_RC_D}" in text
    assert "exit status of 101" in text and policyrcd.POLICY_RC_D_TEXT.endswith(b"exit 101\n")


def test_dhcp_ports_are_bootps_and_bootpc() -> None:
    try:
        ports = (socket.getservbyname("bootps", "udp"), socket.getservbyname("bootpc", "udp"))
    except OSError:
        pytest.skip("no /etc/services entries for bootps/bootpc")
    assert ports == nftables.DHCP_PORTS and ports[0] == hostdnsmasq.DHCP_PORT


@pytest.mark.parametrize(
    ("package", "path"),
    [
        (initramfs.BUSYBOX_PACKAGE, f"/{initramfs.BUSYBOX}"),
        ("nftables", nftunit.NFT),
    ],
)
def test_packages_ship_the_files_named(package: str, path: str) -> None:
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"{package} is not installed here")
    assert path in done.stdout.split("\n")


# --- GRUB: the real grub-mkconfig and 20_linux_xen (grub-common) -----------------------------


def test_grub_reads_the_drop_in_dir_and_names_xens_entry() -> None:
    mkconfig, xen = Path("/usr/sbin/grub-mkconfig"), Path("/etc/grub.d/20_linux_xen")
    if not (mkconfig.is_file() and xen.is_file()):
        pytest.skip("grub-common is not installed")
    assert f"{Path(grubxen.DROPIN).parent.relative_to('etc')}/*.cfg" in mkconfig.read_text()
    script = xen.read_text()
    assert f'"%s{grubcfg.XEN_SUFFIX}"' in script.replace("'", '"')
    assert "${GRUB_CMDLINE_XEN} ${GRUB_CMDLINE_XEN_DEFAULT}" in script


def test_grubenv_block_is_grub_editenvs(tmp_path: Path) -> None:
    env = tmp_path / "grubenv"
    subprocess.run([programs.require("grub-editenv"), str(env), "create"], check=True)
    data = env.read_bytes()
    assert len(data) == grubenv.SIZE and data.startswith(grubenv.HEADER)
    assert Path(grubenv.PATH).parent == Path(boot.GRUB_DIR)


# --- systemd: the boot guard's units, as the real systemd-analyze reads them ------------------


def test_systemd_accepts_the_boot_guards_units(tmp_path: Path) -> None:
    """WantedBy=timers.target, OnBootSec=, Type=exec: keys systemd 252 knows (the confine
    unit is checked in test_edit_nftconfine.py)."""
    analyze = programs.require("systemd-analyze")
    command = shutil.which("true") or "/bin/true"  # an existing ExecStart= program
    service = tmp_path / f"{guardunits.NAME}.service"
    timer = tmp_path / f"{guardunits.NAME}.timer"
    service.write_text(guardunits.render_service(command))
    timer.write_text(guardunits.render_timer(10))
    done = subprocess.run(
        [analyze, "verify", str(service), str(timer)], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in done.stderr.splitlines() if guardunits.NAME in line]
    assert done.returncode == 0 and not ours, done.stderr
    assert Path(guardunits.TIMER_LINK).parent.name == "timers.target.wants"
    assert "WantedBy=timers.target" in timer.read_text()


# --- Xen's own files: the real upstream files in ../shared/reference/ (when present) ----------


def _reference(name: str) -> str:
    path = REFERENCE / name  # the project's shared reference files, beside the checkout
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    return path.read_text()


def test_xl_conf_keys_are_xls() -> None:
    """Debian 12's /etc/xen/xl.conf (xen-utils-common) names each key xenwizard sets."""
    text = _reference("debian-12/xl.conf")
    for key in (xlconf.BRIDGE_KEY, xlconf.SCRIPT_KEY, xlconf.AUTOBALLOON_KEY):
        assert re.search(rf"^#?{re.escape(key)}=", text, re.M), key


def test_xend_config_keys_are_xends() -> None:
    """Xen 4.1's xend-config.sxp has each setting xenwizard manages, active or commented."""
    text = _reference("xen-4.1/xend-config.sxp")
    for key in (*sxp.KINDS, *sxp.MEMORY_KINDS):
        assert re.search(rf"^#?\s*\({re.escape(key)}\s", text, re.M), key


def test_dnsmasq_reads_its_drop_in_dir_through_debians_config_dir() -> None:
    text = _reference("debian-12/default-dnsmasq")
    assert re.search(rf"^CONFIG_DIR={re.escape(dnsmasq.DROPIN_DIR)},", text, re.M)


def test_xen_tools_hooks_live_where_the_current_profiles_look() -> None:
    """Debian 12's xen-tools 4.9 listing is of /usr/share/xen-tools (4.4 moved it from
    /usr/lib/xen-tools, where Precise's 4.2 keeps it)."""
    text = _reference("debian-12/xen-tools-hooks-listing.txt")
    assert f"== {current.HOOK_BASE}/bookworm.d/" in text
    assert current.HOOK_BASE in probe.XEN_TOOLS_HOOK_BASES
    assert ubuntu_precise.HOOK_BASE in probe.XEN_TOOLS_HOOK_BASES


def test_xl_conf_comes_with_xen_utils_common() -> None:
    """The reference's record of where its xl.conf came from: Debian 12's xen-utils-common."""
    text = _reference("README.md")
    assert f"{current.XL_CONF_PACKAGE} 4.17 `/{current.XL_CONF}`" in text


# --- Debian's packages: the names the current profiles install, the files they look for -----
# Against the real Debian 12 archive this machine's apt reads (apt-cache) and the real packages'
# file lists (apt-get download, dpkg-deb -x).


def _apt_cache_show(name: str) -> str:
    done = subprocess.run(
        [programs.require("apt-cache"), "show", "--no-all-versions", name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout if done.returncode == 0 else ""


def test_every_package_the_debian_12_plan_installs_is_in_debian_12() -> None:
    """The package step of the Debian 12 fixture's plan, name by name, in the real archive (an
    `apt-get install` of a misspelt name fails only on the operator's host, after the preview);
    the Xen metapackage pulls the hypervisor and xl's tools."""
    plan = json.loads(run_cli("plan", "--root", str(FIXTURES / "debian-12-root"), "--json").stdout)
    wanted = [
        name for step in plan["steps"] if step["kind"] == "packages" for name in step["packages"]
    ]
    assert current.XEN_METAPACKAGE in wanted, wanted
    if not _apt_cache_show("dnsmasq"):
        pytest.skip("this machine's apt has no Debian lists (apt-get update)")
    missing = [name for name in wanted if not _apt_cache_show(name)]
    assert missing == [], f"not in this machine's Debian archive: {missing}"
    depends = re.search(r"^Depends: (.*)$", _apt_cache_show(current.XEN_METAPACKAGE), re.M)
    assert depends and "xen-hypervisor-" in depends.group(1) and "xen-utils-" in depends.group(1)


@pytest.mark.parametrize(
    ("package", "paths"),
    [
        ("grub2-common", boot.UPDATE_GRUB),  # update-grub, which the boot steps run
        ("systemd", boot.SYSTEMD),  # bookworm ships /lib/systemd/systemd; trixie /usr/lib/...
        ("xen-utils-common", hostcanary.XL_PATHS),  # Debian's /usr/sbin/xl (its wrapper)
    ],
)
def test_the_real_packages_ship_one_of_the_paths_looked_for(
    package: str, paths: tuple[str, ...], tmp_path: Path
) -> None:
    unpacked = unpacked_debian_package(package, tmp_path)
    assert any((unpacked / path).is_file() for path in paths), (package, paths)


def test_cloud_inits_config_file_and_drop_in_dir_are_cloud_inits(tmp_path: Path) -> None:
    unpacked = unpacked_debian_package("cloud-init", tmp_path)
    assert (unpacked / bridged.CLOUD_CFG[0]).is_file()
    assert (unpacked / bridged.CLOUD_CFG[1]).is_dir()


def test_the_seeds_packages_are_the_precise_profiles() -> None:
    """The procedure's own `apt-get install` line (../shared/seed) names the packages of
    Ubuntu 12.04 the precise profile installs; ebtables joins them for the DHCP confinement
    (an Ubuntu 12.04 package, ebtables 2.0.10.4: not checkable on this Debian machine)."""
    seed = next(REFERENCE.parent.joinpath("seed").glob("*.txt"), None)
    if seed is None:
        pytest.skip("the seed is not beside the checkout")
    line = re.search(r"apt-get install (.*)", seed.read_text())
    assert line, seed
    assert set(line.group(1).split()) == set(ubuntu_precise.PACKAGES) - {"ebtables"}
    assert ubuntu_precise.XEN_PACKAGES[0] in line.group(1).split()
