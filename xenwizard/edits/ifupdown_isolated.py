"""ifupdown: the isolated Xen bridge, in a file of its own under /etc/network/interfaces.d.

The isolated shape leaves the host's own network configuration as it is: the bridge has no
port (`bridge_ports none`, bridge-utils-interfaces(5)), so the NIC keeps its addressing and no
guest frame reaches the LAN with a Xen MAC; the guests reach other networks only through this
host's routing (NAT or routed). The file is read because Debian's /etc/network/interfaces has
`source /etc/network/interfaces.d/*` (ifupdown's own default file and debian-installer's
netcfg write it); without such a line the shape is refused rather than editing that file.

    # BEGIN xenwizard
    # The isolated Xen bridge br0: no NIC is its port. ...
    auto br0
    iface br0 inet static
        bridge_ports none
        bridge_stp off
        bridge_fd 0
        address 10.0.0.1/24
    # END xenwizard

The managed block keeps the readers of the NIC (ifupdown_bridge.configured_interfaces) from
taking br0 for a NIC. A later bridged run rewrites the file to a comment only (`retire`), so
that its rollback can put this run's file back.
"""

from __future__ import annotations

import fnmatch
import posixpath

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditResult, ifupdown
from xenwizard.edits.text import BEGIN_MARK, END_MARK, Doc

DIRECTORY = "etc/network/interfaces.d"
# No dot in the name: `source-directory` reads only run-parts(8)-style names (interfaces(5)).
PATH = f"{DIRECTORY}/xenwizard-bridge"
MODE = 0o644


def render(config: WizardConfig) -> str:
    """The file's text: the bridge with no port and the guests' subnet on it."""
    bridge = config.bridge
    return "\n".join(
        [
            BEGIN_MARK,
            f"# The isolated Xen bridge {bridge}: no NIC is its port, and the host's own network",
            f"# configuration is left as it is. Guests' vifs join {bridge}; dnsmasq serves",
            f"# {config.network} on it; the guests reach other networks only through this host.",
            "# `xenwizard rollback` removes this file.",
            f"auto {bridge}",
            f"iface {bridge} inet static",
            "    bridge_ports none",
            "    bridge_stp off",
            "    bridge_fd 0",
            f"    address {config.address}",
            END_MARK,
            "",
        ]
    )


def set_bridge(text: str | None, config: WizardConfig) -> EditResult:
    """The isolated bridge's file (created, or rewritten by a run with other answers)."""
    after = render(config)
    notes = [
        f"{config.bridge} has no port (`bridge_ports none`): the host's NIC and its "
        "configuration stay as they are, and no guest frame leaves the NIC with a Xen MAC",
        f"guests' subnet {config.address} on {config.bridge}; it exists from boot on, so the "
        f"seed's {config.alias} alias and rc.local line are not needed",
    ]
    if text == after:
        notes.insert(0, f"already set: {config.bridge} is the isolated bridge")
    return EditResult(after, tuple(notes))


def retire(text: str | None, bridge: str) -> EditResult:
    """An earlier run's isolated bridge given up by a bridged run: a comment only, not deleted,
    so that the rollback of this run puts the earlier file back."""
    after = (
        f"# xenwizard: the isolated bridge of an earlier run; {bridge} is now defined with its "
        "NIC\n# in /etc/network/interfaces. `xenwizard rollback` of that run puts it back.\n"
    )
    return EditResult(after, (f"{PATH}: the earlier run's isolated bridge is given up",))


def is_sourced(texts: dict[str, str]) -> bool:
    """Whether /etc/network/interfaces (or a file it sources) reads PATH: a `source` glob that
    matches it or a `source-directory` of its directory."""
    for path, text in texts.items():
        for _index, keyword, args in ifupdown.read(Doc.parse(text).lines).sources:
            for arg in args:
                absolute = posixpath.normpath(
                    posixpath.join("/" + posixpath.dirname(path), arg)
                    if not arg.startswith("/")
                    else arg
                )
                if keyword == "source" and fnmatch.fnmatchcase("/" + PATH, absolute):
                    return True
                if keyword == "source-directory" and absolute == "/" + DIRECTORY:
                    return True
    return False
