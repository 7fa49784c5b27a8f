"""An nftables table of xenwizard's own, loaded at boot by a oneshot systemd unit.

The DHCP confinement (nftconfine) and the guests' NAT (guestnet) each keep their rules in a
file of their own and load it with a unit of their own, enabled by the link `systemctl enable`
would write (a journaled symlink step, so it works on any root and a rollback removes it).
Separate tables and units: a plan without NAT (routed, host-only) has no NAT unit at all, and
loading or stopping one never touches the other's table.

The unit runs early at boot, after Debian's nftables.service (whose `flush ruleset` would
remove the table) and before the network is configured; stopping it deletes the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from xenwizard.edits import EditError, EditResult

NFT = "/usr/sbin/nft"
MODE = 0o644
UNIT_MARKER = "# Written by xenwizard:"

_UNIT = """{marker} loads /{rules} at boot, which {why}. `xenwizard rollback` removes this unit and
# its link in sysinit.target.wants.
[Unit]
Description=xenwizard: {description}
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target
After=nftables.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={nft} -f /{rules}
ExecStop=-{nft} delete table {family} {table}

[Install]
WantedBy=sysinit.target
"""


@dataclass(frozen=True, slots=True)
class NftBoot:
    """One table: its rules file, its family and name, and the unit that loads it at boot.

    `why` completes the unit's first comment ("... at boot, which WHY."), `description` is
    the unit's Description= after "xenwizard: "."""

    name: str  # the unit's name without .service, e.g. xenwizard-dhcp-confine
    rules_path: str  # root-relative
    family: str
    table: str
    why: str
    description: str

    @property
    def unit_name(self) -> str:
        return f"{self.name}.service"

    @property
    def unit_path(self) -> str:
        return f"etc/systemd/system/{self.unit_name}"

    @property
    def unit_link(self) -> str:
        return f"etc/systemd/system/sysinit.target.wants/{self.unit_name}"

    @property
    def unit_target(self) -> str:
        """What `systemctl enable` writes into the link: absolute."""
        return f"/{self.unit_path}"

    def render_unit(self) -> str:
        return _UNIT.format(
            marker=UNIT_MARKER,
            rules=self.rules_path,
            why=self.why,
            description=self.description,
            nft=NFT,
            family=self.family,
            table=self.table,
        )

    def set_unit(self, text: str | None) -> EditResult:
        """The unit as wanted; refuses to overwrite a unit xenwizard did not write."""
        refuse_foreign(text, UNIT_MARKER, self.unit_path, "xenwizard's unit")
        after = self.render_unit()
        if text == after:
            return EditResult(after, ("already as wanted",))
        return EditResult(
            after,
            (
                f"oneshot unit: `nft -f /{self.rules_path}` early at boot, after "
                "nftables.service (which flushes the whole ruleset) and before the network is "
                f"configured; stopping it deletes the table ({self.family} {self.table}) again",
            ),
        )


def refuse_foreign(text: str | None, marker: str, path: str, expected: str) -> None:
    """EditError when a file is there and lacks xenwizard's marker: never overwrite it."""
    if text is not None and marker not in text:
        raise EditError(
            f"{path.rsplit('/', 1)[-1]} exists and was not written by xenwizard; expected "
            f"{expected} there — move it aside"
        )
