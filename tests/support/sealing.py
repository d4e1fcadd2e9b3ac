"""A key ring in memory and a sealing policy for the blob contract suite (every key and
handle sealed in one scope, except keys under ``plain/``), so the whole port contract runs
over sealed objects too."""

from __future__ import annotations

import os

from storage.blobs.sealing import DataKey, Sealing
from storage.errors import KeyDestroyed


class MemoryKeyRing:
    """``storage.blobs.sealing.KeyRing`` in a dict (unit tests and benchmarks only)."""

    def __init__(self) -> None:
        self.keys: dict[bytes, DataKey] = {}
        self.current_of: dict[str, bytes] = {}
        self.destroyed: set[str] = set()

    async def current(self, scope: str) -> DataKey:
        if scope in self.destroyed:
            raise KeyDestroyed(scope)
        key_id = self.current_of.get(scope)
        if key_id is None:
            key = DataKey(os.urandom(16), os.urandom(32), scope)
            self.keys[key.key_id] = key
            self.current_of[scope] = key.key_id
            return key
        return self.keys[key_id]

    async def by_id(self, key_id: bytes) -> DataKey:
        key = self.keys.get(key_id)
        if key is None:
            raise KeyDestroyed(key_id.hex())
        return key

    def destroy(self, scope: str) -> None:
        for key_id in [k for k, v in self.keys.items() if v.scope == scope]:
            self.keys.pop(key_id).wipe()
        self.current_of.pop(scope, None)
        self.destroyed.add(scope)


def contract_sealing(keys: MemoryKeyRing | None = None) -> Sealing:
    def scope_of_key(key: str) -> str | None:
        return None if key.startswith("plain/") else "t"

    return Sealing(keys or MemoryKeyRing(), scope_of_key, lambda handle: "t")
