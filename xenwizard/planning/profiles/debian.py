"""Debian 12 "bookworm" and Debian 13 "trixie": Xen with xl, the bridge in ifupdown.

Debian's installer configures the network with ifupdown (/etc/network/interfaces), so that is
where the bridge goes; a Debian cloud image configured by netplan gets a netplan file instead
(see current.py). xen-tools 4.9.2 in bookworm already ships `bookworm.d` (and `trixie.d`), so no
hook-dir link is needed; Debian 13 has no xen-tools package at all.
"""

from __future__ import annotations

from xenwizard.planning.profiles.current import CurrentRelease


class Debian12(CurrentRelease):
    name = "debian-12"
    title = "Debian 12 bookworm, Xen 4.17 with the xl toolstack"
    os_id = "debian"
    version_id = "12"
    codename = "bookworm"
    default_backend = "ifupdown"
    hook_shipped_note = (
        "xen-tools 4.9.2 ships usr/share/xen-tools/bookworm.d (-> debian.d): no hook-dir link "
        "needed"
    )


class Debian13(CurrentRelease):
    name = "debian-13"
    title = "Debian 13 trixie, Xen 4.20 with the xl toolstack (no xen-tools)"
    os_id = "debian"
    version_id = "13"
    codename = "trixie"
    default_backend = "ifupdown"
    has_xen_tools = False
    no_xen_tools_reason = (
        "Debian 13 has no xen-tools package, so no xen-create-image: make a guest with an xl "
        "config file (xl.cfg(5): name, memory, disk, bootloader = \"pygrub\" and vif = [ '' ], "
        "which joins the bridge through xl.conf's vif.default.bridge) and `xl create FILE`"
    )
