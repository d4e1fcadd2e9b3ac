"""Backup generations and restore (issue 12 §3; seed 001 別表3 8, 10)."""
