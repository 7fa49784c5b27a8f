"""Carrying a plan out: apply, rollback, recovery, the journal, the lock, hang-ups, events.

Atomic writes, the command runner and the events the UI and the CLI both render live here too.
Imports nothing of textual."""
