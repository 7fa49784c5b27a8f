"""The wizard's pages (Textual screens), one module per page with its answers record.

Each question page (`welcome`, `bridge`, `subnet`, `dhcp`, `dom0mem`, `toolstack`) returns its
answers or None for back; the order lives in one place, `XenWizardApp.flow`. The rules come
from `answers/` through validators, the warnings from `planning/preflight.py`: the pages only
show them. `state` (what the pages share) is textual-free.
"""
