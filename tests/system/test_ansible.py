"""The Ansible collection (ansible/): the real ansible-playbook on three hosts.

The inventory and playbook of docs/many-hosts.md (ansible/inventory.yml, ansible/site.yml, run
from ansible/ so ansible/ansible.cfg finds the collection) drive three local "hosts", each a
copy of a fixture root given to the module as its `root`: a second inventory laid over that
one sets the local connection, the root, --skip-packages (no apt-get in a fixture root) and
this checkout's xenwizard; the answers (three subnets) are the page's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.ansiblekit import ANSIBLE_DIR, BIN, playbook_env, recap, run_playbook
from tests.kits.helpers import FIXTURES, REPO, copy_root
from xenwizard.answers.fields import ANSWER_KEYS
from xenwizard.planning.plan import BOOT_STEP_IDS

COLLECTION = ANSIBLE_DIR / "ansible_collections" / "xenwizard" / "xen"
MODULE = COLLECTION / "plugins" / "modules" / "host.py"
ROLE = COLLECTION / "roles" / "xen_host"
XENWIZARD = BIN / "xenwizard"

# inventory host -> fixture root
HOSTS = {"xen1": "debian-12-root", "xen2": "ubuntu-24.04-root", "xen3": "debian-13-root"}
# the docs inventory's answers (checked against inventory.yml below)
ANSWERS = {
    "xen1": ("10.1.0.1/24", "10.1.0.10-10.1.0.99"),
    "xen2": ("10.2.0.1/24", "10.2.0.10-10.2.0.99"),
    "xen3": ("10.3.0.1/24", "10.3.0.10-10.3.0.99"),
}


@pytest.fixture(autouse=True)
def _ansible_playbook() -> None:
    """Every test here runs the real ansible-playbook of this venv."""
    if not (BIN / "ansible-playbook").exists():
        programs.missing("ansible-playbook", "a test extra: pip install -e '.[test]'")


def make_roots(base: Path) -> dict[str, Path]:
    base.mkdir(parents=True, exist_ok=True)
    return {host: copy_root(FIXTURES / fixture, base / host) for host, fixture in HOSTS.items()}


def local_inventory(path: Path, roots: dict[str, Path], **host_vars: dict) -> Path:
    """The layer over the docs' inventory: local connection, fixture roots, this xenwizard.
    host_vars: per-host overrides (e.g. a bad answer for one host)."""
    hosts = {}
    for host, root in roots.items():
        hosts[host] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "ansible_become": False,  # the tests run as root already; no sudo needed
            "xenwizard_root": str(root),
            "xenwizard_skip_packages": True,
            "xenwizard_executable": str(XENWIZARD),
            **host_vars.get(host, {}),
        }
    path.write_text(json.dumps({"xen_hosts": {"hosts": hosts}}, indent=2) + "\n")
    return path


def playbook(overlay: Path, scratch: Path, *extra: str) -> subprocess.CompletedProcess:
    """`ansible-playbook -i inventory.yml -i OVERLAY site.yml` from ansible/, as the docs say."""
    return run_playbook(["inventory.yml", overlay], scratch, *extra)


def tree(root: Path, exclude: tuple[str, ...] = ()) -> str:
    """A hash of everything under root (but `exclude`): path, type, mode, owner, bytes or link
    target."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if any(rel == ex or rel.startswith(ex + "/") for ex in exclude):
                continue
            st = os.lstat(path)
            digest.update(
                f"{path.relative_to(root)}\0{st.st_mode}\0{st.st_uid}\0{st.st_gid}\0".encode()
            )
            if stat.S_ISLNK(st.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                digest.update(path.read_bytes())
    return digest.hexdigest()


def cli_plan(host: str, root: Path) -> dict:
    address, dhcp_range = ANSWERS[host]
    done = subprocess.run(
        [str(XENWIZARD), "plan", "--json", "--root", str(root), "--bridge", "br0",
         "--lease", "12h", "--address", address, "--dhcp-range", dhcp_range],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def waits_for_packages(step: dict, root: Path) -> bool:
    """A step `apply --skip-packages` skips on a fixture root (docs/cli.md: the package step, and
    what needs those packages): the packages, an edit of a file a package brings, a link into a
    directory a package brings, the boot steps (they need Xen's GRUB entry)."""
    if step["kind"] == "packages" or step.get("deferred") or step["id"] in BOOT_STEP_IDS:
        return True
    return (
        step["kind"] == "symlink"
        and not step["exists"]
        and not (root / step["path"]).parent.is_dir()
        and not any("(and the directory" in note for note in step["notes"])
    )


def applied_steps(plan: dict, root: Path) -> list[dict]:
    return [s for s in plan["steps"] if s["changed"] and not waits_for_packages(s, root)]


def test_docs_show_the_inventory_and_playbook_the_test_runs() -> None:
    many = (REPO / "docs" / "many-hosts.md").read_text()
    for name in ("inventory.yml", "site.yml", "ansible.cfg"):
        text = (ANSIBLE_DIR / name).read_text()
        indented = "".join(
            "    " + line if line.strip() else line for line in text.splitlines(True)
        )
        assert text in many or indented in many, f"docs/many-hosts.md does not show {name}"
    inventory = (ANSIBLE_DIR / "inventory.yml").read_text()
    for host, (address, dhcp_range) in ANSWERS.items():
        assert re.search(
            rf"{host}:\n(?:\s+.*\n)*?\s+xenwizard_address: {re.escape(address)}\n"
            rf"\s+xenwizard_dhcp_range: {re.escape(dhcp_range)}\n",
            inventory,
        ), host


def test_ansible_doc_documents_every_argument(tmp_path: Path) -> None:
    env = playbook_env(tmp_path)
    doc = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", "xenwizard.xen.host"],
        cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    entry = json.loads(doc.stdout)["xenwizard.xen.host"]
    documented = set(entry["doc"]["options"])
    spec = set(re.findall(r"^            (\w+)=dict\(type=", MODULE.read_text(), re.M))
    assert documented == spec and "root" in spec and "skip_packages" in spec
    assert entry["examples"] and {"changed_steps", "steps", "rc", "meaning"} <= set(entry["return"])
    role = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "role", "--json", "xenwizard.xen.xen_host"],
        cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    options = json.loads(role.stdout)["xenwizard.xen.xen_host"]["entry_points"]["main"]["options"]
    assert {"xenwizard_install_source", "xenwizard_reboot", "xenwizard_confirm"} <= set(options)
    # the guard is on by default: a role that rebooted and did not confirm would see its hosts
    # roll themselves back minutes after the play reported success
    assert options["xenwizard_confirm"]["default"] is True
    assert options["xenwizard_reboot"]["default"] is False
    answers = {key.replace("-", "_") for key in ANSWER_KEYS}
    assert {f"xenwizard_{key}" for key in answers} <= set(options)


def test_every_answer_is_a_module_option_and_a_role_variable() -> None:
    """The module and the role take every answer the CLI takes (one table: ANSWER_KEYS), each
    passed as that answers-file key, so a new answer cannot be missed."""
    text = MODULE.read_text()
    pairs = dict(re.findall(r'^    \("(\w+)", "([\w-]+)"\),$', text, re.M))
    assert set(pairs.values()) == set(ANSWER_KEYS)
    assert all(option == key.replace("-", "_") for option, key in pairs.items())
    spec = set(re.findall(r"^            (\w+)=dict\(type=", text, re.M))
    assert set(pairs) <= spec
    tasks = (ROLE / "tasks/main.yml").read_text()
    for option in pairs:
        assert f'{option}: "{{{{ xenwizard_{option} | default(omit) }}}}"' in tasks, option


def test_three_hosts_check_apply_again(tmp_path: Path) -> None:
    roots = make_roots(tmp_path / "roots")
    overlay = local_inventory(tmp_path / "local.json", roots)
    plans = {host: cli_plan(host, root) for host, root in roots.items()}
    steps = {host: applied_steps(plan, roots[host]) for host, plan in plans.items()}
    waiting = {
        host: [s for s in plan["steps"] if s["changed"] and s not in steps[host]]
        for host, plan in plans.items()
    }
    before = {host: tree(root) for host, root in roots.items()}

    # --check --diff: every file's diff exactly as `xenwizard plan` has it; nothing touched
    check = playbook(overlay, tmp_path, "--check", "--diff")
    assert check.returncode == 0, check.stdout + check.stderr
    assert recap(check) == {host: (1, 0) for host in HOSTS}, check.stdout
    for host, plan in plans.items():
        edits = [s for s in applied_steps(plan, roots[host]) if s["kind"] == "edit"]
        assert edits, host
        for step in edits:
            assert step["diff"] in check.stdout, (host, step["path"])
    assert {host: tree(root) for host, root in roots.items()} == before

    # apply: the files are what the plan predicted
    applied = playbook(overlay, tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert recap(applied) == {host: (1, 0) for host in HOSTS}, applied.stdout
    for host in plans:
        for step in steps[host]:
            path = roots[host] / step["path"]
            if step["kind"] == "edit":
                assert path.read_text() == step["after"], (host, step["path"])
            elif step["kind"] == "symlink":
                assert os.readlink(path) == step["target"], (host, step["path"])
        for step in waiting[host]:  # not done: they wait for the skipped packages
            if step["kind"] != "packages":
                assert not os.path.lexists(roots[host] / step["path"]), (host, step["path"])

    # a second run, and a second check: nothing to do
    after = {host: tree(root) for host, root in roots.items()}
    again = playbook(overlay, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again) == {host: (0, 0) for host in HOSTS}, again.stdout
    recheck = playbook(overlay, tmp_path, "--check", "--diff")
    assert recap(recheck) == {host: (0, 0) for host in HOSTS}, recheck.stdout
    assert {host: tree(root) for host, root in roots.items()} == after


def test_a_bad_answer_fails_that_host_alone(tmp_path: Path) -> None:
    roots = make_roots(tmp_path / "roots")
    bad = {"xen2": {"xenwizard_dhcp_range": "10.9.0.10-10.9.0.99"}}
    overlay = local_inventory(tmp_path / "local.json", roots, **bad)
    before = {host: tree(root) for host, root in roots.items()}
    done = playbook(overlay, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr  # 2: some hosts failed
    assert recap(done) == {"xen1": (1, 0), "xen2": (0, 1), "xen3": (1, 0)}, done.stdout
    message = (
        "xenwizard: error: invalid answer dhcp-range: start 10.9.0.10 is outside the subnet "
        "10.2.0.0/24"
    )
    failed = [line for line in done.stdout.splitlines() if line.startswith("fatal: [xen2]")]
    assert len(failed) == 1 and f'"msg": "{message}"' in failed[0], done.stdout
    assert tree(roots["xen2"]) == before["xen2"]
    assert tree(roots["xen1"]) != before["xen1"] and tree(roots["xen3"]) != before["xen3"]


def test_a_failed_apply_is_rolled_back_and_reported(tmp_path: Path) -> None:
    """A step fails mid-apply (its directory is unwritable): xenwizard rolls back (exit 2) and
    the module fails with the apply's one line, the exit code and its meaning."""
    from tests.kits.enginekit import read_only_method, set_read_only

    method = read_only_method(tmp_path)
    if method is None:
        pytest.skip("cannot make a directory unwritable here (no chattr, no bind mount)")
    roots = make_roots(tmp_path / "roots")
    roots = {"xen1": roots["xen1"]}
    overlay = local_inventory(tmp_path / "local.json", roots)
    locked = roots["xen1"] / "etc/dnsmasq.d"
    locked.mkdir(exist_ok=True)
    journal = ("var/lib/xenwizard", "var/log")
    before = tree(roots["xen1"], journal)
    set_read_only(locked, True, method)
    try:
        done = playbook(overlay, tmp_path, "--limit", "xen1")
    finally:
        set_read_only(locked, False, method)
    assert done.returncode == 2, done.stdout + done.stderr
    (failed,) = [line for line in done.stdout.splitlines() if line.startswith("fatal: [xen1]")]
    assert '"msg": "rolled-back: step ' in failed, failed
    assert (
        "(xenwizard exit code 2: a step failed and everything was rolled back: the root is as "
        'before)"' in failed
    )
    # the journal and the log are xenwizard's own record of the failed run; the rest is as before
    assert tree(roots["xen1"], journal) == before
    assert (roots["xen1"] / "var/lib/xenwizard/runs").is_dir()


@pytest.mark.skipif(
    os.environ.get("XENWIZARD_ANSIBLE_WHEEL") != "1",
    reason="XENWIZARD_ANSIBLE_WHEEL=1: the role's wheel install (needs a package index for the "
    "wheel's dependencies; about a minute)",
)
def test_role_installs_the_wheel_and_runs_it(tmp_path: Path) -> None:
    """xenwizard_install_source = this checkout's wheel: the role makes a venv, installs it,
    links xenwizard, and the module runs that xenwizard."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("xenwizard-*.whl")
    roots = {"xen1": copy_root(FIXTURES / HOSTS["xen1"], tmp_path / "xen1")}
    link = tmp_path / "bin" / "xenwizard"
    link.parent.mkdir()
    target = {
        "ansible_python_interpreter": "/usr/bin/python3",
        "xenwizard_venv": str(tmp_path / "venv"),
        "xenwizard_link": str(link),
        "xenwizard_executable": str(link),
    }
    overlay = local_inventory(tmp_path / "local.json", roots, xen1=target)
    env = {**playbook_env(tmp_path), "XENWIZARD_INSTALL": str(wheel)}
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.yml", "-i", str(overlay), "site.yml",
         "--limit", "xen1"],
        cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done)["xen1"][0] >= 3, done.stdout  # venv + link + the apply
    assert os.readlink(link) == str(tmp_path / "venv" / "bin" / "xenwizard")
    assert (roots["xen1"] / "etc/dnsmasq.d/xenwizard.conf").is_file()
    assert not Path("/tmp", wheel.name).exists()


def run_module(tmp_path: Path, check: bool, **args: object) -> dict:
    """The module run as Ansible runs it on a target (its arguments in a JSON file)."""
    args_file = tmp_path / "module-args.json"
    module_args = {
        **args,
        "executable": str(XENWIZARD),
        "_ansible_check_mode": check,
        "_ansible_remote_tmp": str(tmp_path),
        "_ansible_tmpdir": str(tmp_path),
    }
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    done = subprocess.run(
        [sys.executable, str(MODULE), str(args_file)],
        capture_output=True, text=True, timeout=120, env=playbook_env(tmp_path),
    )  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_module_waiting_is_what_apply_skips(tmp_path: Path, host: str) -> None:
    """With skip_packages, check mode's `waiting` is what `apply --skip-packages` then skips,
    each with the apply's own note (the module asks `plan --skip-packages`, it keeps no copy
    of the executor's rule), and the apply changes exactly the counted steps."""
    root = copy_root(FIXTURES / HOSTS[host], tmp_path / host)
    checked = run_module(tmp_path, True, root=str(root), skip_packages=True)
    assert checked["changed"] and checked["waiting"], checked
    applied = run_module(tmp_path, False, root=str(root), skip_packages=True)
    assert applied["changed"] and applied["rc"] == 0, applied
    run_dir = root / "var/lib/xenwizard/runs" / applied["run_id"]
    plan = json.loads((run_dir / "plan.json").read_text())
    records = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    skipped = [r for r in records if r["type"] == "skipped"]
    notes = {plan["steps"][r["index"]]["id"]: r["reason"] for r in skipped}
    waiting = dict(item.split(": ", 1) for item in checked["waiting"])
    assert waiting.pop("packages").startswith("skipped (--skip-packages): ")
    assert notes.pop("packages") == "--skip-packages"
    assert waiting == notes
    done = {r["index"] for r in records if r["type"] == "result" and r.get("changed")}
    assert {plan["steps"][i]["id"] for i in done} == set(checked["changed_steps"])
    again = run_module(tmp_path, False, root=str(root), skip_packages=True)
    assert not again["changed"] and again["changed_steps"] == [], again


def test_three_hosts_from_one_shared_pool(tmp_path: Path) -> None:
    """One shared answers file (group vars: the pool and the lease, as xenwizard answers) and
    a per-host `xenwizard_host_index` in the inventory: three hosts, three distinct /24s."""
    roots = make_roots(tmp_path / "roots")
    shared = tmp_path / "group_vars" / "xen_hosts.yml"
    shared.parent.mkdir()
    shared.write_text(
        "xenwizard_subnet_pool: 10.20.0.0/16\n"
        "xenwizard_answers:\n"
        "  lease: 1h\n"
        "xenwizard_skip_packages: true\n"
        f"xenwizard_executable: {XENWIZARD}\n"
        "ansible_connection: local\n"
        f"ansible_python_interpreter: {sys.executable}\n"
        "ansible_become: false\n"
    )
    hosts = {
        host: {"xenwizard_root": str(root), "xenwizard_host_index": index}
        for index, (host, root) in enumerate(sorted(roots.items()), start=1)
    }
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"xen_hosts": {"hosts": hosts}}, indent=2) + "\n")
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml"],
        cwd=ANSIBLE_DIR, env=playbook_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done) == {host: (1, 0) for host in HOSTS}, done.stdout
    subnets = set()
    for host, root in roots.items():
        index = hosts[host]["xenwizard_host_index"]
        dnsmasq = (root / "etc/dnsmasq.d/xenwizard.conf").read_text()
        assert f"dhcp-range=10.20.{index}.10,10.20.{index}.100,1h" in dnsmasq, host
        (answers,) = (root / "var/lib/xenwizard/runs").glob("*/answers.toml")
        recorded = answers.read_text()
        assert 'subnet-pool = "10.20.0.0/16"' in recorded and f"host-index = {index}" in recorded
        subnets.add(f"10.20.{index}.0/24")
    assert len(subnets) == 3


