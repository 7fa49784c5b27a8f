"""xenwizard's xen-tools role: the guest's network comes up whatever its NIC is called.

xen-tools' 40-setup-networking hooks write the guest's network configuration for `eth0`
(ifupdown's /etc/network/interfaces for Debian guests, netplan's 01-netcfg.yaml for Ubuntu
guests). Since systemd 250 a guest's udev names a Xen PV NIC `enX0` instead, and the guest boots
without a network; a guest with `net.ifnames=0`, or an older udev, still calls it `eth0`
(xen-tools issue #65, open: https://github.com/xen-tools/xen-tools/issues/65). The hooks are
package files; xen-tools' own way to adjust a guest is a role script in
/etc/xen-tools/role.d, which xen-create-image runs after the hooks with the guest's root as
its first argument (`role = NAME` in xen-tools.conf, comma-separated, or `--role`).

This role names the NIC both ways, so whichever name the guest's kernel and udev give it is
configured:
- ifupdown: `auto eth0` becomes `allow-hotplug eth0` (what Debian's installer writes: a NIC
  that never appears fails nothing at boot, and ifupdown-wait-online waits for any one of the
  hotplug interfaces), and the eth0 stanza is repeated as `allow-hotplug enX0` / `iface enX0`;
- netplan: the `eth0` entry gets `match: name: "e[tn][hX]0"`, a glob for both names (two
  entries would declare the static guest's default route twice, which netplan reports).

Alias stanzas (`eth0:1`, static guests with several addresses) stay as the hook wrote them.
A guest configuration that already names enX0 is left alone, so running the role twice
changes nothing.
"""

from __future__ import annotations

from xenwizard.edits import EditError, EditResult

ROLE_DIR = "etc/xen-tools/role.d"
ROLE_NAME = "xenwizard-net"
ROLE_PATH = f"{ROLE_DIR}/{ROLE_NAME}"
MODE = 0o755  # xen-create-image runs a role only when it is executable (-x)
MARKER = "# xenwizard: guest network whatever the NIC's name"
HOOK_NAME = "eth0"  # the name xen-tools' networking hooks write
XEN_NAME = "enX0"  # udev's name (systemd >= 250) for the first Xen netfront NIC
NETPLAN_GLOB = "e[tn][hX]0"  # netplan's `match: name` glob: eth0 and enX0

_SCRIPT = r"""#!/bin/sh
{marker}
# A xen-tools role script: xen-create-image runs it after its hooks with the new
# guest's root as $1 (`role = {role}` in /etc/xen-tools/xen-tools.conf).
# xen-tools' networking hook names the guest's NIC {old}; since systemd 250 the guest's
# udev calls a Xen PV NIC {new} (xen-tools issue #65). This role configures the NIC
# under both names, so it comes up either way.
# Written by xenwizard; `xenwizard rollback` removes it.
set -eu

prefix=${{1:?usage: {role} GUEST-ROOT}}
old={old}
new={new}

# rename(): the word $old (not $old:1) replaced by $new, for the copied ifupdown stanza.
rename='
function rename(s,    out, i, before, after) {{
    out = ""
    while ((i = index(s, old)) > 0) {{
        before = i > 1 ? substr(s, i - 1, 1) : ""
        after = substr(s, i + length(old), 1)
        if (before !~ /[A-Za-z0-9_.-]/ && after !~ /[A-Za-z0-9_.:-]/)
            out = out substr(s, 1, i - 1) new
        else
            out = out substr(s, 1, i - 1 + length(old))
        s = substr(s, i + length(old))
    }}
    return out s
}}'

interfaces="$prefix/etc/network/interfaces"
if [ -f "$interfaces" ] && grep -q "^iface $old[[:space:]]" "$interfaces"; then
    if grep -q "^iface $new[[:space:]]" "$interfaces"; then
        echo "{role}: $interfaces already configures $new"
    else
        awk -v old="$old" -v new="$new" "$rename"'
        /^(auto|allow-[a-z]+|iface|mapping|source|source-directory|rename)([ \t]|$)/ {{
            copying = ($1 == "iface" && $2 == old)
        }}
        copying && $0 !~ /^[ \t]*(#|$)/ {{ copy[++n] = $0 }}
        $0 == "auto " old {{ print "allow-hotplug " old; next }}
        {{ print }}
        END {{
            print ""
            print "# xenwizard: the same NIC when the guest names it " new " (systemd >= 250)"
            print "allow-hotplug " new
            for (i = 1; i <= n; i++) print rename(copy[i])
        }}' "$interfaces" >"$interfaces.xenwizard"
        cat "$interfaces.xenwizard" >"$interfaces"
        rm -f "$interfaces.xenwizard"
        echo "{role}: $interfaces configures the NIC as $old or $new"
    fi
fi

netplan="$prefix/etc/netplan/01-netcfg.yaml"
if [ -f "$netplan" ] && grep -q "^    $old:[[:space:]]*$" "$netplan"; then
    if grep -q "^      match:" "$netplan"; then
        echo "{role}: $netplan already matches its NIC by name"
    else
        awk -v old="$old" -v glob="{glob}" '
        {{ print }}
        $0 ~ "^    " old ":[ \t]*$" {{
            print "      # xenwizard: " old ", or the name systemd >= 250 gives a Xen NIC"
            print "      match:"
            print "        name: \"" glob "\""
        }}' "$netplan" >"$netplan.xenwizard"
        cat "$netplan.xenwizard" >"$netplan"
        rm -f "$netplan.xenwizard"
        echo "{role}: $netplan configures the NIC named $old or $new"
    fi
fi
"""


def render() -> str:
    """The role script's whole text."""
    return _SCRIPT.format(
        marker=MARKER, role=ROLE_NAME, old=HOOK_NAME, new=XEN_NAME, glob=NETPLAN_GLOB
    )


def set_role(text: str | None) -> EditResult:
    """The role script; refuses to overwrite a file of the same name xenwizard did not write."""
    if text is not None and MARKER not in text:
        raise EditError(
            f"{ROLE_NAME} exists and was not written by xenwizard; expected xenwizard's role "
            "script there — move it aside"
        )
    after = render()
    if text == after:
        return EditResult(after, ("already as wanted",))
    return EditResult(
        after,
        (
            f"role script run by xen-create-image after its hooks: the guest's NIC is "
            f"configured as {HOOK_NAME} and as {XEN_NAME} (systemd >= 250 names a Xen PV NIC "
            "so; xen-tools issue #65), so guests come up whatever the NIC is called",
        ),
    )
