"""Data protection: scopes, data keys per scope, the keyring, erasure (issue 12)."""
