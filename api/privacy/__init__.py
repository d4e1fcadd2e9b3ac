"""The personal-data warning (seed 001 §3-2)."""
