"""Otdel's benchmark harness (docs/performance.md says how to run it). Not part of the test suite."""
