"""What the real-Xen tests read off the VM's host state: the boot guard's files and GRUB's
environment, dom0's memory, dnsmasq's DHCP log."""

from __future__ import annotations

import re

XEN_ENTRY = "Debian GNU/Linux, with Xen hypervisor"
PLAIN_ENTRY = "Debian GNU/Linux"
GRUB_DROPIN = "/etc/default/grub.d/xenwizard.cfg"
GUARD_TIMER = "/etc/systemd/system/xenwizard-boot-guard.timer"
GUARD_LINK = "/etc/systemd/system/timers.target.wants/xenwizard-boot-guard.timer"


def dom0_mem_of(text: str) -> int:
    """The MiB of `dom0_mem=NM,max:NM` in the drop-in's text (the size the plan chose)."""
    match = re.search(r"dom0_mem=(\d+)M,max:(\d+)M", text)
    assert match and match.group(1) == match.group(2), f"no dom0_mem=NM,max:NM in:\n{text}"
    return int(match.group(1))


def assert_dom0_memory(xl_list: str, mib: int) -> None:
    """`xl list 0` shows dom0 with the chosen memory (Xen keeps a few MiB back)."""
    match = re.search(r"^Domain-0\s+0\s+(\d+)\s", xl_list, re.M)
    assert match, f"no Domain-0 line in `xl list 0`:\n{xl_list}"
    assert mib - 16 <= int(match.group(1)) <= mib, (
        f"dom0 has {match.group(1)} MiB, the plan chose {mib} MiB:\n{xl_list}"
    )


def dnsmasq_dhcp_log(expect: str) -> str:
    """A shell command printing dnsmasq's DHCP lines from the journal, once `expect` is among
    them or after 30 s: under load journald writes a guest's DHCPACK some seconds after the
    guest reported its lease (a Debian 13 run saw none yet)."""
    query = "journalctl -u dnsmasq --no-pager -o cat | grep -E 'DHCP(ACK|DISCOVER)'"
    return f"for i in $(seq 10); do {query} | grep -qF '{expect}' && break; sleep 3; done; {query}"
