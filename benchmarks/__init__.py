"""Benchmarks: commands whose output goes into BENCHMARKS.md (not timed tests)."""
