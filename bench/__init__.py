"""Benchmarks behind `make bench` (not installed; run from the repository root)."""
