"""Fleets: each host takes a /24 of a shared pool of guest subnets, by its index."""

from __future__ import annotations

import ipaddress

from xenwizard.answers.model import FieldProblem, WizardConfig

POOL_PREFIX = 24  # each host of a pool gets a /24


def check_subnet_pool(value: str) -> str | None:
    """A pool of guest subnets: an IPv4 network of /24 or larger, host bits zero."""
    if "/" not in value:
        return "expected an IPv4 network with prefix length, like 10.20.0.0/16"
    try:
        pool = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        return "expected an IPv4 network, like 10.20.0.0/16"
    if str(pool.network_address) != value.strip().split("/")[0]:
        return f"has host bits set; expected a network address, like {pool}"
    if pool.prefixlen > POOL_PREFIX:
        return f"is a /{pool.prefixlen}, smaller than a /24; each host gets a /24 of the pool"
    if pool.prefixlen < 8:
        return "prefix must be /8 or longer"
    return None


def normalise_subnet_pool(value: str) -> str:
    return str(ipaddress.IPv4Network(value.strip())) if check_subnet_pool(value) is None else value


def check_host_index(value: str) -> str | None:
    if not (value.isascii() and value.isdigit()):
        return "expected a whole number, 0 or more (0 is the pool's first /24)"
    return None


def pool_address(pool: str, index: int) -> str | None:
    """The host address of host `index` in `pool`: .1 of its /24 (None: outside the pool)."""
    network = ipaddress.IPv4Network(pool)
    if index >= network.num_addresses >> (32 - POOL_PREFIX):
        return None
    return f"{network.network_address + (index << (32 - POOL_PREFIX)) + 1}/{POOL_PREFIX}"


def pool_problems(cfg: WizardConfig) -> list[FieldProblem]:
    """A pool needs an index inside it, and the address must be the one they give."""
    pool, index = cfg.subnet_pool, cfg.host_index
    if pool is None and index is None:
        return []
    if pool is None:
        return [FieldProblem("host-index", "needs subnet-pool (the pool it picks a /24 from)")]
    if index is None:
        return [FieldProblem("host-index", f"needed with subnet-pool {pool}: which /24 of it")]
    if check_subnet_pool(pool) is not None:
        return [FieldProblem("subnet-pool", check_subnet_pool(pool) or "")]
    address = pool_address(pool, index)
    if address is None:
        count = ipaddress.IPv4Network(pool).num_addresses >> (32 - POOL_PREFIX)
        return [
            FieldProblem(
                "host-index",
                f"{index} is outside subnet-pool {pool}: its {count} /24s are 0 to {count - 1}",
            )
        ]
    if address != cfg.address:
        return [
            FieldProblem(
                "address",
                f"{cfg.address} is not host-index {index}'s address in subnet-pool {pool} "
                f"({address}); give either address or subnet-pool",
            )
        ]
    return []
