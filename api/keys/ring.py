"""Data keys per scope, wrapped by the KEK, kept apart from the records (issue 12 §1).

``ScopeKeyRing`` is the ``storage.blobs.sealing.KeyRing`` of a deployment: the blob adapters ask
it for the current data key of a scope (made on first use) to seal new objects, and for a key
by id to open stored ones. Records of the key store (its own SQLite file beside the keyring,
or its own MongoDB database; never the records' database, so that backups keep keys apart
with a shorter retention and erasure wins over backups)::

    data_keys/<key id hex>  {scope, kek, wrapped, created_at}
    key_scopes/<scope>      {current, created_at, destroyed_at, destroyed_by, destroyed_keys}

``wrapped`` is ``nonce || AES-256-GCM(KEK, nonce, data key, aad = "kura-data-key/1" || key id
|| scope)`` (CRYPTREC: AES, GCM; seed 001 別表3 2(2)), so a wrapped key moved to another id
or scope does not unwrap. The KEK is a port (``api.keys.kek``): a keyring file by default, or
a non-extractable key inside a PKCS#11 HSM that wraps and unwraps (``api.keys.hsm``).

``destroy(scope)`` deletes every wrapped key of the scope and marks the scope destroyed: from
then on no process can unwrap it (the KEK alone is useless without the wrapped key), and every
object sealed with it is unreadable wherever a copy of it lies (seed 001 別表3 12; seed 003
遵守事項: 暗号鍵の削除). Unwrapped keys are cached in memory at most ``cache_s`` and
revalidated at most every ``revalidate_s``, so another process stops reading within that time;
a cached key is zeroed (``DataKey.wipe``) when it leaves the cache.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.keys.kek import Kek, KekError, KekMissing
from api.keys.keyring import KeyringKek
from api.kit.clock import Clock, SystemClock, to_iso
from storage.blobs.sealing import KEY_ID_BYTES, DataKey
from storage.errors import DuplicateKey, KeyDestroyed, StaleVersion
from storage.ports import Health, IndexSpec, RecordStore

DATA_KEYS = "data_keys"
KEY_SCOPES = "key_scopes"
_AAD = b"kura-data-key/1"


def _aad(key_id: bytes, scope: str) -> bytes:
    return _AAD + key_id + scope.encode()


@dataclass
class _Cached:
    key: DataKey
    loaded: float
    checked: float


@dataclass
class _ScopeCached:
    key_id: bytes
    checked: float


@dataclass(frozen=True)
class Destroyed:
    """What ``destroy`` did: the scope, the ids of the keys it destroyed, when, by whom."""

    scope: str
    key_ids: tuple[str, ...]
    destroyed_at: str
    by: str
    already: bool = False


@dataclass
class ScopeKeyRing:
    store: RecordStore
    keyring_path: Path
    create_keyring: bool = True
    cache_s: float = 300.0
    revalidate_s: float = 1.0
    clock: Clock = field(default_factory=SystemClock)
    # The KEK port; default: the keyring file at ``keyring_path``.
    kek: Kek | None = None
    _keys: dict[bytes, _Cached] = field(default_factory=dict)
    _scopes: dict[str, _ScopeCached] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _indexed: bool = False

    name = "keys"

    # -- life cycle -------------------------------------------------------------------------

    def __post_init__(self) -> None:
        if self.kek is None:
            self.kek = KeyringKek(self.keyring_path)

    @property
    def port(self) -> Kek:
        assert self.kek is not None
        return self.kek

    async def open(self) -> None:
        """Open the key store and the KEK (the keyring file is created on a first start).
        ``KekError`` on an exposed, unreadable, malformed or unreachable KEK: the process
        must not start."""
        await self.store.open()
        try:
            await self.port.open(create=False)
        except KekMissing as missing:
            # A lost KEK must not be replaced silently by a new one: every wrapped key would
            # become unreadable and new data would be sealed under the wrong KEK.
            held = await self.store.count(DATA_KEYS)
            if held:
                raise type(missing)(
                    f"{self.port.where()}: missing, but the key store holds {held} wrapped "
                    "data key(s); restore the keyring from the key backup (or point "
                    "KURA_KEYS__KEYRING_FILE at it; for an HSM, the KURA_KEYS__PKCS11_* "
                    "settings at the token that holds the key)"
                ) from missing
            if not self.create_keyring:
                raise
            await self.port.open(create=True)

    async def close(self) -> None:
        self.forget()
        await self.port.close()
        await self.store.close()

    async def health(self) -> Health:
        kek = await self.port.health()
        if not kek.ok:
            return Health(ok=False, backend="keys", detail=kek.detail)
        return await self.store.health()

    def forget(self) -> None:
        """Drop (and zero) every cached key."""
        for cached in self._keys.values():
            cached.key.wipe()
        self._keys.clear()
        self._scopes.clear()

    # -- KeyRing ----------------------------------------------------------------------------

    async def current(self, scope: str) -> DataKey:
        now = time.monotonic()
        cached = self._scopes.get(scope)
        if cached is not None and now - cached.checked < self.revalidate_s:
            return await self.by_id(cached.key_id)
        record = await self.store.get(KEY_SCOPES, scope)
        if record is None:
            record = await self._create(scope)
        if record.get("destroyed_at"):
            self._drop_scope(scope)
            raise KeyDestroyed(scope)
        key_id = bytes.fromhex(str(record["current"]))
        self._scopes[scope] = _ScopeCached(key_id, now)
        return await self.by_id(key_id)

    async def by_id(self, key_id: bytes) -> DataKey:
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached.loaded < self.cache_s:
            if now - cached.checked < self.revalidate_s:
                return cached.key
            if await self.store.get(DATA_KEYS, key_id.hex()) is None:
                self._drop(key_id)
                raise KeyDestroyed(key_id.hex())
            cached.checked = now
            return cached.key
        if cached is not None:
            self._drop(key_id)
        record = await self.store.get(DATA_KEYS, key_id.hex())
        if record is None:
            raise KeyDestroyed(key_id.hex())
        key = await self._unwrap(key_id, record)
        self._keys[key_id] = _Cached(key, now, now)
        return key

    # -- erasure ----------------------------------------------------------------------------

    async def destroy(self, scope: str, by: str) -> Destroyed:
        """Destroy every data key of ``scope`` (irreversible) and refuse new ones."""
        now = to_iso(self.clock.now())
        marks = {"destroyed_at": now, "destroyed_by": by, "destroyed_keys": []}
        async with self._lock:
            for _ in range(20):
                record = await self.store.get(KEY_SCOPES, scope)
                if record is not None and record.get("destroyed_at"):
                    self._drop_scope(scope)
                    return Destroyed(
                        scope,
                        tuple(record.get("destroyed_keys") or ()),
                        str(record["destroyed_at"]),
                        str(record.get("destroyed_by") or ""),
                        already=True,
                    )
                # Mark first: no process makes a new key for the scope from here on.
                try:
                    if record is None:
                        record = await self.store.insert(
                            KEY_SCOPES, {"id": scope, "current": "", "created_at": now, **marks}
                        )
                    else:
                        record = await self.store.update(
                            KEY_SCOPES, scope, marks, int(record["version"])
                        )
                    break
                except (DuplicateKey, StaleVersion):
                    continue
            else:
                raise RuntimeError(f"destroying the keys of {scope} kept colliding")
            ids = [
                str(key["id"])
                async for key in self.store.scan(DATA_KEYS)
                if key.get("scope") == scope
            ]
            for key_id in ids:
                await self.store.delete(DATA_KEYS, key_id, None)
            await self.store.update(
                KEY_SCOPES, scope, {"destroyed_keys": sorted(ids)}, int(record["version"])
            )
            self._drop_scope(scope)
            return Destroyed(scope, tuple(sorted(ids)), now, by)

    async def destroyed(self, scope: str) -> dict[str, Any] | None:
        record = await self.store.get(KEY_SCOPES, scope)
        return record if record is not None and record.get("destroyed_at") else None

    async def scopes(self) -> list[dict[str, Any]]:
        return [r async for r in self.store.scan(KEY_SCOPES)]

    # -- internals --------------------------------------------------------------------------

    async def _create(self, scope: str) -> dict[str, Any]:
        if not self._indexed:
            # On first use, not at open: a deployment (or a test) that never seals anything
            # gets no key database on a shared MongoDB server.
            await self.store.ensure_indexes(DATA_KEYS, [IndexSpec((("scope", 1),))])
            self._indexed = True
        key_id = os.urandom(KEY_ID_BYTES)
        secret = bytearray(os.urandom(32))
        try:
            kek_id, wrapped = await self.port.wrap(bytes(secret), _aad(key_id, scope))
        finally:
            for i in range(len(secret)):
                secret[i] = 0
        now = to_iso(self.clock.now())
        await self.store.insert(
            DATA_KEYS,
            {
                "id": key_id.hex(),
                "scope": scope,
                "kek": kek_id,
                "wrapped": base64.b64encode(wrapped).decode(),
                "created_at": now,
            },
        )
        try:
            return await self.store.insert(
                KEY_SCOPES,
                {"id": scope, "current": key_id.hex(), "created_at": now, "destroyed_at": None},
            )
        except DuplicateKey:
            # Another process made the scope's key first: use it, drop ours.
            await self.store.delete(DATA_KEYS, key_id.hex(), None)
            winner = await self.store.get(KEY_SCOPES, scope)
            if winner is None:
                raise
            return winner

    async def _unwrap(self, key_id: bytes, record: dict[str, Any]) -> DataKey:
        scope = str(record["scope"])
        blob = base64.b64decode(str(record["wrapped"]))
        try:
            secret = await self.port.unwrap(str(record["kek"]), blob, _aad(key_id, scope))
        except KekError as exc:
            raise type(exc)(f"data key {key_id.hex()} of {scope}: {exc}") from None
        return DataKey(key_id, secret, scope)

    async def rewrap(self) -> int:
        """Wrap every data key not wrapped by the current KEK again under it (after
        ``rotate``), so the older KEKs can be retired. Returns how many were re-wrapped."""
        current = self.port.current_id()
        done = 0
        async for record in self.store.scan(DATA_KEYS):
            if record.get("kek") == current:
                continue
            key_id = bytes.fromhex(str(record["id"]))
            aad = _aad(key_id, str(record["scope"]))
            blob = base64.b64decode(str(record["wrapped"]))
            secret = bytearray(await self.port.unwrap(str(record["kek"]), blob, aad))
            try:
                kek_id, wrapped = await self.port.wrap(bytes(secret), aad)
            finally:
                for i in range(len(secret)):
                    secret[i] = 0
            try:
                await self.store.update(
                    DATA_KEYS,
                    str(record["id"]),
                    {"kek": kek_id, "wrapped": base64.b64encode(wrapped).decode()},
                    int(record["version"]),
                )
            except StaleVersion:
                continue  # destroyed or re-wrapped by another process meanwhile
            done += 1
        return done

    def _drop(self, key_id: bytes) -> None:
        cached = self._keys.pop(key_id, None)
        if cached is not None:
            cached.key.wipe()

    def _drop_scope(self, scope: str) -> None:
        self._scopes.pop(scope, None)
        for key_id in [k for k, c in self._keys.items() if c.key.scope == scope]:
            self._drop(key_id)