def test_guest_access_per_host_from_the_inventory(tmp_path: Path) -> None:
    """`xenwizard_guest_access` per host reaches each host's plan (issue 12): host-only
    advertises no router and forwards nothing, routed forwards without NAT, nat (the default)
    writes both; `xenwizard_guest_ipv6` gives xen2 alone its guests' IPv6 prefix (issue 25)."""
    from xenwizard.edits import guestipv6, guestnet

    roots = make_roots(tmp_path / "roots")
    per_host = {
        "xen1": {"xenwizard_guest_access": "host-only"},
        "xen2": {"xenwizard_guest_ipv6": "2001:db8:5::/64"},
        "xen3": {"xenwizard_guest_access": "routed"},
    }
    overlay = local_inventory(tmp_path / "local.json", roots, **per_host)
    done = playbook(overlay, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done) == {host: (1, 0) for host in HOSTS}, done.stdout
    forward, nat = guestnet.SYSCTL_PATH, guestnet.NAT_RULES_PATH
    dropin = "etc/dnsmasq.d/xenwizard.conf"
    xen1, xen2, xen3 = (roots[h] for h in ("xen1", "xen2", "xen3"))
    assert "dhcp-option=option:router" in (xen1 / dropin).read_text().splitlines()
    assert not (xen1 / forward).exists() and not (xen1 / nat).exists()
    assert (xen2 / forward).exists() and (xen2 / nat).exists()
    assert "10.2.0.0/24" in (xen2 / nat).read_text()
    assert (xen3 / forward).exists() and not (xen3 / nat).exists()
    assert "dhcp-option" not in (xen3 / dropin).read_text()
    assert "dhcp-range=2001:db8:5::,ra-stateless,64,12h" in (xen2 / dropin).read_text()
    assert (xen2 / guestipv6.SYSCTL_PATH).exists()
    assert not any("enable-ra" in (root / dropin).read_text() for root in (xen1, xen3))


def test_the_install_source_goes_to_a_private_directory_never_a_fixed_tmp_name(
    tmp_path: Path,
) -> None:
    """Issue 24: the role copied the install source to /tmp/NAME, a name another user of the
    target can take first (a link there, or a file of theirs). Now it goes into a fresh 0700
    directory, removed whatever happens: here an unsupported source fails the play after the
    copy, and neither the copy nor its directory is left."""
    source = tmp_path / f"xenwizard-{os.getpid()}-issue24.tar"
    source.write_text("not a package\n")
    playbook = tmp_path / "install.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  connection: local\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: xenwizard.xen.xen_host\n"
        "        tasks_from: install\n"
        f"      vars: {{xenwizard_install_source: '{source}'}}\n"
    )
    before = set(os.listdir(tempfile.gettempdir()))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-v", str(playbook)],
        cwd=ANSIBLE_DIR, env=playbook_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "must end in .deb or .whl" in output, output
    assert "xenwizard-install-" in output, output  # the copy's directory, made by mkdtemp
    assert not Path("/tmp", source.name).exists()
    left = {n for n in set(os.listdir(tempfile.gettempdir())) - before if "xenwizard-install-" in n}
    assert left == set(), left
