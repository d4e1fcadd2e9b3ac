"""Qualification applications (資格審査受付, seed 004): one filing to many municipalities."""
