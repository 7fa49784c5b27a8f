"""`python -m xenwizard` runs the same entry point as the console script."""

from xenwizard.cli import main

raise SystemExit(main())
