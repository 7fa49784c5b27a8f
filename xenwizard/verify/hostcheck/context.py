"""What every check is given: the target root, the live system, the last applied run and its
answers (and what the run's steps say about the layout)."""

from __future__ import annotations

from dataclasses import dataclass

from xenwizard.answers.model import WizardConfig
from xenwizard.edits.dnsmasq import DROPIN_PATH
from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck.applied import AppliedRun
from xenwizard.verify.hostcheck.live import LiveSystem

DNSMASQ_SETTINGS = DROPIN_PATH
ALIAS_STEP = "alias-interface"
DNSMASQ_STEP = "dnsmasq"
CONFINE_STEP = "dhcp-confine"  # the nftables ruleset that keeps DHCP off the NIC port


@dataclass(slots=True)
class Context:
    fs: RootFS
    live: LiveSystem
    run: AppliedRun | None
    config: WizardConfig

    @property
    def labelled_alias(self) -> bool:
        """The seed's layout: the host address is the labelled alias BR:0 (rc.local ifup)."""
        return self.run is None or self.run.step(ALIAS_STEP) is not None

    @property
    def address_label(self) -> str:
        return self.config.alias if self.labelled_alias else self.config.bridge

    @property
    def confined(self) -> bool:
        """The applied plan confines DHCP with nftables (it has a `dhcp-confine` step)."""
        return self.run is not None and self.run.step(CONFINE_STEP) is not None

    @property
    def dnsmasq_settings(self) -> str:
        step = self.run.step(DNSMASQ_STEP) if self.run else None
        return str(step["path"]) if step and step.get("path") else DNSMASQ_SETTINGS
