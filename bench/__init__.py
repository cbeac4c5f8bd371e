"""Otdel's benchmark harness (see README.md here). Not part of the test suite."""
