"""The key-encryption key (KEK) as a port (issue 12 §1): wraps and unwraps the data keys.

``api.keys.ring`` keeps every data key only wrapped; this port holds the key that wraps them.
Two adapters, chosen by ``KURA_KEYS__KEK``:

- ``keyring`` (embedded default, ``api.keys.keyring.KeyringKek``): the KEK in a 0600 file
  outside the data folder; the process wraps in memory.
- ``pkcs11`` (``api.keys.pkcs11.Pkcs11Kek``): the KEK is a non-extractable AES-256 key inside
  a PKCS#11 token (a network or cloud HSM, a YubiHSM, SoftHSM in tests); the token wraps and
  unwraps, the KEK never leaves it.

Both wrap with AES-256-GCM (CRYPTREC: AES, GCM; seed 001 別表3 2(2)) and store the same
``nonce || ciphertext || tag``, bound by the associated data to the data key's id and scope.
Every error is a ``KekError`` whose words say what to fix; a process refuses to start with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from storage.ports import Health


class KekError(Exception):
    """The KEK cannot be used (missing, exposed, malformed, wrong PIN, no such token or key,
    the library missing, the wrong KEK for a wrapped key): a configuration error, never a
    silent fallback."""


class KekMissing(KekError):
    """No KEK exists yet where the settings point (a first start, or a lost KEK)."""


class Kek(Protocol):
    """Where the KEK lives; wraps and unwraps data keys with it."""

    name: str

    def where(self) -> str:
        """Where the KEK is, for messages (a path, or token and key label); never a secret."""
        ...

    async def open(self, *, create: bool) -> None:
        """Load or connect; ``KekMissing`` when there is no KEK yet (created instead when
        ``create`` and the adapter may create one), ``KekError`` when it cannot be used."""
        ...

    async def close(self) -> None:
        """Release the connection and forget secrets held in memory."""
        ...

    def current_id(self) -> str:
        """The id of the KEK that wraps new data keys."""
        ...

    def ids(self) -> list[str]:
        """Every KEK id this adapter can unwrap with, oldest first."""
        ...

    def created(self) -> datetime | None:
        """When the current KEK was made, if known (its age is a metric)."""
        ...

    async def wrap(self, secret: bytes, aad: bytes) -> tuple[str, bytes]:
        """``(kek id, nonce || AES-256-GCM(KEK, secret, aad))`` under the current KEK."""
        ...

    async def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """The secret; ``KekError`` when ``kek_id`` is unknown or the blob does not
        authenticate (wrong KEK, altered key store)."""
        ...

    async def rotate(self) -> str:
        """Make a new KEK current (the first one when none exists); older ones keep
        unwrapping. Returns its id."""
        ...

    async def health(self) -> Health:
        """Whether the KEK is reachable and usable now."""
        ...
