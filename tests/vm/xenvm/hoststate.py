"""What the real-Xen tests read off the VM's host state: the boot guard's files and GRUB's
environment, dom0's memory, and a manifest of /etc to compare before an apply and after its
rollback."""

from __future__ import annotations

import re

XEN_ENTRY = "Debian GNU/Linux, with Xen hypervisor"
PLAIN_ENTRY = "Debian GNU/Linux"
GRUB_DROPIN = "/etc/default/grub.d/xenwizard.cfg"
GUARD_TIMER = "/etc/systemd/system/xenwizard-boot-guard.timer"
GUARD_LINK = "/etc/systemd/system/timers.target.wants/xenwizard-boot-guard.timer"

# One line per entry under /etc: type, path, and the mode and content hash or link target.
ETC_MANIFEST = r"""python3 - <<'PY'
import hashlib, os, stat
for top, dirs, files in os.walk("/etc"):
    dirs.sort()
    for name in sorted(dirs + files):
        path = os.path.join(top, name)
        st = os.lstat(path)
        mode = oct(stat.S_IMODE(st.st_mode))
        if stat.S_ISLNK(st.st_mode):
            print("l", path, os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            print("d", path, mode)
        elif stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                print("f", path, mode, hashlib.sha256(f.read()).hexdigest()[:16])
        else:
            print("o", path, mode)
PY"""


# One SSH call: sections "@@name\n..." of what a rollback must leave as before the apply.
HOST_STATE = (
    "echo @@packages; dpkg-query -W -f='${Package}\\n' | sort; "
    "echo @@grub; cat /etc/default/grub; ls /etc/default/grub.d /boot/grub/grubenv 2>&1; "
    "grep -c 'Xen hypervisor' /boot/grub/grub.cfg; "
    "echo @@users; cut -d: -f1 /etc/passwd | sort; "
    f"echo @@etc; {ETC_MANIFEST}"
)


def host_state(text: str) -> dict[str, str]:
    """HOST_STATE's output by section name."""
    return dict(part.split("\n", 1) for part in text.split("@@")[1:])


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


def manifest_changes(before: str, after: str, expected: dict[str, str]) -> list[str]:
    """Lines of the /etc manifest that differ, less the paths in `expected` (path -> why the
    rollback cannot or must not undo that change)."""
    old, new = set(before.splitlines()), set(after.splitlines())
    changed = [f"- {line}" for line in sorted(old - new)] + [
        f"+ {line}" for line in sorted(new - old)
    ]
    return [line for line in changed if line.split()[2] not in expected]


def dnsmasq_dhcp_log(expect: str) -> str:
    """A shell command printing dnsmasq's DHCP lines from the journal, once `expect` is among
    them or after 30 s: under load journald writes a guest's DHCPACK some seconds after the
    guest reported its lease (a Debian 13 run saw none yet)."""
    query = "journalctl -u dnsmasq --no-pager -o cat | grep -E 'DHCP(ACK|DISCOVER)'"
    return f"for i in $(seq 10); do {query} | grep -qF '{expect}' && break; sleep 3; done; {query}"
