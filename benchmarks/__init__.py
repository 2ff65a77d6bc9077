"""Benchmarks: a synthetic glossary generator and scripts that print figures (see README.md)."""
