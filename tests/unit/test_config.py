"""WizardConfig validation: every rule rejects with the field's name and a reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenwizard.answers.build import build_config, validate
from xenwizard.answers.checks import lease_seconds
from xenwizard.answers.fields import ANSWER_KEYS
from xenwizard.answers.model import ConfigError, FieldProblem, WizardConfig


def problems(answers: dict) -> list[FieldProblem]:
    with pytest.raises(ConfigError) as caught:
        build_config(answers)
    assert str(caught.value) == "; ".join(str(p) for p in caught.value.problems)
    return caught.value.problems


def test_defaults_are_the_seed_values():
    config = build_config({})
    assert config == WizardConfig()
    assert (config.bridge, config.alias, config.host_ip) == ("br0", "br0:0", "10.0.0.1")
    assert (config.netmask, config.broadcast, config.prefixlen) == (
        "255.255.255.0",
        "10.0.0.255",
        24,
    )
    assert (config.dhcp_start, config.dhcp_end, config.lease) == ("10.0.0.10", "10.0.0.100", "12h")
    assert config.dhcp_count == 91


def test_answers_round_trip():
    config = build_config(
        {
            "bridge": " xenbr0 ",
            "address": "192.168.50.1/23",
            "dhcp-range": "192.168.50.100,192.168.51.200",
            "lease": "2d",
            "dhcp-xen-only": "no",
            "nic": "eno1",
            "udp-checksum-workaround": "yes",
        }
    )
    assert config.bridge == "xenbr0"
    assert (config.dhcp_start, config.dhcp_end) == ("192.168.50.100", "192.168.51.200")
    assert config.dhcp_xen_only is False and config.udp_checksum_workaround is True
    assert build_config(config.to_answers()) == config


@pytest.mark.parametrize(
    ("answers", "field", "reason"),
    [
        ({"colour": "blue"}, "colour", "unknown answer"),
        ({"bridge": ""}, "bridge", "must not be empty"),
        ({"bridge": ".."}, "bridge", "must not be '.' or '..'"),
        ({"bridge": "a" * 16}, "bridge", "at most 15"),
        ({"bridge": "br 0"}, "bridge", "may contain only"),
        ({"bridge": 'b"; reboot'}, "bridge", "may contain only"),
        ({"bridge": "br0:0"}, "bridge", "may contain only"),
        ({"bridge": "-br"}, "bridge", "must not start with '-'"),
        ({"bridge": 7}, "bridge", "expected a string"),
        ({"nic": "x" * 16}, "nic", "at most 15"),
        ({"nic": "."}, "nic", "must not be '.'"),
        ({"nic": "eth0/1"}, "nic", "may contain only"),
        ({"nic": "-eth0"}, "nic", "must not start with '-'"),
        ({"nic": "br0"}, "nic", "must differ from the bridge name"),
        ({"address": "10.0.0.1"}, "address", "with prefix length"),
        ({"address": "10.0.0.300/24"}, "address", "with prefix length"),
        ({"address": "10.0.0.1/31"}, "address", "/30 or shorter"),
        ({"address": "10.0.0.1/7"}, "address", "/8 or longer"),
        ({"address": "10.0.0.0/24"}, "address", "network address"),
        ({"address": "10.0.0.255/24"}, "address", "broadcast address"),
        ({"address": "224.0.0.1/24"}, "address", "not a unicast host address"),
        ({"address": "127.0.0.1/8"}, "address", "not a unicast host address"),
        ({"dhcp-range": "10.0.0.10"}, "dhcp-range", "expected START-END"),
        ({"dhcp-range": "10.0.0.10-10.0.0.x"}, "dhcp-range", "end '10.0.0.x' is not an IPv4"),
        ({"dhcp-range": "10.0.0.90-10.0.0.20"}, "dhcp-range", "is after end"),
        ({"dhcp-range": "10.0.1.10-10.0.1.20"}, "dhcp-range", "outside the subnet 10.0.0.0/24"),
        ({"dhcp-range": "10.0.0.0-10.0.0.20"}, "dhcp-range", "network or broadcast address"),
        ({"dhcp-range": "10.0.0.200-10.0.0.255"}, "dhcp-range", "network or broadcast address"),
        ({"dhcp-range": "10.0.0.1-10.0.0.20"}, "dhcp-range", "contains the host address"),
        ({"lease": "12x"}, "lease", "expected seconds"),
        ({"lease": "1m"}, "lease", "at least 2 minutes"),
        ({"lease": "119"}, "lease", "at least 2 minutes"),
        ({"lease": "9999999999"}, "lease", "too long"),
        ({"dhcp-xen-only": "maybe"}, "dhcp-xen-only", "expected true or false"),
        ({"udp-checksum-workaround": 2}, "udp-checksum-workaround", "expected true or false"),
    ],
)
def test_each_rule_names_its_field(answers, field, reason):
    found = problems(answers)
    assert [p.field for p in found] == [field]
    assert reason in found[0].message


def test_all_problems_are_reported_at_once():
    found = problems({"bridge": "", "address": "nope", "lease": "0", "dhcp-range": "a-b"})
    assert sorted(p.field for p in found) == ["address", "bridge", "dhcp-range", "lease"]


def test_range_is_checked_against_the_new_address():
    config = build_config({"address": "172.16.0.1/16", "dhcp-range": "172.16.10.1-172.16.20.1"})
    assert config.network.prefixlen == 16
    assert validate(config) == []


@pytest.mark.parametrize(
    ("lease", "seconds"), [("120", 120), ("2m", 120), ("12h", 43200), ("1w", 604800)]
)
def test_lease_seconds(lease, seconds):
    assert lease_seconds(lease) == seconds
    assert lease_seconds("infinite") is None


answer_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.text(max_size=40),
    st.from_regex(r"[0-9./\-,a-z ]{0,40}", fullmatch=True),
    st.lists(st.text(max_size=3), max_size=2),
)
answer_keys = st.one_of(st.sampled_from(ANSWER_KEYS), st.text(min_size=1, max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(answer_keys, answer_values, max_size=8))
def test_random_answers_are_accepted_valid_or_rejected_with_field_names(answers):
    try:
        config = build_config(answers)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.field in answers or problem.field in ANSWER_KEYS
            assert problem.message
    else:
        assert validate(config) == []
