"""Benchmarks: each measures side by side in one run and ends with ``BENCH <name> <value> <unit>``."""
