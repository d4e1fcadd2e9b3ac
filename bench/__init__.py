"""Benchmarks; each module prints its figures beside a baseline (see README.md)."""
