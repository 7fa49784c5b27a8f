#!/usr/bin/env python3
"""TUI start-up benchmark: process start until the first page accepts input, and peak RSS.

Each app runs in its own pseudo-terminal (80x24) with XENWIZARD_READY_FILE set; the app (through
bench/wizard_ready.py: the installed product has no such hook) writes
that file from the first page's mount, after its first refresh, when it takes key presses. The
reference is a bare Textual app with one Input that does the same, measured in the same run,
alternating with the wizard. Peak RSS is VmHWM from /proc/PID/status at readiness.

    .venv/bin/python bench/bench_tui.py [--runs 5]

Targets (issue 4): median ratio wizard/bare <= 1.5; wizard peak RSS <= 60 MiB.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BARE_APP = """
import os, time
from pathlib import Path
from textual.app import App
from textual.widgets import Input

class Bare(App):
    def compose(self):
        yield Input(placeholder="type here")

    def on_mount(self):
        self.query_one(Input).focus()
        path = os.environ.get("XENWIZARD_READY_FILE")
        if path:
            self.call_after_refresh(Path(path).write_text, f"{time.time()}\\n")

Bare().run()
"""


def measure(argv: list[str], timeout: float = 30.0) -> tuple[float, int]:
    """Seconds from spawn to the ready file, and peak RSS in KiB at that moment."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        env = {**os.environ, "XENWIZARD_READY_FILE": str(ready), "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        stop = threading.Event()

        def drain() -> None:  # keep the pty from filling up
            while not stop.is_set():
                try:
                    if not os.read(master, 65536):
                        return
                except OSError:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
        try:
            while not ready.exists():
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv} exited with {proc.returncode} before ready")
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"{argv} not ready after {timeout}s")
                time.sleep(0.002)
            elapsed = time.perf_counter() - start
            rss = 0
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1])
        finally:
            proc.kill()
            proc.wait()
            stop.set()
            os.close(slave)
            os.close(master)
    return elapsed, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--root",
        default=str(REPO / "xenwizard/samples/ubuntu-12.04"),
        help="the wizard's --root (default: the packaged sample; / probes this machine live)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        wizard = [sys.executable, str(REPO / "bench/wizard_ready.py"), "--root", args.root]
        bare_cmd = [sys.executable, str(bare)]
        measure(bare_cmd)  # warm the page cache for both before timing
        measure(wizard)
        times: dict[str, list[float]] = {"bare": [], "wizard": []}
        rss: dict[str, list[int]] = {"bare": [], "wizard": []}
        for _ in range(args.runs):
            for name, cmd in (("bare", bare_cmd), ("wizard", wizard)):
                elapsed, peak = measure(cmd)
                times[name].append(elapsed)
                rss[name].append(peak)
    med = {name: statistics.median(values) for name, values in times.items()}
    ratio = med["wizard"] / med["bare"]
    peak_mib = max(rss["wizard"]) / 1024
    for name in ("bare", "wizard"):
        runs = ", ".join(f"{t * 1000:.0f}" for t in times[name])
        print(
            f"{name:7} median {med[name] * 1000:6.0f} ms  (runs: {runs})  "
            f"peak RSS {max(rss[name]) / 1024:.1f} MiB"
        )
    print(f"ratio wizard/bare: {ratio:.2f} (target <= 1.5)")
    print(f"wizard peak RSS: {peak_mib:.1f} MiB (target <= 60)")
    return 0 if ratio <= 1.5 and peak_mib <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
