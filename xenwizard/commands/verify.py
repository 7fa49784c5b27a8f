"""`xenwizard verify`: one line per check of the live host, exit 1 if any fails (SKIP: not run).

    PASS bridge: br0 is a bridge and up
    FAIL alias: no 10.0.0.1/24 on br0:0; bring it up with `ifup br0:0` (rc.local does at boot)

With `--root DIR` (not `/`) the live checks say SKIP: this machine's network is not the
target's. `--assume-live` runs them anyway, for a root that is this machine's configuration seen
under another path (the network-namespace tests). `--json` prints the same as a list of
{name, status, ok, reason} (ok: null for SKIP). Read-only: nothing changes.

`--guest` then starts the canary guest (hostcheck/canary.py) and adds its result as one more
check, `guest` (in JSON with its domain, mac, lease_ip, seconds and left_behind); it fails, and
verify exits 1, when the guest got no lease in the range. Its progress goes to stderr. The
canary runs only on the running system: with `--root DIR` it is not started (FAIL), unless
`--assume-live`.
"""

from __future__ import annotations

import argparse
import json
import sys

from xenwizard.target.rootfs import RootFS
from xenwizard.verify.hostcheck import not_running_system, run_checks
from xenwizard.verify.hostcheck.canary import DEFAULT_TIMEOUT, CanaryResult, canary_for_applied

EXIT_OK = 0
EXIT_FAILED = 1


def _progress(line: str) -> None:
    sys.stderr.write(f"verify --guest: {line}\n")
    sys.stderr.flush()


def _guest(args: argparse.Namespace) -> CanaryResult:
    timeout = DEFAULT_TIMEOUT if args.guest_timeout is None else args.guest_timeout
    return canary_for_applied(
        args.root, timeout=timeout, on_progress=_progress, assume_live=args.assume_live
    )


def run(args: argparse.Namespace) -> int:
    if args.guest_timeout is not None and not args.guest:
        sys.stderr.write("xenwizard verify: --guest-timeout needs --guest\n")
        return EXIT_FAILED
    fs = RootFS(args.root)
    skip_live = None if args.assume_live else not_running_system(fs)
    results = run_checks(fs, skip_live=skip_live)
    if not args.json:  # the checks first: the canary takes a minute
        sys.stdout.write("".join(r.line() + "\n" for r in results))
        sys.stdout.flush()
    guest = _guest(args) if args.guest else None
    if args.json:
        data = [r.data() for r in results] + ([guest.data()] if guest else [])
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif guest is not None:
        sys.stdout.write(guest.line() + "\n")
        sys.stdout.write("".join(f"  left behind: {item}\n" for item in guest.left_behind))
    failed = any(r.failed for r in results) or (guest is not None and not guest.passed)
    return EXIT_FAILED if failed else EXIT_OK
