"""Properties of every edit for random valid configurations (hypothesis).

For any config the validators accept: each edit is idempotent, converges when the bridge (and the
rest of the config) changes — applying config A then B gives exactly what B alone gives, so
there is one copy of the managed lines — leaves every unrelated line in place, and its output
passes the real checkers (bash -n / sh -n, dnsmasq --test, ifquery, the sxp reader).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xenwizard.answers.build import build_config
from xenwizard.answers.checks import check_bridge, check_lease
from xenwizard.answers.model import ConfigError, WizardConfig
from xenwizard.edits.dnsmasq import render_dropin, set_managed_block
from xenwizard.edits.interfaces import set_alias_stanza
from xenwizard.edits.rclocal import add_ifup_line
from xenwizard.edits.sxp import active_settings, set_bridge_scripts
from xenwizard.edits.vifbridge import add_ethtool_line

PRECISE_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "precise-root"
FILES = {
    "sxp": "etc/xen/xend-config.sxp",
    "dnsmasq": "etc/dnsmasq.conf",
    "interfaces": "etc/network/interfaces",
    "rclocal": "etc/rc.local",
    "vifbridge": "etc/xen/scripts/vif-bridge",
}
ORIGINAL = {name: (PRECISE_ROOT / path).read_text() for name, path in FILES.items()}

EDITS = {
    "sxp": lambda text, c: set_bridge_scripts(text, c.bridge),
    "dnsmasq": set_managed_block,
    "interfaces": set_alias_stanza,
    "rclocal": lambda text, c: add_ifup_line(text, c.alias),
    "vifbridge": lambda text, c: add_ethtool_line(text),
}

SUBPROCESS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PURE = settings(max_examples=150, deadline=None)

bridges = st.from_regex(r"[A-Za-z0-9_.\-]{1,13}", fullmatch=True).filter(
    lambda name: check_bridge(name) is None
)
leases = st.one_of(
    st.just("infinite"),
    st.builds(
        lambda n, unit: f"{n}{unit}", st.integers(0, 10**6), st.sampled_from(["", "s", "m", "h"])
    ).filter(lambda lease: check_lease(lease) is None),
)


@st.composite
def configs(draw) -> WizardConfig:
    prefix = draw(st.integers(8, 30))
    base = draw(st.integers(0, 2**32 - 1))
    net = ipaddress.IPv4Network((base, prefix), strict=False)
    last = net.num_addresses - 2  # highest usable offset
    host = draw(st.integers(1, last))
    low, high = (1, host - 1) if host > 1 and draw(st.booleans()) else (host + 1, last)
    if low > high:
        low, high = 1, host - 1
    start = draw(st.integers(low, high))
    end = draw(st.integers(start, min(high, start + 5000)))
    answers = {
        "bridge": draw(bridges),
        "address": f"{net.network_address + host}/{prefix}",
        "dhcp-range": f"{net.network_address + start}-{net.network_address + end}",
        "lease": draw(leases),
        "dhcp-xen-only": draw(st.booleans()),
    }
    try:
        return build_config(answers)
    except ConfigError:  # loopback / multicast addresses: rejected, fine
        assume(False)
        raise


def preserved(before: str, after: str) -> bool:
    """Every line of `before` is in `after`, in order, as it was or commented out with '# '."""
    out = iter(after.splitlines())
    for line in before.splitlines():
        if not any(candidate in (line, "# " + line) for candidate in out):
            return False
    return True


@PURE
@given(a=configs(), b=configs())
def test_idempotent_convergent_and_minimal(a, b):
    for name, edit in EDITS.items():
        original = ORIGINAL[name]
        once = edit(original, a).text
        assert edit(once, a).text == once, name
        assert edit(once, b).text == edit(original, b).text, name
        assert preserved(original, once), name


@PURE
@given(
    config=configs(),
    name=st.sampled_from(sorted(EDITS)),
    inserts=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=30),
        ),
        max_size=5,
    ),
    crlf=st.booleans(),
)
def test_unrelated_comments_survive_byte_identical(config, name, inserts, crlf):
    lines = ORIGINAL[name].splitlines()
    for where, comment in inserts:
        assume("xenwizard" not in comment)
        lines.insert(where % (len(lines) + 1), "#" + comment)
    eol = "\r\n" if crlf else "\n"
    text = eol.join(lines) + eol
    result = EDITS[name](text, config).text
    assert preserved(text, result)
    assert result.count("\r\n") == (result.count("\n") if crlf else 0)
    assert EDITS[name](result, config).text == result


@SUBPROCESS
@given(a=configs(), b=configs())
def test_outputs_pass_the_real_checkers(a, b, shell_ok, dnsmasq_ok, ifquery):
    for config in (a, b):
        dnsmasq_ok(render_dropin(config))
    both = lambda name: EDITS[name](EDITS[name](ORIGINAL[name], a).text, b).text  # noqa: E731

    sxp = both("sxp")
    assert active_settings(sxp) == {
        "network-script": [["network-script", f"network-bridge bridge={b.bridge}"]],
        "vif-script": [["vif-script", f"vif-bridge bridge={b.bridge}"]],
    }

    conf = both("dnsmasq")
    dnsmasq_ok(conf)
    assert len(re.findall(r"^interface=", conf, re.MULTILINE)) == 1

    interfaces = both("interfaces")
    done = ifquery(interfaces, b.alias)
    assert done.returncode == 0, done.stderr
    assert f"address: {b.host_ip}\nnetmask: {b.netmask}\nbroadcast: {b.broadcast}" in done.stdout
    assert ifquery(interfaces, "--list").stdout.split() == ["lo", "eth0"]
    if a.alias != b.alias:
        assert ifquery(interfaces, a.alias).returncode != 0  # the old alias is gone

    rclocal = both("rclocal")
    shell_ok(rclocal)
    assert re.findall(r"^ifup .*", rclocal, re.MULTILINE) == [
        f'ifup "{b.alias}" >/dev/null || true'
    ]

    shell_ok(both("vifbridge"))


@pytest.mark.parametrize("name", sorted(EDITS))
def test_seed_defaults_on_the_fixture_change_something(name):
    result = EDITS[name](ORIGINAL[name], WizardConfig())
    assert result.text != ORIGINAL[name]
    assert result.notes and all(isinstance(n, str) and n for n in result.notes)
