"""dnsmasq: the drop-in, the managed block in dnsmasq.conf, competing lines, conf-dir detection."""

from __future__ import annotations

import pytest

from xenwizard.answers.build import build_config
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError
from xenwizard.edits.dnsmasq import (
    disable_conflicts,
    reads_conf_dir,
    render_dropin,
    set_managed_block,
)

SEED = WizardConfig()  # br0, 10.0.0.1/24, 10.0.0.10-10.0.0.100, 12h, Xen MACs only
OTHER = build_config(
    {"bridge": "xenbr1", "address": "192.168.7.1/24", "dhcp-range": "192.168.7.20-192.168.7.30"}
)


@pytest.fixture(scope="module")
def conf(precise_root) -> str:
    return (precise_root / "etc/dnsmasq.conf").read_text()


@pytest.fixture(scope="module")
def default(precise_root) -> str:
    return (precise_root / "etc/default/dnsmasq").read_text()


def active(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_dropin_has_the_seed_settings_and_comments(dnsmasq_ok):
    text = render_dropin(SEED)
    assert active(text) == [
        "interface=br0",
        "dhcp-range=10.0.0.10,10.0.0.100,12h",
        "dhcp-mac=set:xen,00:16:3e:*:*:*",
        "dhcp-ignore=tag:!xen",
    ]
    assert text.startswith("# ") and text.endswith("\n")
    lines = text.splitlines()
    for setting in active(text):  # every setting has a comment right above it
        assert lines[lines.index(setting) - 1].startswith("#")
    dnsmasq_ok(text)


def test_dropin_without_the_xen_mac_filter(dnsmasq_ok):
    config = build_config({"dhcp-xen-only": False, "lease": "infinite"})
    text = render_dropin(config)
    assert active(text) == ["interface=br0", "dhcp-range=10.0.0.10,10.0.0.100,infinite"]
    dnsmasq_ok(text)


def test_block_in_fixture_conf(conf, dnsmasq_ok):
    result = set_managed_block(conf, SEED)
    assert result.text.startswith(conf)  # only appended
    assert active(result.text) == active(render_dropin(SEED))
    assert result.text.endswith("dhcp-ignore=tag:!xen\n# END xenwizard\n")
    dnsmasq_ok(result.text)
    again = set_managed_block(result.text, SEED)
    assert again.text == result.text
    assert again.notes[0].startswith("already set")


def test_block_rename_replaces_the_old_block(conf, dnsmasq_ok):
    first = set_managed_block(conf, SEED).text
    second = set_managed_block(first, OTHER)
    assert second.text == set_managed_block(conf, OTHER).text
    assert active(second.text)[:2] == [
        "interface=xenbr1",
        "dhcp-range=192.168.7.20,192.168.7.30,12h",
    ]
    assert second.text.count("# BEGIN xenwizard") == 1
    dnsmasq_ok(second.text)


def test_reference_confs(reference, dnsmasq_ok):
    for name in ("xen-4.1/dnsmasq.conf", "debian-12/dnsmasq.conf"):
        text = (reference / name).read_text()
        result = set_managed_block(text, SEED)
        assert result.text.startswith(text)
        dnsmasq_ok(result.text)


def test_competing_lines():
    text = (
        "interface=eth1\n"
        "interface=br0\n"
        "dhcp-range=10.0.0.150,10.0.0.200,1h\n"  # same subnet: disabled
        "dhcp-range=tag:lan,192.168.1.50,192.168.1.99,12h\n"  # other subnet: kept
        "dhcp-range=1234::2,1234::500,64,12h\n"  # IPv6: not ours
        "no-dhcp-interface=br0\n"
        "except-interface=eth2,br0\n"
        "no-dhcp-interface=eth1\n"
    )
    result = set_managed_block(text, SEED)
    head = result.text.split("\n\n# BEGIN xenwizard")[0]
    assert head == (
        "interface=eth1\n"
        "interface=br0\n"
        "# dhcp-range=10.0.0.150,10.0.0.200,1h\n"
        "dhcp-range=tag:lan,192.168.1.50,192.168.1.99,12h\n"
        "dhcp-range=1234::2,1234::500,64,12h\n"
        "# no-dhcp-interface=br0\n"
        "# except-interface=eth2,br0\n"
        "no-dhcp-interface=eth1"
    )
    notes = " ".join(result.notes)
    assert "also listens on eth1" in notes
    assert "second range in 10.0.0.0/24" in notes
    assert "another subnet; left as is" in notes
    assert "stop DHCP on br0" in notes
    assert set_managed_block(result.text, SEED).text == result.text


def test_disable_conflicts_leaves_the_block_alone():
    text = "dhcp-range=10.0.0.5,10.0.0.9\n# BEGIN xenwizard\ndhcp-range=10.0.0.10,10.0.0.100,12h\n"
    text += "# END xenwizard\n"
    result = disable_conflicts(text, SEED)
    assert result.text == "# " + text
    assert disable_conflicts("#interface=\n", SEED).notes == ("no competing DHCP settings",)


def test_crlf_and_missing_final_newline(conf):
    lf = set_managed_block(conf, SEED).text
    assert set_managed_block(conf.replace("\n", "\r\n"), SEED).text == lf.replace("\n", "\r\n")
    assert set_managed_block(conf.rstrip("\n"), SEED).text == lf.rstrip("\n")


def test_broken_block_is_an_error(conf):
    with pytest.raises(EditError, match="no '# END xenwizard'"):
        set_managed_block(conf + "# BEGIN xenwizard\ninterface=br0\n", SEED)


# --- does dnsmasq read /etc/dnsmasq.d? -----------------------------------------------------------


def test_reads_conf_dir_fixture(default, conf):
    assert reads_conf_dir(default, conf)
    assert not reads_conf_dir(None, conf)  # conf-dir is commented out in the example file
    assert not reads_conf_dir(None, None)


def test_reads_conf_dir_reference(reference):
    for release in ("xen-4.1", "debian-12"):
        default = (reference / release / "default-dnsmasq").read_text()
        conf = (reference / release / "dnsmasq.conf").read_text()
        assert reads_conf_dir(default, conf)
        assert not reads_conf_dir(None, conf)


@pytest.mark.parametrize(
    ("default", "conf", "expected"),
    [
        ("#CONFIG_DIR=/etc/dnsmasq.d,.dpkg-dist\n", None, False),
        ('CONFIG_DIR="/etc/dnsmasq.d/,.dpkg-dist"\n', None, True),
        ("export CONFIG_DIR=/etc/dnsmasq.d\n", None, True),
        ("CONFIG_DIR=/etc/dnsmasq.d\nCONFIG_DIR=\n", None, False),  # the last one wins
        ("CONFIG_DIR=/etc/dnsmasq.d,.conf\n", None, False),  # skips *.conf
        ("CONFIG_DIR=/etc/dnsmasq.d,*.cfg\n", None, False),  # reads only *.cfg
        ("CONFIG_DIR=/etc/dnsmasq.d,*.conf\n", None, True),
        ("CONFIG_DIR=/etc/other.d\n", None, False),
        ('DNSMASQ_OPTS="--conf-dir=/etc/dnsmasq.d"\n', None, True),
        ('DNSMASQ_OPTS="-7 /etc/dnsmasq.d,.bak"\n', None, True),
        (None, "conf-dir=/etc/dnsmasq.d\n", True),
        (None, "conf-dir=/etc/dnsmasq.d/,*.conf\n", True),
        (None, "conf-dir=/etc/dnsmasq.d,.bak\r\n", True),
        (None, "#conf-dir=/etc/dnsmasq.d\n", False),
        (None, "conf-dir=/etc/dnsmasq.d/,*.foo\n", False),
    ],
)
def test_reads_conf_dir_shapes(default, conf, expected):
    assert reads_conf_dir(default, conf) is expected
