"""Carrying a plan out: apply, rollback and recovery, the journal, atomic writes, the lock,
the command runner and the events the UI and the CLI both render. Imports nothing of textual."""
