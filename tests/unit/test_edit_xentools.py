"""xen-tools: xenwizard's block in xen-tools.conf and its role script (issue 23).

Truth from outside: the real Debian 12 xen-tools package (fetched with apt-get, as
test_edit_vifbridge fetches xen-utils-common) gives the shipped xen-tools.conf, the Perl code
that reads it, xen-create-image and its template, and the networking hooks whose `eth0` the role
script fixes; ifupdown's `ifup --no-act`/`ifquery` and `netplan generate` judge the result.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import FAKE_PACKAGES, FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, copy_root, plan_for, run_cli, unpacked_debian_package
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, xentoolsconf, xentoolsrole
from xenwizard.edits.text import BEGIN_MARK, END_MARK
from xenwizard.engine.executor import Engine
from xenwizard.planning.plan import EditFile
from xenwizard.planning.profiles.xentools import CURRENT_GUEST_MEMORY
from xenwizard.target.rootfs import RootFS

ROOTS = {
    name: FIXTURES / f"{name}-root"
    for name in ("debian-12", "debian-13", "ubuntu-22.04", "ubuntu-24.04", "precise")
}
ROLE = xentoolsrole.ROLE_NAME
SHAPED = (FIXTURES / "ubuntu-22.04-root" / xentoolsconf.CONF_PATH).read_text()


def edit(
    text: str | None,
    bridge: str = "br0",
    dist: str = "bookworm",
    role: str | None = ROLE,
    memory: str | None = CURRENT_GUEST_MEMORY,
):
    return xentoolsconf.set_defaults(text, bridge=bridge, dist=dist, role=role, memory=memory)


def block(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(BEGIN_MARK) + 1 : lines.index(END_MARK)]


# --- the edit, on files shaped like the shipped one ---------------------------------------------


def test_block_at_the_end_and_the_shipped_dist_command_commented_out() -> None:
    result = edit(SHAPED)
    assert block(result.text) == [
        "# xen-create-image's defaults: guests join the bridge and lease from its dnsmasq",
        "bridge = br0",
        "dhcp = 1",
        "dist = bookworm",
        "dir = /srv/xen",
        "memory = 512M",
        f"role = {ROLE}",
    ]
    assert result.text.rstrip("\n").endswith(END_MARK)  # last: xen-tools keeps a key's last value
    assert "# dist   = `xt-guess-suite-and-mirror --suite`" in result.text
    assert xentoolsconf.active_settings(result.text) == {
        **xentoolsconf.active_settings(SHAPED),
        "bridge": "br0",
        "dhcp": "1",
        "dist": "bookworm",
        "dir": "/srv/xen",
        "memory": "512M",
        "role": ROLE,
    }
    assert any(
        "`dist   = `xt-guess-suite-and-mirror --suite`` commented out" in n for n in result.notes
    )
    assert any(
        n.startswith("memory = 512M: a guest of this release deadlocks") for n in result.notes
    )
    # nothing else changed: every other line is byte-identical
    removed = [line for line in SHAPED.splitlines() if line not in result.text.splitlines()]
    assert removed == [
        "memory = 256M     # Suffix (G, M, k) required",
        "dist   = `xt-guess-suite-and-mirror --suite`",
    ]


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        ("memory = 1G\n", "1G"),
        ("memory = 512Mb\n", "512Mb"),
        ("memory = lots\n", "lots"),  # not a size xt-create-xen-config reads: the operator's
        ("memory = 1G\nmemory = 2048M\n", "2048M"),
    ],
)
def test_an_operators_memory_of_at_least_512M_is_kept(lines: str, kept: str) -> None:
    result = edit(SHAPED + lines)
    assert not [line for line in block(result.text) if line.startswith("memory")]
    assert xentoolsconf.active_settings(result.text)["memory"] == kept
    assert f"memory kept: the file already gives guests `memory = {kept}`" in result.notes
    assert edit(result.text).text == result.text


def test_a_smaller_last_memory_line_wins_in_xen_tools_so_every_one_goes() -> None:
    result = edit(SHAPED + "memory = 1G\nmemory = 128M\n")
    assert "\n# memory = 1G\n# memory = 128M\n" in result.text
    assert "memory = 512M" in block(result.text)
    assert xentoolsconf.active_settings(result.text)["memory"] == "512M"


def test_idempotent_and_a_new_bridge_updates_the_block_in_place() -> None:
    once = edit(SHAPED).text
    again = edit(once)
    assert again.text == once and again.notes[0].startswith("already set")
    renamed = edit(once, bridge="xenbr7")
    assert renamed.text == once.replace("bridge = br0", "bridge = xenbr7")
    assert renamed.text.count(BEGIN_MARK) == 1
    assert any("updated xenwizard's block" in n for n in renamed.notes)


def test_the_operators_storage_is_kept_and_no_dir_is_added() -> None:
    text = SHAPED.replace("# lvm = vg0", "lvm = vg0")
    result = edit(text)
    assert "dir = /srv/xen" not in result.text and "\nlvm = vg0\n" in result.text
    assert "storage kept: the file already says `lvm = vg0`" in result.notes
    assert edit(result.text).text == result.text
    # the operator removes their storage later: the block brings dir back
    assert "dir = /srv/xen" in edit(result.text.replace("\nlvm = vg0\n", "\n")).text


def test_competing_lines_are_commented_out_and_the_operators_roles_kept() -> None:
    text = SHAPED + "bridge = xendmz\ndhcp = 0   # static guests\nrole = udev, tmpfs\n"
    result = edit(text)
    for line in ("bridge = xendmz", "dhcp = 0   # static guests", "role = udev, tmpfs"):
        assert f"\n# {line}\n" in result.text
    assert f"role = udev,tmpfs,{ROLE}" in block(result.text)
    assert f"roles kept: udev, tmpfs run before {ROLE}" in result.notes
    # the roles live on in the block: a second run keeps them and changes nothing
    assert edit(result.text).text == result.text


def test_precise_gets_no_role_line_and_an_operators_role_stays_active() -> None:
    text = SHAPED + "role = udev\n"
    result = edit(text, dist="precise", role=None, memory=None)
    assert "dist = precise" in block(result.text)
    assert not [line for line in block(result.text) if line.startswith(("role", "memory"))]
    assert "\nmemory = 256M " in result.text  # Ubuntu 12.04's guests boot in xen-tools' 256M
    assert "\nrole = udev\n" in result.text


def test_crlf_and_missing_final_newline() -> None:
    lf = edit(SHAPED).text
    assert edit(SHAPED.replace("\n", "\r\n")).text == lf.replace("\n", "\r\n")
    assert edit(SHAPED.rstrip("\n")).text == lf.rstrip("\n")


def test_missing_file_is_created_with_the_block() -> None:
    result = edit(None)
    assert result.notes == ("created: xen-tools.conf was missing",)
    assert block(result.text)[1:4] == ["bridge = br0", "dhcp = 1", "dist = bookworm"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SHAPED + BEGIN_MARK + "\nbridge = br0\n", "has no '# END xenwizard'"),
        (SHAPED + END_MARK + "\n", "without a '# BEGIN xenwizard'"),
        (SHAPED + f"{BEGIN_MARK}\n{END_MARK}\n{BEGIN_MARK}\n{END_MARK}\n", "several xenwizard"),
    ],
)
def test_broken_markers_are_errors(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        edit(text)


def test_role_script_refuses_a_foreign_file_and_is_idempotent(shell_ok) -> None:
    with pytest.raises(EditError, match="not written by xenwizard"):
        xentoolsrole.set_role("#!/bin/sh\necho mine\n")
    first = xentoolsrole.set_role(None)
    assert first.text.startswith("#!/bin/sh\n" + xentoolsrole.MARKER)
    assert xentoolsrole.set_role(first.text).notes == ("already as wanted",)
    shell_ok(first.text)
    programs.require("dash")
    checked = subprocess.run(["dash", "-n"], input=first.text, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def test_netplan_glob_picks_both_names_and_no_other_vif() -> None:
    glob = xentoolsrole.NETPLAN_GLOB
    assert fnmatch.fnmatchcase("eth0", glob) and fnmatch.fnmatchcase("enX0", glob)
    assert not any(fnmatch.fnmatchcase(name, glob) for name in ("eth1", "enX1", "lo", "br0"))


# --- the plan on every fixture root, apply and rollback -------------------------------------


@pytest.mark.parametrize("name", list(ROOTS))
def test_the_plan_shows_the_xen_tools_steps(name: str) -> None:
    plan = plan_for(ROOTS[name])
    steps = {s.id: s for s in plan.steps}
    if name == "debian-13":
        assert "xen-tools-conf" not in steps and "xen-tools-role" not in steps
        (note,) = [n for n in steps["packages"].notes if "Debian 13 has no xen-tools" in n]
        assert "`xl create FILE`" in note and "vif.default.bridge" in note
        return
    conf = steps["xen-tools-conf"]
    assert isinstance(conf, EditFile) and conf.path == xentoolsconf.CONF_PATH
    assert any("--nodhcp --ip=ADDRESS" in n for n in conf.notes)
    if name == "precise":
        assert "xen-tools-role" not in steps  # precise guests keep eth0 (no predictable names)
    else:
        role = steps["xen-tools-role"]
        assert isinstance(role, EditFile)
        assert (role.path, role.mode, role.after) == (
            xentoolsrole.ROLE_PATH,
            0o755,
            xentoolsrole.render(),
        )
    if conf.deferred:  # xen-tools is installed by this plan: computed on the package's file
        assert "xen-tools" in conf.installing
        return
    codename = {"ubuntu-22.04": "jammy", "precise": "precise"}[name]
    assert f"dist = {codename}" in block(conf.after or "")
    assert ("role = xenwizard-net" in block(conf.after or "")) is (name != "precise")


def test_the_cli_plan_prints_the_block_for_precise() -> None:
    done = run_cli("plan", "--root", str(ROOTS["precise"]), "--bridge", "xenbr1")
    assert done.returncode == 0, done.stderr
    assert "xen-tools: guests join xenbr1 by DHCP and install precise" in done.stdout
    assert "+bridge = xenbr1\n+dhcp = 1\n+dist = precise\n+dir = /srv/xen\n" in done.stdout


@pytest.mark.parametrize("name", ["ubuntu-22.04", "precise"])
def test_apply_writes_the_block_and_the_role_and_rollback_restores_the_bytes(
    name: str, tmp_path: Path
) -> None:
    root = copy_root(ROOTS[name], tmp_path / "root")
    if name == "precise":  # its plan installs dnsmasq, whose files the fixture already has
        (root / "usr/lib/xen-tools/precise.d").symlink_to("karmic.d")
    before = manifest(root)
    done = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert done.returncode == 0, done.stdout + done.stderr
    conf = (root / xentoolsconf.CONF_PATH).read_text()
    assert conf.count(BEGIN_MARK) == 1 and "bridge = br0" in block(conf)
    role = root / xentoolsrole.ROLE_PATH
    if name == "precise":
        assert not role.exists()
    else:
        assert role.read_text() == xentoolsrole.render()
        assert os.stat(role).st_mode & 0o777 == 0o755  # xen-create-image runs it only if -x
    again = run_cli("plan", "--root", str(root), "--json")
    assert again.returncode == 0, again.stderr
    changed = {s["id"] for s in json.loads(again.stdout)["steps"] if s["changed"]}
    assert not changed & {"xen-tools-conf", "xen-tools-role"}
    back = run_cli("rollback", "--root", str(root))
    assert back.returncode == 0, back.stdout + back.stderr
    assert diff_manifests(before, manifest(root)) == []


# --- the real Debian 12 xen-tools package ---------------------------------------------------


@pytest.fixture(scope="module")
def xen_tools(tmp_path_factory) -> Path:
    """The real Debian 12 xen-tools package, unpacked (fetched with apt-get)."""
    unpacked = unpacked_debian_package("xen-tools", tmp_path_factory.mktemp("xen-tools"))
    if not (unpacked / xentoolsconf.CONF_PATH).is_file():
        pytest.skip("the xen-tools package has no /etc/xen-tools/xen-tools.conf")
    return unpacked


def real_parse(pkg: Path, conf: Path) -> dict[str, str]:
    """What xen-tools itself reads from `conf`: the package's own readConfigurationFile (Perl,
    from Xen/Tools/Common.pm, run alone: the module's other imports are not needed for it)."""
    programs.require("perl")
    common = (pkg / "usr/share/perl5/Xen/Tools/Common.pm").read_text()
    match = re.search(r"^sub readConfigurationFile\b.*?^\}", common, re.S | re.M)
    assert match, "Common.pm has no readConfigurationFile"
    script = (
        "sub fail_with_config { die $_[0] }\n" + match.group() + "\n"
        'my %c; readConfigurationFile($ARGV[0], \\%c); print "$_\\t$c{$_}\\n" for sort keys %c;\n'
    )
    done = subprocess.run(
        ["perl", "-e", script, str(conf)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split("\t", 1) for line in done.stdout.splitlines())


def test_real_conf_keeps_its_lines_and_xen_tools_reads_the_block(xen_tools, tmp_path) -> None:
    shipped = (xen_tools / xentoolsconf.CONF_PATH).read_text()
    result = edit(shipped, bridge="xenbr1", dist="bookworm")
    assert edit(result.text, bridge="xenbr1", dist="bookworm").text == result.text
    out = tmp_path / "xen-tools.conf"
    out.write_text(result.text)
    read = real_parse(xen_tools, out)
    assert {k: read.get(k) for k in xentoolsconf.KEYS} == {
        "bridge": "xenbr1",
        "dhcp": "1",
        "dist": "bookworm",
        "dir": "/srv/xen",
        "memory": "512M",
        "role": ROLE,
    }
    # every other setting reads as the shipped file has it
    before = tmp_path / "shipped.conf"
    before.write_text(shipped)
    shipped_read = real_parse(xen_tools, before)
    assert {k: v for k, v in read.items() if k not in xentoolsconf.KEYS} == {
        k: v for k, v in shipped_read.items() if k not in xentoolsconf.KEYS
    }
    # and the edit's own reader agrees with xen-tools' on the result
    assert xentoolsconf.active_settings(result.text).keys() == read.keys()


def test_memory_sizes_read_as_xt_create_xen_config_reads_them(xen_tools) -> None:
    """size_mib against the package's own conversion of `memory` for the guest's xl config
    (xt-create-xen-config: G to M, a trailing M dropped), run by Perl on the same values."""
    programs.require("perl")
    maker = (xen_tools / "usr/bin/xt-create-xen-config").read_text()
    start = maker.index("#  The memory size:  Convert Gb -> Mb.")
    end = maker.index("#  The maxmem size:")
    values = ["256M", "512Mb", "1G", "2gb", "512", "lots", "1.5G", "65536k"]
    script = (
        "for my $v (@ARGV) { $ENV{'memory'} = $v;\n"
        + maker[start:end]
        + '\nprint "$v\t$ENV{memory}\n"; }\n'
    )
    done = subprocess.run(
        ["perl", "-e", script, *values], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    real = dict(line.split("\t") for line in done.stdout.splitlines())
    for value in values:
        mib = xentoolsconf.size_mib(value)
        if mib is None:  # not read as a size: reaches the xl config as written, or not as MiB
            assert not real[value].isdigit() or real[value] == value, (value, real[value])
        else:
            assert real[value] == str(mib), (value, real[value], mib)
    assert xentoolsconf.size_mib(CURRENT_GUEST_MEMORY) == 512


def test_every_key_written_is_documented_and_read_by_xen_create_image(xen_tools) -> None:
    shipped = (xen_tools / xentoolsconf.CONF_PATH).read_text()
    create = (xen_tools / "usr/bin/xen-create-image").read_text()
    template = (xen_tools / "etc/xen-tools/xm.tmpl").read_text()
    config_maker = (xen_tools / "usr/bin/xt-create-xen-config").read_text()
    for key in ("bridge", "dhcp", "dir", "lvm", "zpool"):  # documented in the shipped file
        assert re.search(rf"^#? ?{key}\s*=", shipped, re.M), key
    assert re.search(r"^dist\s*=", shipped, re.M)  # active in the shipped file
    assert "--role=role" in create  # role: documented in xen-create-image's manual
    for key in (*xentoolsconf.KEYS, *xentoolsconf.STORAGE_KEYS):
        if key != "bridge":  # bridge reaches the template through the environment (below)
            assert re.search(rf"\$CONFIG\{{ *'{re.escape(key)}' *\}}", create), key
    assert '"bridge=s",     \\&checkOption' in create  # a known option, --bridge
    # every setting is exported to the environment, and xt-create-xen-config fills the
    # template from it: the template turns bridge and dhcp into the guest's vif line
    assert "$ENV{ $envkey } = $CONFIG{ $key };" in create
    assert "$vars{ $key } = $ENV{ $key };" in config_maker
    assert "bridge=$bridge" in template and "if ( $dhcp )" in template
    # the storage dir needs no step: xen-create-image makes DIR/domains/HOSTNAME itself
    assert re.search(r"\$CONFIG\{ 'dir' \} \. \"/domains/\"", create)
    assert "mkpath( $output" in create
    # a role is run from roledir, by name, only when executable
    assert "$CONFIG{ 'roledir' }       = '/etc/xen-tools/role.d'" in create
    assert "-x $file" in create
    assert f"/{xentoolsrole.ROLE_DIR}" == "/etc/xen-tools/role.d"


def run_hook(pkg: Path, hook: str, guest: Path, tmp: Path, **env: str) -> None:
    """One of the package's own hooks on `guest`, with its common.sh (the hook falls back to
    ./hooks/common.sh when /usr/share/xen-tools/common.sh is not installed)."""
    (tmp / "hooks").mkdir(exist_ok=True)
    (tmp / "hooks/common.sh").write_bytes((pkg / "usr/share/xen-tools/common.sh").read_bytes())
    guest.mkdir()
    done = subprocess.run(
        ["sh", str(pkg / "usr/share/xen-tools" / hook), str(guest)],
        cwd=tmp,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def run_role(guest: Path, tmp: Path) -> str:
    script = tmp / ROLE
    script.write_text(xentoolsrole.render())
    script.chmod(0o755)
    done = subprocess.run([str(script), str(guest)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def ifupdown(args: list[str], interfaces: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*args, "-i", str(interfaces), "--state-dir", str(tmp / "state")],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"dhcp": "1"},
        {"ip1": "192.0.2.5", "netmask": "255.255.255.0", "gateway": "192.0.2.1", "ip_count": "1"},
    ],
    ids=["dhcp", "static"],
)
def test_real_debian_hook_then_role_brings_up_eth0_or_enx0(xen_tools, tmp_path, env) -> None:
    programs.require("ifup")
    guest = tmp_path / "guest"
    run_hook(xen_tools, "common/40-setup-networking-deb", guest, tmp_path, **env)
    interfaces = guest / "etc/network/interfaces"
    hooked = interfaces.read_text()
    assert "\nauto eth0\n" in hooked  # the hook's hard-coded name: what the role is for
    (tmp_path / "state").mkdir()
    before = ifupdown(["ifup", "--no-act", "enX0"], interfaces, tmp_path)
    assert before.returncode != 0 and "unknown interface enX0" in before.stderr  # issue #65
    assert "configures the NIC as eth0 or enX0" in run_role(guest, tmp_path)
    fixed = interfaces.read_text()
    assert "\nallow-hotplug eth0\n" in fixed and "\nallow-hotplug enX0\n" in fixed
    assert "\nauto eth0\n" not in fixed
    assert "already configures enX0" in run_role(guest, tmp_path)
    assert interfaces.read_text() == fixed  # a second run changes nothing
    listed = ifupdown(["ifquery", "--list", "--allow=hotplug"], interfaces, tmp_path)
    assert listed.stdout.split() == ["eth0", "enX0"], listed.stderr
    auto = ifupdown(["ifquery", "--list"], interfaces, tmp_path)
    assert auto.stdout.split() == ["lo"]  # no `auto` for a name that may not exist
    for name in ("eth0", "enX0"):
        done = ifupdown(["ifup", "--no-act", name], interfaces, tmp_path)
        assert done.returncode == 0, done.stderr
        said = done.stdout + done.stderr  # ifup --no-act prints the commands on stderr
        if "dhcp" in env:
            assert re.search(rf"dhclient .* {name}\b", said), said
        else:
            assert "ip addr add 192.0.2.5/255.255.255.0 broadcast 192.0.2.255" in said
            assert f"dev {name} label {name}" in said


@pytest.mark.parametrize(
    "env",
    [{"dhcp": "1"}, {"ip1": "192.0.2.5", "netmask": "255.255.255.0", "gateway": "192.0.2.1"}],
    ids=["dhcp", "static"],
)
def test_real_ubuntu_netplan_hook_then_role_matches_both_names(xen_tools, tmp_path, env) -> None:
    programs.require("netplan")
    guest = tmp_path / "guest"
    run_hook(xen_tools, "artful.d/40-setup-networking-deb-netplan", guest, tmp_path, **env)
    yaml = guest / "etc/netplan/01-netcfg.yaml"
    assert "\n    eth0:\n" in yaml.read_text()
    assert "configures the NIC named eth0 or enX0" in run_role(guest, tmp_path)
    fixed = yaml.read_text()
    assert "already matches" in run_role(guest, tmp_path) and yaml.read_text() == fixed
    yaml.chmod(0o600)
    done = subprocess.run(
        ["netplan", "generate", "--root-dir", str(guest)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    (network,) = (guest / "run/systemd/network").glob("*.network")
    rendered = network.read_text()
    assert f"Name={xentoolsrole.NETPLAN_GLOB}\n" in rendered
    assert ("DHCP=ipv4" in rendered) is ("dhcp" in env)


def test_fake_install_brings_the_real_conf_and_the_deferred_edit_fills_it_in(
    xen_tools, tmp_path, monkeypatch
) -> None:
    """Debian 12: the package step (a fake apt-get) brings the REAL shipped xen-tools.conf; the
    deferred edit is made on it after the install, and rollback restores every byte."""
    root = copy_root(ROOTS["debian-12"], tmp_path / "root")
    shipped = (xen_tools / xentoolsconf.CONF_PATH).read_bytes()
    for name in ("ethtool", "bridge-utils", "busybox-static", "nftables", "dnsmasq"):
        monkeypatch.setitem(FAKE_PACKAGES, name, ((), (f"usr/share/doc/{name}/copyright",)))
    monkeypatch.setitem(FAKE_PACKAGES, "xen-system-amd64", ((), ()))
    monkeypatch.setitem(FAKE_PACKAGES, "xen-tools", ((), (xentoolsconf.CONF_PATH,)))
    runner = FakeRunner(root)
    original_put = runner._put

    def put(name: str, on_line) -> None:
        original_put(name, on_line)
        if name == "xen-tools":
            (root / xentoolsconf.CONF_PATH).write_bytes(shipped)

    runner._put = put  # type: ignore[method-assign]
    before = manifest(root)
    plan = plan_for(root, WizardConfig(bridge="xenbr0"))
    result = Engine(plan, RootFS(root), runner).apply()
    assert result.outcome == "applied", result.message
    conf = (root / xentoolsconf.CONF_PATH).read_text()
    assert conf.startswith(shipped.decode()[:200]) and "bridge = xenbr0" in block(conf)
    assert (root / xentoolsrole.ROLE_PATH).read_text() == xentoolsrole.render()
    rolled = Engine(None, RootFS(root), runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(before, manifest(root)) == []
