"""The seed procedure exactly: Ubuntu 12.04 Precise, Xen 4.1, xend with the xm toolstack."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from xenwizard.answers.checks import check_bridge
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import (
    EditError,
    ebconfine,
    grubdefault,
    guestnet,
    ifupdown,
    ifupdown_bridge,
    interfaces,
    rclocal,
    sxp,
    vifbridge,
)
from xenwizard.edits.guestnet import forwards
from xenwizard.planning import dom0size
from xenwizard.planning.plan import EditFile, Step
from xenwizard.planning.preflight import alias_lan_address_warning
from xenwizard.planning.profiles import guestaccess, xentools
from xenwizard.planning.profiles.base import (
    PlanError,
    Profile,
    dnsmasq_steps,
    edit_step,
    packages_step,
    require_file,
    symlink_step,
)
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

NO_GUEST_IPV6 = (
    "guest-ipv6: not on ubuntu-precise, where xend's network-bridge makes the bridge at boot and "
    "gives it no IPv6 address of ours; use --guest-ipv6 none (the guests get no IPv6)"
)
PACKAGES = ("xen-hypervisor-4.1-amd64", "xen-tools", "dnsmasq", "ethtool", "ebtables")
XEN_PACKAGES = ("xen-hypervisor-4.1-amd64",)  # pulls xen-utils-4.1 / xen-utils-common
SXP = "etc/xen/xend-config.sxp"
VIF_BRIDGE = "etc/xen/scripts/vif-bridge"
INTERFACES = "etc/network/interfaces"
RC_LOCAL = "etc/rc.local"
HOOK_BASE = "usr/lib/xen-tools"  # xen-tools up to 4.3 (Precise ships 4.2)
NO_GUARD = (
    "no boot guard on ubuntu-precise: it needs systemd, and 12.04 runs upstart, so nothing "
    "brings this host back by itself if Xen or the bridge fails at the reboot. Keep a console "
    "(IPMI, iLO, the VM console) at hand before rebooting; to boot the previous kernel, hold "
    "Shift while GRUB starts and choose the plain 'Ubuntu' entry (not '... with Xen'), then run "
    "`xenwizard rollback`"
)


# xend-config.sxp (Xen 4.1, ../shared/reference/xen-4.1): network-bridge takes the default
# route's NIC into the bridge unless a bridge exists already, which only /etc/network/interfaces
# can make at boot on precise (its interfaces file sources no interfaces.d).
ISOLATED_REFUSED = (
    "isolated: not on ubuntu-precise: xend's network-bridge bridges the NIC unless a bridge "
    "already exists, and on precise only /etc/network/interfaces (the host's own network file, "
    "which sources no interfaces.d) could make one at boot; use a current release for it"
)


class UbuntuPrecise(Profile):
    name = "ubuntu-precise"
    bridge_max_len = 13  # the alias BR:0 must fit Linux's 15 characters
    title = "Ubuntu 12.04 Precise with Xen 4.1 (xend, xm toolstack)"
    toolstack = "xm"
    udp_checksum_default = True
    udp_checksum_optional = True

    def matches(self, facts: SystemFacts) -> bool:
        return facts.os_id == "ubuntu" and (
            facts.version_id == "12.04" or facts.codename == "precise"
        )

    def warnings(self, config: WizardConfig, facts: SystemFacts) -> list[str]:
        current = facts.toolstack
        shown = "no TOOLSTACK line" if current is None else f"TOOLSTACK={current!r}"
        text = (
            f"toolstack: etc/default/xen has {shown}; xenwizard keeps xm and never switches it. "
            "Do not set TOOLSTACK=xl on this release: xl creates no bridge "
            f"({config.bridge} would vanish) and breaks domain autostart."
        )
        if current == "xl":
            text += " It is set to xl now: set it back to empty (xm) by hand before rebooting."
        lan = alias_lan_address_warning(config, facts)
        return [text, *([lan] if lan else []), NO_GUARD]

    def checksum_steps(self, config: WizardConfig, fs: RootFS, xen: tuple[str, ...]) -> list[Step]:
        """Seed step 7, on by default; switched off it only removes a line an earlier run added."""
        if config.udp_checksum_workaround is False:
            off = edit_step(
                "vif-bridge-checksum",
                "UDP checksum workaround off in vif-bridge",
                fs,
                VIF_BRIDGE,
                require_file("the Xen vif-bridge script", vifbridge.remove_ethtool_line),
                installing=xen,
            )
            return [off] if off.changed and not off.deferred else []
        return [
            edit_step(
                "vif-bridge-checksum",
                "UDP checksum workaround in vif-bridge",
                fs,
                VIF_BRIDGE,
                require_file("the Xen vif-bridge script", vifbridge.add_ethtool_line),
                installing=xen,
            )
        ]

    def steps(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> list[Step]:
        if config.isolated:
            raise PlanError(ISOLATED_REFUSED)
        too_long = check_bridge(config.bridge, self.bridge_max_len)
        if too_long:  # answers judged without this profile's target (build_config's default)
            raise PlanError(f"bridge {config.bridge}: {too_long}")
        if config.ipv6_prefix is not None:
            raise PlanError(NO_GUEST_IPV6)
        packages = packages_step("packages", PACKAGES, facts)
        xen = tuple(p for p in XEN_PACKAGES if p in packages.packages)
        bridge = config.bridge
        dom0_mib = dom0size.chosen_mib(config, facts)
        return [
            packages,
            symlink_step(
                "xen-tools-hooks",
                fs,
                HOOK_BASE,
                "precise.d",
                "karmic.d",
                "xen-tools hook dir for precise",
                package="xen-tools",
            ),
            *xentools.steps(config, fs, packages.packages, "precise", with_role=False),
            _with_note(
                edit_step(
                    "xend-bridge",
                    f"xend: bridged networking on {bridge}; dom0 is never ballooned",
                    fs,
                    SXP,
                    require_file(
                        "xend's configuration from the Xen 4.1 packages",
                        partial(sxp.set_bridge_scripts, bridge=bridge, dom0_mib=dom0_mib),
                    ),
                    installing=xen,
                ),
                dom0size.plan_note(config, facts),
            ),
            self.grub_step(dom0_mib, fs),
            *dnsmasq_steps(
                config,
                facts,
                fs,
                title=f"dnsmasq: DHCP on {config.bridge}",
                clear_conflicts=True,
                extra=guestnet.host_only_dnsmasq_lines() if not forwards(config) else "",
            ),
            self.confine_step(config, facts, fs),
            edit_step(
                "alias-interface",
                f"alias interface {config.alias} for dnsmasq",
                fs,
                INTERFACES,
                require_file(
                    "ifupdown's configuration", partial(interfaces.set_alias_stanza, config=config)
                ),
            ),
            self.rc_local_step(config, fs),
            *self.checksum_steps(config, fs, xen),
            *self.forward_steps(config, facts, fs),
        ]

    def grub_step(self, dom0_mib: int, fs: RootFS) -> EditFile:
        """dom0's memory fixed on Xen's command line, in /etc/default/grub itself: GRUB 1.99
        reads no /etc/default/grub.d (see edits/grubdefault.py); update-grub after it."""
        step = edit_step(
            "grub-xen",
            f"GRUB: dom0's {dom0_mib} MiB fixed on Xen's command line (update-grub after it)",
            fs,
            grubdefault.PATH,
            require_file(
                "GRUB's defaults (package grub-pc)",
                partial(grubdefault.set_xen_options, xen_options=dom0size.xen_options(dom0_mib)),
            ),
        )
        return replace(step, refresh="update-grub")

    def rc_local_step(self, config: WizardConfig, fs: RootFS) -> EditFile:
        """rc.local's block: the alias, the DHCP confinement and, for nat, the masquerade rule
        (iptables: Precise has no nftables)."""
        extra: tuple[str, ...] = ebconfine.RC_LOCAL_LINES
        title = f"bring {config.alias} up late in boot, and load the DHCP confinement"
        if config.guest_access == "nat":
            extra += (
                f"# Guests ({config.network}) reach other networks through this host's address.",
                guestnet.iptables_nat_line(config),
            )
        step = edit_step(
            "rc-local",
            title,
            fs,
            RC_LOCAL,
            partial(rclocal.add_ifup_line, alias=config.alias, extra=extra),
            mode=0o755,
            executable=True,
        )
        if config.guest_access == "nat":
            step = _with_note(step, guestnet.nat_notes(config)[0])
        return step

    def forward_steps(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> list[Step]:
        """IPv4 forwarding for nat and routed (procps reads /etc/sysctl.d at boot on upstart)."""
        if not forwards(config):
            return guestaccess.off_steps(config, fs, nat=False)  # its NAT lives in rc.local
        if config.guest_access == "nat":
            why = "nat: the host forwards the guests' traffic; rc.local masquerades it"
        else:
            why = guestaccess.route_note(config, facts, lan_nic(config, facts, fs)[0])
        return guestaccess.forward_steps(config, fs, why)

    def confine_step(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> EditFile:
        """The ebtables script that keeps DHCP on the bridge between the host and its guests."""
        nic, how = lan_nic(config, facts, fs)
        step = edit_step(
            "dhcp-confine",
            f"ebtables: DHCP confined on {config.bridge} "
            f"(the LAN's {ebconfine.lan_port(nic)} kept out)",
            fs,
            ebconfine.SCRIPT_PATH,
            partial(ebconfine.set_script, bridge=config.bridge, nic=nic),
            mode=0o755,
            executable=True,
        )
        return replace(step, notes=(*step.notes, *ebconfine.notes(config.bridge, nic), how))


def lan_nic(config: WizardConfig, facts: SystemFacts, fs: RootFS) -> tuple[str, str]:
    """(NIC, how it was found) that xend's network-bridge takes over: --nic, else the default
    route's (it is what network-bridge picks), else the one NIC etc/network/interfaces
    configures; several or none is refused, since the rules must name the right port."""
    if config.nic:
        return config.nic, f"{config.nic}: chosen with --nic"
    route = facts.default_route.interface if facts.default_route else None
    if route and route != config.bridge:
        return route, f"{route}: carries the default route, which network-bridge takes over"
    try:
        texts = ifupdown.load(fs)
    except EditError as exc:
        raise PlanError(f"{INTERFACES}: {exc}") from None
    joined = "".join(t if t.endswith("\n") or not t else t + "\n" for t in texts.values())
    names = list(
        dict.fromkeys(
            name
            for name, method, _ in ifupdown_bridge.configured_interfaces(joined)
            if name not in ("lo", config.bridge) and ":" not in name and method != "manual"
        )
    )
    if len(names) == 1:
        return names[0], f"{names[0]}: the one NIC with addresses in {INTERFACES}"
    found = ", ".join(names) or "none"
    raise PlanError(
        f"{INTERFACES}: cannot tell which NIC xend's network-bridge takes over (configured: "
        f"{found}); the DHCP confinement must name its port: choose it with --nic"
    )


def _with_note(step: EditFile, note: str) -> EditFile:
    return replace(step, notes=(*step.notes, note))
