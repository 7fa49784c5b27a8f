"""`xenwizard history`: every run on this root, newest last, with what it touched."""

from __future__ import annotations

import argparse
import json
import time

from xenwizard.commands.runs import EXIT_OK, warn_unfinished
from xenwizard.engine.hangup import SafeWriter
from xenwizard.engine.journal import RunInfo, list_runs, refused_runs
from xenwizard.target.rootfs import RootFS
from xenwizard.textsafe import escape_control


def state_text(info: RunInfo) -> str:
    if info.state == "unfinished" and not info.changed:
        return "unfinished (nothing changed)"
    if info.state == "running":
        return f"running (pid {info.pid})"
    if len(info.history) > 1 and info.state == info.history[-1]:
        return " -> ".join(info.history)
    return info.state


def run(args: argparse.Namespace) -> int:
    fs = RootFS(args.root)
    warn_unfinished(fs)
    runs = list_runs(fs)
    refused = refused_runs(fs)
    out = SafeWriter()
    if args.json:
        data = [
            {
                "run_id": r.run_id,
                "started": r.started,
                "state": r.state,
                "changed": r.changed,
                "files": list(r.files),
                "outcomes": list(r.history),
                "message": r.message,
                "rollback_reason": r.rollback_reason or None,
            }
            for r in runs
        ]
        data += [{"run_id": name, "state": "refused", "message": why} for name, why in refused]
        out.write_line(json.dumps(data, indent=2))
        return EXIT_OK
    if not runs and not refused:
        out.write_line("no runs yet")
        return EXIT_OK
    out.write_line(f"{'RUN':<22} {'STARTED (UTC)':<20} {'OUTCOME':<28} FILES")
    for r in runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.started))
        files = ", ".join(r.files) or "-"
        line = f"{r.run_id:<22} {started:<20} {state_text(r):<28} {files}"
        out.write_line(escape_control(line))  # the journal lives in the root: shown escaped
        if r.rollback_reason.startswith("boot guard"):
            out.write_line(escape_control(f"{'':<22} rolled back by the {r.rollback_reason}"))
    for _name, why in refused:  # not listed above, never counted: only said
        out.write_line(escape_control(f"refused: {why}"))
    return EXIT_OK
