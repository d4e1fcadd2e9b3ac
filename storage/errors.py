"""Errors every storage adapter raises, whatever its vendor SDK says.

``api.errors`` maps them onto problem+json responses; adapters translate vendor exceptions
into these so services never see pymongo, minio or sqlite3 types.
"""

from __future__ import annotations

import errno


class StorageError(Exception):
    """Base of all storage errors."""


class NotFound(StorageError):
    """The record or object does not exist."""


class StaleVersion(StorageError):
    """An update carried a version that is no longer current (optimistic concurrency)."""

    def __init__(self, collection: str, record_id: str, expected: int, actual: int | None) -> None:
        super().__init__(f"{collection}/{record_id}: expected version {expected}, found {actual}")
        self.collection = collection
        self.record_id = record_id
        self.expected = expected
        self.actual = actual


class DuplicateKey(StorageError):
    """An insert or update broke a unique index."""

    def __init__(self, collection: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(f"{collection}: duplicate key {fields}")
        self.collection = collection
        self.fields = fields


class BackendUnavailable(StorageError):
    """The backend cannot be reached; the request answers 503 and nothing is changed."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"{backend} unavailable: {reason}")
        self.backend = backend
        self.reason = reason


class StorageFull(BackendUnavailable):
    """The backend has no room left (disk full, quota reached): 507, nothing is changed."""


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def from_os_error(backend: str, exc: OSError) -> BackendUnavailable:
    """A disk failure as the backend being unavailable; a full disk as ``StorageFull``."""
    reason = f"{type(exc).__name__}: {exc}"
    if exc.errno in _FULL_ERRNOS:
        return StorageFull(backend, reason)
    return BackendUnavailable(backend, reason)


class InvalidQuery(StorageError):
    """A query spec or cursor that the store cannot answer (bad field name, bad cursor)."""


class OffsetMismatch(StorageError):
    """An append's offset is not the stored size (tus: 409)."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"offset {got} does not match stored size {expected}")
        self.expected = expected
        self.got = got


class ChecksumMismatch(StorageError):
    """An append's bytes do not match the checksum the client sent (tus: 460)."""


class SizeExceeded(StorageError):
    """An append would pass the declared or allowed size (tus: 413)."""
