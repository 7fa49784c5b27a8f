"""The operator's answers, from any front end, built into one validated value object.

Every front end (TUI fields, CLI flags, answers file) goes through `build_config`, so the rules
of this folder are the single source of truth for what is accepted, and every rejection names
the field and says what was expected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from xenwizard.answers import dom0mem
from xenwizard.answers.checks import (
    MAX_IFNAME_LEN,
    check_address,
    check_bridge,
    check_dhcp_range,
    check_lease,
    check_nic,
)
from xenwizard.answers.clashes import Target, free_default_address, target_problems
from xenwizard.answers.fields import ANSWER_FIELDS, ANSWER_KEYS
from xenwizard.answers.model import ConfigError, FieldProblem, WizardConfig
from xenwizard.answers.pools import pool_address, pool_problems

ISOLATED_NIC = (
    "cannot be given with isolated: the isolated bridge takes no NIC (leave nic out, or "
    "answer isolated = false to bridge it)"
)

if TYPE_CHECKING:
    from typing import Any


def _as_bool(key: str, value: object, problems: list[FieldProblem]) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "yes",
        "true",
        "on",
        "1",
        "no",
        "false",
        "off",
        "0",
    ):
        return value.lower() in ("yes", "true", "on", "1")
    problems.append(FieldProblem(key, "expected true or false"))
    return None


def suggest_range(config: WizardConfig) -> tuple[str, str]:
    """Keep the DHCP range when it still fits the subnet, else propose one inside it."""
    if check_dhcp_range(config.dhcp_start, config.dhcp_end, config.address) is None:
        return config.dhcp_start, config.dhcp_end
    iface = config.interface
    net = iface.network
    first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
    host = int(iface.ip)
    if last - first >= 100:
        start, end = first + 9, first + 99
        if start <= host <= end:
            start, end = host + 1, min(host + 91, last)
    elif host - first >= last - host:
        start, end = first, host - 1
    else:
        start, end = host + 1, last
    return str(ipaddress.IPv4Address(start)), str(ipaddress.IPv4Address(end))


def build_config(
    answers: Mapping[str, object],
    base: WizardConfig | None = None,
    target: Target | None = None,
) -> WizardConfig:
    """Merge answers (answers-file keys) over `base` and validate the result as a whole.

    Every value is checked and normalised by its `ANSWER_FIELDS` entry; a new address moves
    the DHCP range into its subnet unless the range is among the answers. `profile` is not
    part of the config: take it out first (`split_profile`). With a `target`, the answers are
    also checked against it (`target_problems`), and a default subnet it already uses is
    replaced by a free one (`free_default_address`). Raises ConfigError listing every
    problem; never returns an invalid config.
    """
    problems: list[FieldProblem] = []
    for key in sorted(set(answers) - set(ANSWER_KEYS)):
        problems.append(
            FieldProblem(key, f"unknown answer; expected one of {', '.join(ANSWER_KEYS)}")
        )
    cfg = base or WizardConfig()
    pool_given = {k for k in ("subnet-pool", "host-index") if answers.get(k) is not None}
    if pool_given and answers.get("address") is not None:
        problems.append(
            FieldProblem(
                "address",
                "cannot be given together with subnet-pool or host-index: the pool gives each "
                "host its address (.1 of its /24); give one or the other",
            )
        )
    if base is None and target is not None and answers.get("address") is None and not pool_given:
        address, _why = free_default_address(target)
        if address != cfg.address:
            cfg = build_config({"address": address}, cfg)
    changes: dict[str, Any] = {}  # WizardConfig field -> value: each spec checked its own
    for spec in ANSWER_FIELDS:
        value = answers.get(spec.key)
        if value is None or spec.key == "profile":
            continue
        if spec.kind is bool:
            flag = _as_bool(spec.key, value, problems)
            if flag is not None:
                changes[spec.dest] = flag
            continue
        if (spec.kind is int or spec.key in ("dom0-mem", "lease")) and (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            value = str(value)  # a bare TOML number: minutes, MiB or seconds, as the flag takes
        if not isinstance(value, str):
            if spec.key == "dom0-mem":
                expected = dom0mem.EXPECTED
            elif spec.key == "host-index":
                expected = "expected a whole number, 0 or more"
            else:
                expected = "expected whole minutes" if spec.kind is int else "expected a string"
            problems.append(FieldProblem(spec.key, expected))
            continue
        text = value.strip()
        if spec.key == "nic" and not text:
            changes["nic"] = None
            continue
        reason = spec.check(text) if spec.check else None
        if reason:
            problems.append(FieldProblem(spec.key, reason))
            continue
        text = spec.normalise(text) if spec.normalise else text
        if spec.key == "dhcp-range":
            changes["dhcp_start"], changes["dhcp_end"] = text.split("-")
        elif spec.key == "dom0-mem":
            changes["dom0_mem"] = dom0mem.parse_size(text)
        elif spec.kind is int:
            changes[spec.dest] = int(text)
        else:
            changes[spec.dest] = text
    if "address" in changes and not pool_given:
        changes.update(subnet_pool=None, host_index=None)  # an address replaces a pool (TUI)
    cfg = replace(cfg, **changes)
    if pool_given and not {p.field for p in problems} & {"address", "subnet-pool", "host-index"}:
        pooled: str | None = None
        if cfg.subnet_pool is not None and cfg.host_index is not None:
            pooled = pool_address(cfg.subnet_pool, cfg.host_index)
        if pooled is not None:
            cfg = replace(cfg, address=pooled)
            changes["address"] = pooled  # the DHCP range moves into its /24
    if "address" in changes and answers.get("dhcp-range") is None:
        start, end = suggest_range(cfg)
        cfg = replace(cfg, dhcp_start=start, dhcp_end=end)
    problems.extend(validate(cfg, skip={p.field for p in problems}, target=target))
    if problems:
        raise ConfigError(problems)
    return cfg


def split_profile(answers: Mapping[str, object]) -> tuple[dict[str, object], str | None]:
    """The answers without `profile`, and the profile they name (None: detect)."""
    rest = dict(answers)
    profile = rest.pop("profile", None)
    if profile is not None and not isinstance(profile, str):
        raise ConfigError([FieldProblem("profile", "expected a string")])
    return rest, (profile.strip() or None) if profile else None


def answer_problem(
    key: str,
    answers: Mapping[str, object],
    base: WizardConfig | None = None,
    target: Target | None = None,
) -> str | None:
    """The reason `build_config` refuses `answers` for the answer `key`, or None.

    The TUI's field validators are this: each page asks the core about its fields' text
    together with the answers so far, so the UI holds no rule of its own.
    """
    try:
        build_config(answers, base, target)
    except ConfigError as exc:
        for problem in exc.problems:
            if problem.field == key:
                return problem.message
    return None


def validate(
    cfg: WizardConfig,
    skip: set[str] | frozenset[str] = frozenset(),
    target: Target | None = None,
) -> list[FieldProblem]:
    """Every problem of a candidate config (fields in `skip` already have a problem)."""
    problems: list[FieldProblem] = []
    max_len = target.bridge_max_len if target is not None else MAX_IFNAME_LEN
    checks = (
        ("bridge", check_bridge(cfg.bridge, max_len)),
        ("address", check_address(cfg.address)),
        ("lease", check_lease(cfg.lease)),
        ("nic", check_nic(cfg.nic) if cfg.nic is not None else None),
    )
    for name, reason in checks:
        if reason and name not in skip:
            problems.append(FieldProblem(name, reason))
    if "dhcp-range" not in skip:
        address = cfg.address if check_address(cfg.address) is None else None
        reason = check_dhcp_range(cfg.dhcp_start, cfg.dhcp_end, address)
        if reason:
            problems.append(FieldProblem("dhcp-range", reason))
    if cfg.isolated and cfg.nic is not None and "nic" not in skip:
        problems.append(FieldProblem("nic", ISOLATED_NIC))
    if cfg.nic is not None and cfg.nic == cfg.bridge and "nic" not in skip:
        problems.append(FieldProblem("nic", "must differ from the bridge name"))
    if not {"subnet-pool", "host-index"} & skip:
        problems += [p for p in pool_problems(cfg) if p.field not in skip]
    if target is not None and not problems:
        problems += [p for p in target_problems(cfg, target) if p.field not in skip]
    return problems
