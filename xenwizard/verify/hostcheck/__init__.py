"""`xenwizard verify`: after the reboot, is the host what the last apply set up?

The checks take the target root (files and the journal of the last applied run), and a
`LiveSystem` that reads the running kernel and processes (interfaces, addresses, dnsmasq). They
return one `CheckResult` per check and never raise for a failed check: the reason says what was
found and what to do. `KernelLive` is the real reader (psutil, /sys, /proc); tests pass fakes.

What is checked, in order:
  run              the latest applied run under ROOT/var/lib/xenwizard (its answers drive the rest)
  xen              Xen runs and this is dom0 (/sys/hypervisor/type, /proc/xen/capabilities);
                   on current releases `xl info` answers (its xen_version is shown)
  dom0-mem         only when the run's GRUB step set dom0_mem: Xen booted with it (the
                   xen_commandline of `xl info`; of `xm info` on ubuntu-precise)
  bridge           BR exists, is a bridge, and is up (who makes it at boot depends on the release)
  bridge-address   BR has an unlabelled IPv4 address: without one, dnsmasq ignores the labelled
                   BR:0 alias ("DHCP packet received on BR which has no address")
  alias            the host address with the configured prefix, labelled BR:0
  dnsmasq          a dnsmasq process runs in this network namespace
  dnsmasq-config   one of them reads our settings file, was started after it last changed, and
                   its configuration names interface=BR
  dnsmasq-dhcp     that process has the DHCP port (UDP 67) open
  dhcp-confinement only when the plan has a `dhcp-confine` step: table bridge xenwizard is loaded
                   (`nft -j list table bridge xenwizard`) and drops udp dport 67 and 68 on the NIC;
                   on ubuntu-precise xenwizard's ebtables chains (`ebtables -L`) do, on peth0
  file PATH        each file the run wrote is still as the run left it (SKIP: the run skipped it)
  link PATH        each link the run made is still there (SKIP: the run skipped it)
  toolstack        TOOLSTACK in etc/default/xen is what it was when the run was planned

The live checks (xen to dhcp-confinement) look at the kernel this process runs on (in tests:
inside a network namespace). They mean something only when ROOT is that system's root: with
`skip_live` (`verify --root DIR`, DIR not `/`, see `not_running_system`) each says SKIP instead.

Modules: `results` (CheckResult), `live` (LiveSystem, KernelLive), `applied` (the last applied
run from its journal), `dnsmasqconf` (the files and options a dnsmasq command line selects),
`nftables` (the confinement's table as `nft -j` lists it), `checks` (`run_checks`, the order of
the checks, and the run's), and the checks by what they check: `xen` (Xen, dom0, dom0_mem, the
toolstack), `bridge` (the bridge and its addresses), `dnsmasq`, `confinement` (nftables' table
or ebtables' chains), `files` (the managed files and links). The names callers use are
re-exported here.

`verify --guest` adds the canary guest (`canary`: `run_canary`, `canary_for_applied`), whose
initramfs `initramfs` builds from the host's static busybox and xen-netfront and whose lease
`leases` finds in the leases file of the dnsmasq serving the bridge; import them from there
(they are not re-exported: plain `verify` does not need them).
"""

from xenwizard.edits.nftconfine import TABLE_FAMILY, TABLE_NAME
from xenwizard.verify.hostcheck.applied import AppliedRun, latest_applied_run, planned_toolstack
from xenwizard.verify.hostcheck.bridge import check_alias, check_bridge, check_bridge_address
from xenwizard.verify.hostcheck.checks import LIVE_CHECKS, check_run, not_running_system, run_checks
from xenwizard.verify.hostcheck.confinement import check_dhcp_confinement
from xenwizard.verify.hostcheck.context import (
    ALIAS_STEP,
    DNSMASQ_SETTINGS,
    DNSMASQ_STEP,
    Context,
)
from xenwizard.verify.hostcheck.dnsmasq import DHCP_PORT, check_dnsmasq
from xenwizard.verify.hostcheck.dnsmasqconf import (
    DEFAULT_DNSMASQ_CONF,
    DnsmasqSources,
    dnsmasq_sources,
)
from xenwizard.verify.hostcheck.files import check_files
from xenwizard.verify.hostcheck.live import (
    CommandOutput,
    KernelLive,
    LinkState,
    LiveSystem,
    ProcessInfo,
)
from xenwizard.verify.hostcheck.nftables import dhcp_drops
from xenwizard.verify.hostcheck.results import (
    FAIL,
    PASS,
    SKIP,
    CheckResult,
    failed,
    passed,
    skipped,
)
from xenwizard.verify.hostcheck.xen import check_toolstack, check_xen

__all__ = [
    "ALIAS_STEP",
    "DEFAULT_DNSMASQ_CONF",
    "DHCP_PORT",
    "DNSMASQ_SETTINGS",
    "DNSMASQ_STEP",
    "FAIL",
    "LIVE_CHECKS",
    "PASS",
    "SKIP",
    "TABLE_FAMILY",
    "TABLE_NAME",
    "AppliedRun",
    "CheckResult",
    "CommandOutput",
    "Context",
    "DnsmasqSources",
    "KernelLive",
    "LinkState",
    "LiveSystem",
    "ProcessInfo",
    "check_alias",
    "check_bridge",
    "check_bridge_address",
    "check_dhcp_confinement",
    "check_dnsmasq",
    "check_files",
    "check_run",
    "check_toolstack",
    "check_xen",
    "dhcp_drops",
    "dnsmasq_sources",
    "failed",
    "latest_applied_run",
    "not_running_system",
    "passed",
    "planned_toolstack",
    "run_checks",
    "skipped",
]
