"""The xen-tools steps: guests made by `xen-create-image` join the bridge and get a lease.

The seed installs xen-tools so that `xen-create-image` makes guests, but its shipped
xen-tools.conf names no bridge, no DHCP and no storage. These steps give it xenwizard's block
(edits/xentoolsconf) and, on releases whose guests may name their NIC enX0, the role script
that configures the NIC under both names (edits/xentoolsrole).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import xentoolsconf, xentoolsrole
from xenwizard.planning.plan import Step
from xenwizard.planning.profiles.base import edit_step
from xenwizard.target.rootfs import RootFS

# Guests of the current releases deadlock unpacking their initramfs in xen-tools' 256M
# (edits/xentoolsconf); Ubuntu 12.04's guests boot in it, as the seed made them.
CURRENT_GUEST_MEMORY = "512M"
STATIC_NOTE = (
    "a guest with a fixed address: xen-create-image --nodhcp --ip=ADDRESS (dhcp = 1 with --ip "
    'alone is refused: "Please choose either DHCP or static usage, not both!")'
)


def steps(
    config: WizardConfig,
    fs: RootFS,
    installing: tuple[str, ...],
    dist: str,
    *,
    with_role: bool,
    memory: str | None = None,
) -> list[Step]:
    """The role script (with_role) and xen-tools.conf's block for guests of `dist`, with
    `memory` at least; the conf edit waits for xen-tools when `installing` (the plan's
    packages) has it."""
    out: list[Step] = []
    role = None
    if with_role:
        role = xentoolsrole.ROLE_NAME
        out.append(
            edit_step(
                "xen-tools-role",
                f"xen-tools: role {role}, the guest's NIC configured as eth0 and as enX0",
                fs,
                xentoolsrole.ROLE_PATH,
                xentoolsrole.set_role,
                mode=xentoolsrole.MODE,
            )
        )
    conf = edit_step(
        "xen-tools-conf",
        f"xen-tools: guests join {config.bridge} by DHCP and install {dist}",
        fs,
        xentoolsconf.CONF_PATH,
        partial(
            xentoolsconf.set_defaults, bridge=config.bridge, dist=dist, role=role, memory=memory
        ),
        installing=tuple(p for p in installing if p == xentoolsconf.PACKAGE),
        shipped_by=(xentoolsconf.PACKAGE,),
    )
    out.append(replace(conf, notes=(*conf.notes, STATIC_NOTE)))
    return out
