"""Reads the target machine, never writes: the root, facts, network layout, boot, packages."""
