"""`xenwizard verify`: one line per check of the live host, exit 1 if any fails (SKIP: not run).

    PASS bridge: br0 is a bridge and up
    FAIL alias: no 10.0.0.1/24 on br0:0; bring it up with `ifup br0:0` (rc.local does at boot)

With `--root DIR` (not `/`) the live checks say SKIP: this machine's network is not the
target's. `--assume-live` runs them anyway, for a root that is this machine's configuration seen
under another path (the network-namespace tests). `--json` prints the same as a list of
{name, status, ok, reason} (ok: null for SKIP). Read-only: nothing changes.
"""

from __future__ import annotations

import argparse
import json
import sys

from xenwizard.hostcheck import not_running_system, run_checks
from xenwizard.rootfs import RootFS

EXIT_OK = 0
EXIT_FAILED = 1


def run(args: argparse.Namespace) -> int:
    fs = RootFS(args.root)
    skip_live = None if args.assume_live else not_running_system(fs)
    results = run_checks(fs, skip_live=skip_live)
    if args.json:
        sys.stdout.write(json.dumps([r.data() for r in results], indent=2) + "\n")
    else:
        sys.stdout.write("".join(r.line() + "\n" for r in results))
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK
