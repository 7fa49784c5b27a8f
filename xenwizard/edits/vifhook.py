"""The UDP checksum workaround as a vif-post.d hook, for Xen >= 4.2 (current releases).

The seed edits /etc/xen/scripts/vif-bridge, a dpkg conffile: the next package upgrade would ask
the operator about it. Since Xen 4.2, vif-bridge ends with `call_hooks vif post`, which sources
every executable /etc/xen/scripts/vif-post.d/*.hook in its own shell (`set -e` is on there), for
attach and detach alike, with $command, $dev, $bridge and $type_if set. So the hook:
- acts only for `online` (a PV guest's vif) and `add` (an HVM guest's tap), never on detach;
- never fails: a failing ethtool would otherwise abort vif-bridge and with it the guest's start;
- never calls `exit` (it is sourced, not run).

When the workaround is switched off again, xenwizard's hook is replaced by one that does nothing
(so the change is an ordinary, reversible file edit), and says how to turn it back on.
"""

from __future__ import annotations

from xenwizard.edits import EditError, EditResult

HOOK_DIR = "etc/xen/scripts/vif-post.d"
HOOK_NAME = "xenwizard-udp-checksum.hook"
HOOK_PATH = f"{HOOK_DIR}/{HOOK_NAME}"
MODE = 0o755  # vif-bridge sources only executable hooks
MARKER = "# xenwizard: UDP checksum workaround"

_HEADER = f"""{MARKER}
# Sourced by Xen's vif-bridge (call_hooks vif post) after it plugged or unplugged a vif:
# $command is online (PV vif) or add (HVM tap) on attach, offline/remove on detach.
# Old DHCP clients (ISC dhclient before 4.3.2) drop replies whose UDP checksum the
# kernel left to the NIC; turning transmit checksum offload off on the guest's vif
# makes the host fill the checksum in. Written by xenwizard; `xenwizard rollback`
# removes it. This replaces the seed's edit of the vif-bridge conffile.
"""

_ACTIVE = """case "$command" in
    online|add)
        # Never let a failure here fail the vif (vif-bridge runs with set -e).
        if ! ethtool -K "$dev" tx off >/dev/null 2>&1; then
            if command -v log >/dev/null 2>&1; then
                log warning "xenwizard: ethtool -K $dev tx off failed"
            fi
        fi
        ;;
esac
"""

_DISABLED = """# Switched off by xenwizard (--no-udp-checksum-workaround): this hook does nothing.
# Turn it on again with `xenwizard apply --udp-checksum-workaround`.
:
"""


def render(enabled: bool) -> str:
    """The hook's whole text: active, or the do-nothing version."""
    return _HEADER + (_ACTIVE if enabled else _DISABLED)


def set_hook(text: str | None, enabled: bool) -> EditResult:
    """The hook as `enabled` asks; refuses to overwrite a file xenwizard did not write."""
    if text is not None and MARKER not in text:
        raise EditError(
            f"{HOOK_NAME} exists and was not written by xenwizard; expected xenwizard's hook "
            "there — move it aside"
        )
    after = render(enabled)
    if text == after:
        return EditResult(after, ("already as wanted",))
    if enabled:
        note = (
            "hook sourced by vif-bridge: `ethtool -K $dev tx off` when a vif comes online "
            "(PV) or is added (HVM); the vif-bridge conffile stays untouched"
        )
    else:
        note = "workaround switched off: xenwizard's hook now does nothing"
    return EditResult(after, (note,))
