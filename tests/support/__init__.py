"""Test-only helpers (never imported by application code)."""
