"""Ubuntu 22.04 "jammy" and 24.04 "noble": Xen with xl, the bridge in netplan.

Ubuntu's installers configure the network with netplan (subiquity writes
/etc/netplan/00-installer-config.yaml, cloud-init /etc/netplan/50-cloud-init.yaml), so the bridge
is a netplan file of xenwizard's own. xen-tools lacks the release's hook dir on both (4.9.1 in
jammy has no jammy.d, 4.9.2 in noble no noble.d): the seed's step 2 in its modern form links it
to artful.d, which the other Ubuntu releases of the netplan era use.

Ubuntu runs systemd-resolved on 127.0.0.53:53, so dnsmasq's drop-in adds `bind-dynamic`: dnsmasq
then binds only the interfaces it serves and starts next to resolved instead of failing with
"address already in use".
"""

from __future__ import annotations

from xenwizard.planning.profiles.current import CurrentRelease

BIND_DYNAMIC = (
    "# Ubuntu runs systemd-resolved on 127.0.0.53:53: bind only the interfaces served here.\n"
    "bind-dynamic\n"
)


class _Ubuntu(CurrentRelease):
    os_id = "ubuntu"
    default_backend = "netplan"

    def dnsmasq_extra(self) -> str:
        return BIND_DYNAMIC

    def dnsmasq_extra_note(self) -> str:
        return "bind-dynamic: dnsmasq starts next to systemd-resolved (which holds port 53)"


class Ubuntu2204(_Ubuntu):
    name = "ubuntu-22.04"
    title = "Ubuntu 22.04 jammy, Xen 4.16 with the xl toolstack"
    version_id = "22.04"
    codename = "jammy"
    hook_link = ("jammy.d", "artful.d")


class Ubuntu2404(_Ubuntu):
    name = "ubuntu-24.04"
    title = "Ubuntu 24.04 noble, Xen 4.17 with the xl toolstack"
    version_id = "24.04"
    codename = "noble"
    hook_link = ("noble.d", "artful.d")
