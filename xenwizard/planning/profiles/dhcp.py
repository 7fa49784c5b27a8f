"""The guests' DHCP on the current releases: dnsmasq's drop-in and the UDP checksum hook."""

from __future__ import annotations

from functools import partial

from xenwizard.answers.model import XEN_MAC_PREFIX, WizardConfig
from xenwizard.edits import guestnet, vifhook
from xenwizard.planning.plan import Step
from xenwizard.planning.profiles.base import dnsmasq_steps, edit_step, with_notes
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

RESOLVED = "systemd-resolved"
RESOLVED_BIND_DYNAMIC = (
    "# systemd-resolved holds 127.0.0.53:53: bind only the interfaces served here.\nbind-dynamic\n"
)
RESOLVED_NOTE = (
    "bind-dynamic: systemd-resolved is installed and holds 127.0.0.53:53, where dnsmasq's "
    'wildcard bind fails ("address already in use"); dnsmasq binds only the interfaces it '
    "serves and starts next to it"
)


def dnsmasq_step(
    config: WizardConfig,
    facts: SystemFacts,
    fs: RootFS,
    extra: str,
    extra_note: str,
    udp_note: str,
) -> Step:
    """xenwizard's drop-in when dnsmasq reads etc/dnsmasq.d (the packages' default); the
    guests' subnet is an address on the bridge itself, not the seed's alias. `extra` and
    `extra_note` are the release's lines for it (the profile's dnsmasq_extra); `udp_note` is
    the line `udp_state` gives."""
    if not extra and RESOLVED in facts.installed_packages:  # Debian's cloud images have it
        extra, extra_note = RESOLVED_BIND_DYNAMIC, RESOLVED_NOTE
    notes = [extra_note] if extra else []
    if config.guest_access == "host-only":
        extra += guestnet.host_only_dnsmasq_lines()
        notes.append("host-only: the leases carry no router, so guests reach only this host")
    else:
        notes.append(f"{config.guest_access}: the leases name {config.host_ip} as the router")
    if config.isolated:
        notes.append(
            f"isolated: {config.bridge} has no NIC, so no DHCP server of the LAN can reach "
            f"the guests and dnsmasq answers only on {config.bridge} (dhcp-xen-only, "
            f"{XEN_MAC_PREFIX}:*, is a second guard)"
        )
    else:
        notes.append(
            "the guests share the NIC's LAN through the bridge; the DHCP confinement rules "
            "(next step) keep DHCP between this host and its guests, so a DHCP server on "
            f"that LAN cannot answer them (dhcp-xen-only, {XEN_MAC_PREFIX}:*, is a second "
            "guard)"
        )
    notes.append(udp_note)
    (step,) = dnsmasq_steps(
        config,
        facts,
        fs,
        title=f"dnsmasq: DHCP for the guests on {config.bridge}",
        alias_note=False,
        extra=extra,
        notes=notes,
    )
    return step


def udp_step(config: WizardConfig, fs: RootFS, enabled: bool) -> Step | None:
    """The vif-post.d hook of the UDP checksum workaround, written (`enabled`: the profile's
    udp_enabled) or turned off; none when it is off and was never written."""
    exists = fs.exists(vifhook.HOOK_PATH)
    if not enabled and not exists:
        return None
    origin = (
        "profile default"
        if config.udp_checksum_workaround is None
        else "--udp-checksum-workaround"
        if enabled
        else "--no-udp-checksum-workaround"
    )
    title = "UDP checksum workaround: vif-post.d hook" + ("" if enabled else " (off)")
    step = edit_step(
        "udp-checksum-hook",
        title,
        fs,
        vifhook.HOOK_PATH,
        partial(vifhook.set_hook, enabled=enabled),
        mode=vifhook.MODE,
    )
    return with_notes(step, [f"{'on' if enabled else 'off'} ({origin})", *step.notes])


def udp_state(config: WizardConfig, enabled: bool) -> str:
    """One line on the UDP checksum workaround for the DHCP step's notes."""
    if config.udp_checksum_workaround is None:
        origin = "the default on this release"
    else:
        origin = (
            "--udp-checksum-workaround"
            if config.udp_checksum_workaround
            else ("--no-udp-checksum-workaround")
        )
    if enabled:
        return f"UDP checksum workaround: on ({origin}); see the vif-post.d hook step"
    return (
        f"UDP checksum workaround: off ({origin}; current DHCP clients do not need it); "
        "--udp-checksum-workaround adds a vif-post.d hook for old guests"
    )
