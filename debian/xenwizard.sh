#!/bin/sh
# xenwizard: the entry point in the package's own Python environment, /usr/lib/xenwizard.
# -I: isolated mode, so neither the working directory nor PYTHON* variables can put other
# code on the path of a tool that runs as root.
exec /usr/lib/xenwizard/bin/python3 -I -m xenwizard "$@"
