#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenwizard developers
# MIT License (see the project's pyproject.toml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host
short_description: Turn a Debian-family server into a Xen host with xenwizard
version_added: "0.1.0"
description:
  - Runs the C(xenwizard) command line on the target host. It never imports xenwizard itself, so
    any xenwizard that has the documented C(plan --json [--skip-packages]) and C(apply --yes)
    works.
  - The answers are written to a temporary TOML answers file (the keys of C(xenwizard --answers))
    and passed with C(--answers); O(root) is passed as C(--root).
  - In check mode it runs C(xenwizard plan --json) only and reports what C(xenwizard apply) would
    change; nothing on the host is touched.
  - Otherwise it runs C(xenwizard plan --json) and, when the plan changes something,
    C(xenwizard apply --yes). C(changed) is the plan's verdict (check mode) or the apply's
    outcome (C(applied) versus C(nothing-to-do)), so a second run reports no change.
  - With C(--diff) every file the plan changes is shown as the unified diff C(xenwizard plan)
    prints (C(a/) and C(b/) paths relative to O(root)); links and packages as one line each.
  - A failed apply is rolled back by xenwizard itself (exit code 2) before this module reports
    the failure; the task's message is xenwizard's own one-line error and O(root) is as before.
    Exit code 1 means xenwizard refused before changing anything (for example a bad answer);
    exit code 3 means the rollback failed too (see C(xenwizard history) and C(xenwizard rollback)).
  - Like xenwizard, the changes take effect at the next boot; this module never reboots (the
    C(xenwizard.xen.xen_host) role can).
author:
  - xenwizard developers (@xenwizard)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - xenwizard on the target host (the C(xenwizard.xen.xen_host) role installs it)
  - root on the target host
