"""ubuntu-precise's DHCP confinement script: valid shell, the port network-bridge makes of the
NIC, names checked before they reach the script, a foreign file never overwritten. (What the rules
do to real DHCP traffic: tests/system/test_netns_dhcp_confine_precise.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from xenwizard.edits import EditError, ebconfine, rclocal


def test_the_script_is_valid_shell_and_names_the_renamed_port(tmp_path: Path) -> None:
    text = ebconfine.render_script("br0", "eth0")
    script = tmp_path / "dhcp-confine.sh"
    script.write_text(text)
    for shell in ("sh", "bash"):
        done = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert text.count(" -j DROP") == 13  # DHCPv4 3, router solicitations/advertisements 6, DHCPv6 4
    assert "for base in FORWARD INPUT OUTPUT; do" in text
    assert "-o peth0 " in text and "-i peth0 " in text and "eth0 " not in text.replace("peth0", "")
    assert ebconfine.set_script(text, "br0", "eth0").notes == ("already as wanted",)


@pytest.mark.parametrize(
    ("bridge", "nic", "why"),
    [
        ("br0", "eth0; reboot", "NIC name"),
        ("br0", "abcdefghijklmno", "bridge port"),  # 15 characters: p + it has 16
        ("br 0", "eth0", "bridge name"),
    ],
)
def test_names_are_checked_before_they_reach_the_script(bridge: str, nic: str, why: str) -> None:
    with pytest.raises(EditError, match=why):
        ebconfine.render_script(bridge, nic)


def test_a_file_xenwizard_did_not_write_is_refused() -> None:
    with pytest.raises(EditError, match="was not written by xenwizard"):
        ebconfine.set_script("#!/bin/sh\nebtables -F\n", "br0", "eth0")


def test_rc_local_runs_the_script_inside_xenwizard_s_block() -> None:
    text = "#!/bin/sh -e\n\nexit 0\n"
    after = rclocal.add_ifup_line(text, "br0:0", ebconfine.RC_LOCAL_LINES).text
    block = after[after.index("# BEGIN xenwizard") : after.index("# END xenwizard")]
    assert 'ifup "br0:0" >/dev/null || true' in block
    assert "/etc/xenwizard/dhcp-confine.sh || true" in block
    assert after.index("# END xenwizard") < after.index("exit 0")
    again = rclocal.add_ifup_line(after, "br0:0", ebconfine.RC_LOCAL_LINES)
    assert again.text == after
