"""What Debian 12/13 and Ubuntu 22.04/24.04 share: xl, a bridge in the distribution's network
configuration, xl.conf's default bridge, a dnsmasq drop-in and a vif-post.d hook.

The release profiles (debian.py, ubuntu.py) only say which packages exist there, which xen-tools
hook dir is missing, and which network stack is the release's default. The network stack
actually used is read from the target: ifupdown when /etc/network/interfaces configures a NIC,
netplan when /etc/netplan does (Debian cloud images use netplan; Ubuntu uses netplan).

The network step is checked with the real tool before anything is applied (`ifup --no-act`,
`netplan generate` into a scratch root) and a plan that fails is refused; it is never activated
on the running system — Xen needs a reboot anyway.

This module keeps the profile class and the order of the plan's steps; the steps themselves live
by job: `nics` (which NIC may be the bridge's port), `bridged` (the bridge in ifupdown or
netplan), `confine` (the DHCP confinement rules) and `dhcp` (dnsmasq's drop-in and the UDP
checksum hook).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import ifupdown, ifupdown_isolated, netplan, xlconf
from xenwizard.planning import dom0size
from xenwizard.planning.plan import BootNext, InstallPackages, Step
from xenwizard.planning.profiles import (
    bridged,
    confine,
    dhcp,
    guestaccess,
    isolated,
    nics,
    xentools,
)
from xenwizard.planning.profiles.base import (
    PlanError,
    Profile,
    edit_step,
    packages_step,
    symlink_step,
    with_notes,
)
from xenwizard.planning.profiles.bootsteps import boot_next, boot_steps
from xenwizard.target.netlayout import NetLayout, NicChoice, primary_nic
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

INTERFACES = ifupdown.INTERFACES
XL_CONF = "etc/xen/xl.conf"
AUTH_WARNING = (
    "{nic} authenticates to its switch with 802.1X; the authentication stays on {nic}, the "
    "port of {bridge}, but a switch port that admits only the authenticated MAC drops the "
    "guests' frames: the guests may reach only this host"
)
XL_CONF_PACKAGE = "xen-utils-common"  # ships xl.conf; xen-system-amd64 brings it
AUTOBALLOON = (
    'autoballoon="off" explicitly: xl\'s default "auto" is off only while dom0_mem is on Xen\'s '
    "command line; written out, ballooning stays off whatever entry boots"
)
HOOK_BASE = "usr/share/xen-tools"  # xen-tools >= 4.4
XEN_METAPACKAGE = "xen-system-amd64"

STATIC_BUSYBOX = "busybox-static"
DYNAMIC_BUSYBOX = "busybox"  # conflicts with busybox-static
BUSYBOX_NOTE = (
    "busybox-static: `xenwizard verify --guest` boots a canary guest from an initramfs made "
    "of its static /bin/busybox, to prove a guest on the bridge gets a lease"
)
BUSYBOX_KEPT_NOTE = (
    "busybox-static not installed: it would replace the installed busybox, which a rollback "
    "does not put back; `xenwizard verify --guest` needs it (its canary guest's initramfs is "
    "made of the static /bin/busybox): install it by hand to use that"
)

TOOLSTACK_NOTE = (
    "xl is the only toolstack on this release: xend, xm and xend-config.sxp are gone and "
    "/etc/default/xen has no TOOLSTACK line, so there is nothing to choose or keep. xl never "
    "creates a bridge: what xend's network-script did is now the bridge step, which defines "
    "the bridge in the system's network configuration (ifupdown or netplan) so it exists from "
    "boot on, and xl.conf's vif.default.bridge puts the guests' vifs on it."
)


NO_ISOLATED_IPV6 = (
    "guest-ipv6: not with an isolated bridge yet (its own bridge file takes no IPv6 address); "
    "use --guest-ipv6 none, or the bridged shape"
)


class CurrentRelease(Profile):
    """Base of the current-release profiles; subclasses set the class attributes."""

    toolstack = "xl"
    udp_checksum_default = False  # current DHCP clients handle checksum offload
    toolstack_note = TOOLSTACK_NOTE
    asks_nic = True
    udp_checksum_optional = True
    guest_ipv6 = True
    needs_grub = True
    os_id: str
    version_id: str
    codename: str
    default_backend: str  # "ifupdown" or "netplan": the release's installer default
    has_xen_tools = True
    no_xen_tools_reason = ""
    hook_link: tuple[str, str] | None = None  # (missing dir, target) in usr/share/xen-tools
    hook_shipped_note = ""  # when the package already has the release's hook dir

    def matches(self, facts: SystemFacts) -> bool:
        return facts.os_id == self.os_id and (
            facts.version_id == self.version_id
            or (not facts.version_id and facts.codename == self.codename)
        )

    # --- what the screens ask ----------------------------------------------------------------

    def layout(self, fs: RootFS) -> NetLayout:
        """The target's network configuration, read once (netlayout)."""
        return NetLayout.read(fs, self.default_backend)

    def network_backend(self, facts: SystemFacts, fs: RootFS) -> str:
        """ifupdown or netplan: the stack that configures the target's NICs (netlayout)."""
        return self.layout(fs).backend

    def primary_nic(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> NicChoice:
        """--nic, else the default-route NIC (live), else the one configured physical NIC."""
        return primary_nic(config, facts, self.layout(fs))

    def nic_problem(self, name: str, facts: SystemFacts, fs: RootFS) -> str | None:
        """Why `name` cannot be the bridged NIC (None when it can): it must be a configured,
        physical, non-wireless interface of the target."""
        return nics.nic_problem(name, facts, partial(self.layout, fs))

    def ssh_warning(self, config: WizardConfig, facts: SystemFacts, nic: str | None) -> str | None:
        """Plain words when the operator's SSH session runs through the NIC being bridged."""
        if not facts.live or not facts.over_ssh:
            return None
        parts = (facts.ssh_connection or "").split()
        server = parts[2] if len(parts) >= 3 else ""
        holder = next(
            (i.name for i in facts.interfaces for a in i.addresses if str(a.ip) == server),
            None,
        )
        if holder is not None and holder not in (nic, config.bridge):
            return None
        via = f"through {holder} ({server})" if holder else f"to {server or 'this host'}"
        return (
            f"You are connected over SSH {via}, and this plan moves {nic}'s addresses onto "
            f"the bridge {config.bridge}. Nothing changes on the running network now: xenwizard "
            "never activates the new configuration live; it takes effect at the reboot Xen "
            "needs anyway. If it does not come up then, SSH cannot reach this host: keep a "
            "console (IPMI, iLO, the VM console) at hand before rebooting."
        )

    # --- the plan ----------------------------------------------------------------------------

    def packages(
        self, backend: str, facts: SystemFacts, port_package: str | None = None
    ) -> tuple[str, ...]:
        """The packages the plan needs; `port_package` is the one ifupdown needs to raise the
        bridge's port (a bond's ifenslave, a named VLAN's vlan: `nics.port_package`)."""
        wanted = [XEN_METAPACKAGE]
        if self.has_xen_tools:
            wanted.append("xen-tools")
        wanted += ["dnsmasq", "ethtool", "nftables"]  # nft: the DHCP confinement's rules
        if backend == "ifupdown":
            wanted.append("bridge-utils")  # ifupdown's bridge_ports come from bridge-utils
            if port_package is not None:
                wanted.append(port_package)
        if DYNAMIC_BUSYBOX not in facts.installed_packages:
            wanted.append(STATIC_BUSYBOX)  # the canary guest's initramfs (verify --guest)
        return tuple(wanted)

    def busybox_note(self, facts: SystemFacts) -> str:
        """Why busybox-static is (or is not) in the package step."""
        if DYNAMIC_BUSYBOX in facts.installed_packages:
            return BUSYBOX_KEPT_NOTE
        return BUSYBOX_NOTE

    def plan_reason(
        self, reason: str, facts: SystemFacts, fs: RootFS, config: WizardConfig | None = None
    ) -> str:
        backend = self.network_backend(facts, fs)
        if config is not None and config.isolated:
            where = ifupdown_isolated.PATH if backend == "ifupdown" else netplan.OWN_PATH
            return f"{reason}; xl toolstack, an isolated bridge (no NIC) in {backend} ({where})"
        where = INTERFACES if backend == "ifupdown" else f"{netplan.NETPLAN_DIR}/"
        return f"{reason}; xl toolstack, the bridge goes into {backend} ({where})"

    def steps(self, config: WizardConfig, facts: SystemFacts, fs: RootFS) -> list[Step]:
        return self.plan_steps(config, facts, fs, [])

    def plan_steps(
        self, config: WizardConfig, facts: SystemFacts, fs: RootFS, warnings: list[str]
    ) -> list[Step]:
        if config.isolated and config.ipv6_prefix is not None:
            raise PlanError(NO_ISOLATED_IPV6)
        layout = self.layout(fs)
        choice = primary_nic(config, facts, layout)
        nic: str | None = choice.name
        if config.isolated:  # no NIC on the bridge: the LAN's NIC only names the route hint
            backend = layout.backend
        elif choice.error or nic is None:
            raise PlanError(choice.error or "no primary NIC found; choose one with --nic")
        else:
            backend = choice.backend
            ssh = self.ssh_warning(config, facts, nic)
            if ssh:
                warnings.append(ssh)
            if layout.authenticated(nic):
                warnings.append(AUTH_WARNING.format(nic=nic, bridge=config.bridge))

        # the isolated bridge has no port: the host's own uplink stays configured as it was
        port = None if config.isolated else nic
        kind = layout.kind(port) if port is not None else "nic"
        needed = nics.port_package(backend, kind, port) if port is not None else None
        packages = packages_step("packages", self.packages(backend, facts, needed), facts)
        notes = [*packages.notes, self.busybox_note(facts)]
        if needed is not None:
            notes.append(
                nics.PORT_PACKAGE_NOTE.format(package=needed, nic=nic, kind=nics.PORT_WORDS[kind])
            )
        if not self.has_xen_tools:
            notes.append(f"xen-tools skipped: {self.no_xen_tools_reason}")
        steps: list[Step] = []
        installing_xen = tuple(p for p in (XEN_METAPACKAGE,) if p in packages.packages)
        hook = self._hook_step(facts, fs, notes)
        steps.append(with_notes(packages, notes))
        if hook is not None:
            steps.append(hook)

        if config.isolated:
            steps += isolated.steps(config, fs, layout, warnings)
        elif backend == "ifupdown":
            steps += bridged.ifupdown_steps(config, fs, layout, choice, warnings)
            steps += isolated.retire_steps(fs, config.bridge)
        else:
            steps += bridged.netplan_steps(config, fs, layout, choice, warnings)

        xl_conf = edit_step(
            "xl-default-bridge",
            f"xl: guests' vifs join {config.bridge} by default; dom0 is never ballooned",
            fs,
            XL_CONF,
            partial(xlconf.set_defaults, bridge=config.bridge),
            installing=installing_xen,
            shipped_by=(XL_CONF_PACKAGE,),
        )
        steps.append(
            with_notes(xl_conf, [*xl_conf.notes, dom0size.plan_note(config, facts), AUTOBALLOON])
        )
        if self.has_xen_tools:
            steps += xentools.steps(
                config,
                fs,
                packages.packages,
                self.codename,
                with_role=True,
                memory=xentools.CURRENT_GUEST_MEMORY,
            )
        udp_note = dhcp.udp_state(config, self.udp_enabled(config))
        extra, extra_note = self.dnsmasq_extra(), self.dnsmasq_extra_note()
        steps.append(dhcp.dnsmasq_step(config, facts, fs, extra, extra_note, udp_note))
        if not config.isolated:
            steps += confine.confine_steps(config, facts, fs, layout, choice)
        else:  # no LAN port to keep DHCP off: an earlier bridged run's rules go
            steps += confine.confine_off_steps(config, fs)
        steps += guestaccess.steps(config, facts, fs, nic)
        steps += guestaccess.ipv6_steps(config, fs)
        udp = dhcp.udp_step(config, fs, self.udp_enabled(config))
        if udp is not None:
            steps.append(udp)
        others_change = any(step.changed for step in steps)
        boot = boot_steps(config, facts, fs, _xen_options(config, facts), others_change)
        if boot and packages.packages:
            # Xen's postrm runs update-grub while its xen.cfg (a conffile, purged after) still
            # names the Xen entry the default: the undo's purge is followed by update-grub
            first = steps[0]
            assert isinstance(first, InstallPackages)  # the package step, with its notes
            steps[0] = replace(first, refresh="update-grub")
        return steps + boot

    def boot_next(
        self, config: WizardConfig, facts: SystemFacts, fs: RootFS, steps: Sequence[Step]
    ) -> BootNext:
        return boot_next(config, facts, fs, steps)

    def _hook_step(self, facts: SystemFacts, fs: RootFS, notes: list[str]) -> Step | None:
        if not self.has_xen_tools:
            notes.append("xen-tools hook dir step skipped: no xen-tools on this release")
            return None
        installed = "xen-tools" in facts.installed_packages
        if self.hook_link is None:
            if installed and not fs.exists(f"{HOOK_BASE}/{self.codename}.d"):
                return symlink_step(
                    "xen-tools-hooks",
                    fs,
                    HOOK_BASE,
                    f"{self.codename}.d",
                    "debian.d",
                    f"xen-tools hook dir for {self.codename}",
                    package="xen-tools",
                )
            notes.append(self.hook_shipped_note)
            return None
        name, target = self.hook_link
        return symlink_step(
            "xen-tools-hooks",
            fs,
            HOOK_BASE,
            name,
            target,
            f"xen-tools hook dir for {self.codename}",
            package="xen-tools",
        )

    def dnsmasq_extra(self) -> str:
        """Release-specific lines appended to the drop-in (none by default)."""
        return ""

    def dnsmasq_extra_note(self) -> str:
        return ""

    def udp_enabled(self, config: WizardConfig) -> bool:
        if config.udp_checksum_workaround is None:
            return self.udp_checksum_default
        return config.udp_checksum_workaround


# --- helpers ---------------------------------------------------------------------------------


def _xen_options(config: WizardConfig, facts: SystemFacts) -> tuple[str, ...]:
    """Xen's command-line options for xenwizard's GRUB drop-in: dom0's fixed memory."""
    return dom0size.xen_options(dom0size.chosen_mib(config, facts))