options:
  root:
    description:
      - The target system's root directory (C(xenwizard --root)).
    type: path
    default: /
  bridge:
    description:
      - The bridge's name (C(--bridge)); xenwizard's default is C(br0).
    type: str
  address:
    description:
      - The host's address on the guest subnet, C(A.B.C.D/P) (C(--address)); xenwizard's default
        is C(10.0.0.1/24).
    type: str
  subnet_pool:
    description:
      - For fleets, instead of O(address) (C(--subnet-pool)) - a pool of guest subnets, a /24 or
        larger network such as C(10.20.0.0/16), shared by every host; each host takes the /24
        numbered O(host_index), its address is .1 of it and the DHCP range .10-.100 unless
        O(dhcp_range) is given.
    type: str
  host_index:
    description:
      - With O(subnet_pool) (C(--host-index)) - this host's /24 of the pool, counting from 0
        (index 5 of C(10.20.0.0/16) is C(10.20.5.1/24)); give each host its own, for example
        in the inventory.
    type: int
  dhcp_range:
    description:
      - The guests' DHCP range, C(START-END), inside the subnet of O(address) (C(--dhcp-range)).
    type: str
  lease:
    description:
      - The DHCP lease time (C(--lease)); seconds, C(Nm), C(Nh), C(Nd), C(Nw) or C(infinite).
    type: str
  dhcp_xen_only:
    description:
      - Answer only Xen MACs C(00:16:3e:*) (C(--dhcp-xen-only) / C(--no-dhcp-xen-only)).
      - Not set means xenwizard's default (on).
    type: bool
  nic:
    description:
      - On current releases the NIC the bridge takes over (C(--nic)); not set means detected.
    type: str
  isolated:
    description:
      - An isolated bridge (C(--isolated)) on current releases, with no NIC on it and the
        host's own network configuration untouched. The guests reach other networks only
        through the host (O(guest_access) C(nat) or C(routed)), so no frame of theirs leaves the
        NIC with a Xen MAC, as hosting providers that allow one MAC per switch port require.
        Not set means bridged (the NIC becomes the bridge's port). Cannot be given with O(nic).
    type: bool
  profile:
    description:
      - The recipe (C(--profile)), for example C(debian-12); not set means detected from the
        target's C(etc/os-release).
    type: str
  udp_checksum_workaround:
    description:
      - Turn tx checksum offload off on the guests' vifs (C(--udp-checksum-workaround) /
        C(--no-udp-checksum-workaround)); not set means xenwizard's default for the profile.
    type: bool
  allow_overlap:
    description:
      - Accept a guest subnet or DHCP range that clashes with addresses or subnets the target
        already uses (C(--allow-overlap) / C(--no-allow-overlap)); not set means refused.
    type: bool
  dom0_mem:
    description:
      - The memory of dom0, fixed on Xen's command line with ballooning off (C(--dom0-mem)),
        for example C(2048M) or C(2G); not set means xenwizard's rule (1 GiB + 2% of the RAM,
        at most 4 GiB and the RAM less 512 MiB).
    type: str
  boot_guard:
    description:
      - Make the first boot into Xen one-shot and roll the run back (and reboot) unless
        C(xenwizard confirm) runs within O(confirm_within) minutes of boot (C(--boot-guard) /
        C(--no-boot-guard)); not set means on. The C(xenwizard.xen.xen_host) role confirms
        after its reboot when verify passes.
    type: bool
  confirm_within:
    description:
      - Minutes after boot the boot guard waits for C(xenwizard confirm), 1 to 1440
        (C(--confirm-within)); not set means 10.
    type: int
  guest_access:
    description:
      - How the guests reach other networks (C(--guest-access)). C(nat) (xenwizard's default)
        forwards and masquerades the guest subnet behind the host's address; C(routed) forwards
        only (the LAN router needs a route to the guest subnet via the host); C(host-only)
        neither forwards nor advertises a router to the guests.
    type: str
    choices: [nat, routed, host-only]
  guest_ipv6:
    description:
      - IPv6 for the guests (C(--guest-ipv6)). C(none) (xenwizard's default) gives them no IPv6
        from anyone; a /64 such as C(2001:db8:5::/64) is taken by the host as C(::1) on the
        bridge and advertised to the guests (SLAAC); the LAN router must route it to the host.
        Not on ubuntu-precise.
    type: str
  skip_packages:
    description:
      - Pass C(--skip-packages) to C(xenwizard apply); the package step, and the steps that need
        what those packages bring, are skipped with a note.
      - The plan is made with C(xenwizard plan --skip-packages), which marks those steps with
        the apply's own note; they are not counted as changes, so check mode and apply agree.
    type: bool
    default: false
  answers:
    description:
      - Further answers as a mapping of C(xenwizard --answers) keys (for keys this module does
        not know yet); the options above override it.
    type: dict
    default: {}
  executable:
    description:
      - The xenwizard program, a path or a name looked up in C(PATH),
        C(/opt/xenwizard/bin), C(/usr/sbin) and C(/usr/local/sbin).
    type: str
    default: xenwizard
notes:
  - Supports check mode and diff mode.
  - The answers file the run used is kept by xenwizard in its journal,
    C(ROOT/var/lib/xenwizard/runs/RUN_ID/answers.toml).
attributes:
  check_mode:
    support: full
    details: C(xenwizard plan); nothing on the host is touched.
  diff_mode:
    support: full
    details: Each file's unified diff as C(xenwizard plan) prints it.
  platform:
    platforms: debian
"""

EXAMPLES = r"""
- name: Bridge br0 and DHCP for the guests, xenwizard's defaults (10.0.0.1/24)
  xenwizard.xen.host:

- name: Per-host answers from inventory variables
  xenwizard.xen.host:
    bridge: xenbr0
    address: "{{ guest_address }}"
    dhcp_range: "{{ guest_dhcp_range }}"
    lease: 1d

- name: Twenty hosts, one shared pool; host_index comes from each host's inventory variables
  xenwizard.xen.host:
    subnet_pool: 10.20.0.0/16
    host_index: "{{ xenwizard_host_index }}"

- name: Plan a system image mounted under /mnt/target, touching nothing
  xenwizard.xen.host:
    root: /mnt/target
    address: 10.20.0.1/24
    dhcp_range: 10.20.0.100-10.20.0.200
  check_mode: true
  register: plan

- name: Guests routed by the LAN router instead of masqueraded behind the host
  xenwizard.xen.host:
    address: 10.40.0.1/24
    guest_access: routed

- name: Apply without the package step (packages are handled elsewhere)
  xenwizard.xen.host:
    address: 10.30.0.1/24
    dhcp_range: 10.30.0.10-10.30.0.99
    skip_packages: true
"""

RETURN = r"""
changed_steps:
  description: The ids of the steps that change something (check mode) or that the apply would
    do (the plan's view before the apply).
  returned: always
  type: list
  elements: str
  sample: [bridge, dnsmasq, dhcp-confine]
steps:
  description: Every step of the plan as C(xenwizard plan --json) has it, with C(before) and
    C(after) (the file's text) for file edits, and whether this run counts it as a change.
  returned: always
  type: list
  elements: dict
  sample:
    - id: dnsmasq
      kind: edit
      title: "dnsmasq: DHCP for the guests on br0"
      changed: true
      counted: true
      path: etc/dnsmasq.d/xenwizard.conf
      before: null
      after: "# BEGIN xenwizard\n..."
      diff: "--- /dev/null\n+++ b/etc/dnsmasq.d/xenwizard.conf\n..."
profile:
  description: The recipe xenwizard chose and why.
  returned: always
  type: str
  sample: "debian-12 (etc/os-release: Debian GNU/Linux 12)"
plan_warnings:
  description: The plan's warnings.
  returned: always
  type: list
  elements: str
answers:
  description: The answers as xenwizard resolved them (defaults filled in).
  returned: always
  type: dict
  sample: {bridge: br0, address: 10.1.0.1/24, dhcp-range: 10.1.0.10-10.1.0.50, lease: 12h}
boot:
  description: What the next boot does, as C(xenwizard plan --json) says it - the entry GRUB
    boots next, whether the boot guard is on and the minutes it waits for C(xenwizard confirm).
  returned: always
  type: dict
  sample: {next_entry: "Debian GNU/Linux, with Xen hypervisor", next_is_xen: true,
           default_entry: "Debian GNU/Linux", boot_guard: true, confirm_within: 10, note: ""}
waiting:
  description: Steps not done because O(skip_packages) skipped the packages they need, each as
    the step id, a colon and the note C(xenwizard apply --skip-packages) gives it; the plan keeps
    listing them until the packages are there.
  returned: always
  type: list
  elements: str
run_id:
  description: The id of xenwizard's run (its journal is C(ROOT/var/lib/xenwizard/runs/RUN_ID)).
  returned: when an apply ran
  type: str
  sample: 20261201T134459-92e3
outcome:
  description: The apply's last line, for example C(applied), C(nothing-to-do), C(rolled-back)
    or C(rollback-failed), with its message.
  returned: when an apply ran
  type: str
  sample: "applied: 7 steps applied"
rc:
  description: xenwizard's exit code (0 done, 1 refused before changing anything, 2 failed and
    rolled back, 3 the rollback failed too).
  returned: always
  type: int
  sample: 0
meaning:
  description: What RV(rc) means, in words.
  returned: always
  type: str
  sample: success
stdout:
  description: The apply's output.
  returned: when an apply ran
  type: str
stderr:
  description: xenwizard's error output (the one-line errors).
  returned: on failure
  type: str
"""

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

try:
    import json
except ImportError:  # pragma: no cover
    json = None

# option -> xenwizard answers key (the flags' names)
ANSWER_KEYS = (
    ("profile", "profile"),
    ("bridge", "bridge"),
    ("address", "address"),
    ("subnet_pool", "subnet-pool"),
    ("host_index", "host-index"),
    ("dhcp_range", "dhcp-range"),
    ("lease", "lease"),
    ("dhcp_xen_only", "dhcp-xen-only"),
    ("nic", "nic"),
    ("isolated", "isolated"),
    ("udp_checksum_workaround", "udp-checksum-workaround"),
    ("allow_overlap", "allow-overlap"),
    ("dom0_mem", "dom0-mem"),
    ("boot_guard", "boot-guard"),
    ("confirm_within", "confirm-within"),
    ("guest_access", "guest-access"),
    ("guest_ipv6", "guest-ipv6"),
)

MEANING = {
    0: "success",
    1: "refused before anything changed",
    2: "a step failed and everything was rolled back: the root is as before",
    3: "the rollback failed too: see `xenwizard history` and retry `xenwizard rollback`",
    130: "interrupted before anything changed",
}

OUTCOME = re.compile(r"^(applied|nothing-to-do|rolled-back|rollback-failed|[a-z-]+): ")
RUN_LINE = re.compile(r"^run (\S+) on ")


def toml_value(value):
    """A TOML value: booleans, integers, and strings as TOML basic strings (JSON's escapes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = json.dumps(to_text(value), ensure_ascii=True)
    return text


def answers_toml(answers):
    lines = ["# written by the xenwizard.xen.host Ansible module"]
    for key in sorted(answers):
        if not re.match(r"^[A-Za-z0-9_-]+$", key):
            raise ValueError("answers key %r is not a bare TOML key" % key)
        lines.append("%s = %s" % (key, toml_value(answers[key])))
    return "\n".join(lines) + "\n"


def error_lines(stderr, stdout=""):
    """xenwizard's one-line errors (stderr), else the last line of its output."""
    lines = [line for line in to_text(stderr).splitlines() if line.strip()]
    if lines:
        return "; ".join(lines)
    out = [line for line in to_text(stdout).splitlines() if line.strip()]
    return out[-1] if out else "no output"


def step_diff(step):
    """The step as `xenwizard plan` shows it: a file's unified diff, else one line."""
    kind = step.get("kind")
    if kind == "edit":
        if step.get("deferred"):
            return "# %s: computed after the packages are installed\n" % step.get("path")
        return step.get("diff") or "# %s: mode made executable\n" % step.get("path")
    if kind == "symlink":
        return "# link %s -> %s\n" % (step.get("path"), step.get("target"))
    if kind == "packages":
        return "# apt-get install %s\n" % " ".join(step.get("packages") or [])
    return "# %s\n" % step.get("title")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            bridge=dict(type="str"),
            address=dict(type="str"),
            subnet_pool=dict(type="str"),
            host_index=dict(type="int"),
            dhcp_range=dict(type="str"),
            lease=dict(type="str"),
            dhcp_xen_only=dict(type="bool"),
            nic=dict(type="str"),
            isolated=dict(type="bool"),
            profile=dict(type="str"),
            udp_checksum_workaround=dict(type="bool"),
            allow_overlap=dict(type="bool"),
            dom0_mem=dict(type="str"),
            boot_guard=dict(type="bool"),
            confirm_within=dict(type="int"),
            guest_access=dict(type="str", choices=["nat", "routed", "host-only"]),
            guest_ipv6=dict(type="str"),
            skip_packages=dict(type="bool", default=False),
            answers=dict(type="dict", default={}),
            executable=dict(type="str", default="xenwizard"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    root = params["root"]
    result = dict(
        changed=False,
        changed_steps=[],
        steps=[],
        waiting=[],
        plan_warnings=[],
        answers={},
        boot={},
        profile="",
        rc=0,
        meaning=MEANING[0],
    )

    executable = params["executable"]
    if os.sep not in executable:
        executable = module.get_bin_path(
            executable,
            required=False,
            opt_dirs=["/opt/xenwizard/bin", "/usr/sbin", "/usr/local/sbin"],
        )
        if not executable:
            module.fail_json(
                msg="xenwizard not found on the target (PATH, /opt/xenwizard/bin, /usr/sbin); "
                "the xenwizard.xen.xen_host role installs it",
                **result,
            )

    answers = dict(params["answers"] or {})
    for option, key in ANSWER_KEYS:
        if params[option] is not None:
            answers[key] = params[option]

    fd, answers_path = tempfile.mkstemp(
        prefix="xenwizard-answers-", suffix=".toml", dir=module.tmpdir
    )
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(answers_toml(answers))
    except ValueError as exc:
        module.fail_json(msg=to_text(exc), **result)

    common = ["--root", root, "--answers", answers_path]
    env = {"LC_ALL": "C.UTF-8", "NO_COLOR": "1"}

    skip = params["skip_packages"]
    plan_argv = [executable, "plan", "--json"] + common + (["--skip-packages"] if skip else [])
    rc, out, err = module.run_command(plan_argv, environ_update=env)
    if rc != 0:
        result.update(rc=rc, meaning=MEANING.get(rc, "unexpected exit code"), stderr=err)
        module.fail_json(msg=error_lines(err, out), **result)
    try:
        plan = json.loads(out)
    except ValueError as exc:
        module.fail_json(
            msg="xenwizard plan --json printed no JSON: %s" % exc, stdout=out, **result
        )

    steps, counted, waiting, diffs = [], [], [], []
    for step in plan.get("steps", []):
        step = dict(step)
        reason = step.get("skipped")  # plan --skip-packages: the apply's own note
        step["counted"] = bool(step.get("changed")) and not reason
        if reason:
            waiting.append("%s: %s" % (step.get("id"), reason))
        if step["counted"]:
            counted.append(step.get("id"))
            diffs.append(
                dict(
                    before_header=step.get("path") or step.get("id"),
                    after_header=step.get("path") or step.get("id"),
                    prepared=step_diff(step),
                )
            )
        steps.append(step)

    result.update(
        changed_steps=counted,
        steps=steps,
        waiting=waiting,
        plan_warnings=list(plan.get("warnings") or []),
        answers=plan.get("answers") or {},
        boot=plan.get("boot") or {},
        profile="%s (%s)" % (plan.get("profile"), plan.get("profile_reason")),
    )
    if module._diff:
        result["diff"] = diffs

    if module.check_mode or not counted:
        result["changed"] = bool(counted)
        module.exit_json(**result)

    argv = [executable, "apply", "--yes"] + common
    if skip:
        argv.append("--skip-packages")
    rc, out, err = module.run_command(argv, environ_update=env)
    lines = [line for line in to_text(out).splitlines() if line.strip()]
    outcome = ""
    for line in reversed(lines):
        if OUTCOME.match(line):
            outcome = line
            break
    for line in lines:
        match = RUN_LINE.match(line)
        if match:
            result["run_id"] = match.group(1)
            break
    result.update(
        rc=rc, meaning=MEANING.get(rc, "unexpected exit code"), outcome=outcome, stdout=out
    )
    if rc != 0:
        result["stderr"] = err
        result["changed"] = rc == 3  # 2: rolled back, as before; 3: something is left
        if rc == 1:
            message = error_lines(err, out)
        else:
            message = outcome or error_lines(err, out)
        module.fail_json(
            msg="%s (xenwizard exit code %d: %s)" % (message, rc, result["meaning"]), **result
        )
    result["changed"] = outcome.startswith("applied:")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
