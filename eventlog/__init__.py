"""The raw event log and the dead letters: what operators and owners look through and replay."""
