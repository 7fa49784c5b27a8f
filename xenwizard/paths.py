"""Paths more than one room uses, spelled once (stdlib only, so any start-up path may import
it). Root-relative: they go through RootFS like every other path."""

from __future__ import annotations

STATE_DIR = "var/lib/xenwizard"
RUNS_DIR = f"{STATE_DIR}/runs"
LOG_FILE = "var/log/xenwizard.log"
DEMO_SAMPLES = ("debian-12", "ubuntu-12.04")  # xenwizard/samples/NAME; the first: --demo's default
