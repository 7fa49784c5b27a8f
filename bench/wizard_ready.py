#!/usr/bin/env python3
"""`python -m xenwizard ARGS` for the start-up benchmark: the app writes XENWIZARD_READY_FILE
once its first page takes input. The hook lives here, not in the installed product (issue 13:
an environment variable must not make the wizard, running as root, write any path)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xenwizard.tui.app import XenWizardApp

XenWizardApp.ready_file = os.environ.get("XENWIZARD_READY_FILE") or None

from xenwizard.cli import main  # noqa: E402

raise SystemExit(main())
