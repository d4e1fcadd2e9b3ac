"""Uniqueness by *claims*: one record per unique value, whose id is the value itself.

Inserting the claim inside the same transaction as the change makes a duplicate fail
atomically on every backend, without relying on sparse or partial unique indexes (which SQLite
and MongoDB treat differently). Each domain keeps its claims in its own collection.
"""

from __future__ import annotations

import contextlib

from storage.errors import DuplicateKey, NotFound
from storage.ports import RecordStore


class ClaimTaken(Exception):
    """The unique value is already claimed by another record."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def claim(records: RecordStore, collection: str, key: str, owner_id: str) -> None:
    """Reserve ``key`` for ``owner_id``; ``ClaimTaken`` if someone holds it."""
    if await records.get(collection, key) is not None:
        raise ClaimTaken(key)
    try:
        await records.insert(collection, {"id": key, "owner_id": owner_id})
    except DuplicateKey as exc:
        raise ClaimTaken(key) from exc


async def release(records: RecordStore, collection: str, key: str) -> None:
    """Give ``key`` up; releasing a value nobody holds is not an error."""
    with contextlib.suppress(NotFound):
        await records.delete(collection, key, None)
