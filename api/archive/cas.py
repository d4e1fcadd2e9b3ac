"""Content-addressed storage over the blob port, within a scope: one object per distinct
SHA-256 *per scope*, counted.

Every object lives under its scope (``s/<scope>/objects/<xx>/<id>``, ``api.keys.scopes``), so
the blob adapters seal it with the scope's data key and erasing the scope makes it unreadable.
The ``blobs`` record is per (scope, SHA-256) (``id`` = ``<scope>:<sha256>``): identical content
is stored once per scope and never shared across scopes, so erasing one scope never breaks
another's files (issue 12 §1 "Content addressing stays, within a scope"). Content that moves to
another scope (a file filed from the collaboration into the archive) is stored again there
(``copy_into``).

New content arrives at a fresh key of its scope (a plain ``put`` or a finished tus append);
``adopt`` then either records it as a new blob or, when the same content is already stored in
that scope, drops the new copy (in the background, after the commit) and counts one more
reference. Objects whose last reference goes are deleted after the record commit, so a
rolled-back change never loses content.

Content stored before scopes (a ``blobs`` record with ``id`` = the SHA-256 and no ``scope``) is
still found, counted and released through the same calls until ``kura migrate encrypt`` has
moved it (``api.archive.migrate``), so the service keeps working between an upgrade and the
migration.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from api.archive.models import BLOBS, blob_id, derived_key
from api.keys import scopes
from api.kit.clock import Clock, to_iso
from api.kit.ids import new_id, new_ids
from api.kit.uow import UnitOfWork
from storage.errors import DuplicateKey, KeyDestroyed, NotFound, StaleVersion, Tampered
from storage.ports import BlobInfo, BlobStore, RecordStore

_RETRIES = 50
DERIVED_NAMES = ("text.json", "thumb.jpg", "as.pdf")  # as.pdf: a proposal bundle's conversion


def upload_key(scope: str) -> str:
    """A fresh object key in ``scope`` for content whose hash is not known yet."""
    oid = new_id()
    return f"{scopes.prefix(scope)}objects/{oid[-2:]}/{oid}"


def upload_keys(scope: str, n: int) -> list[str]:
    """``n`` fresh object keys of ``scope`` (``upload_key``) at once."""
    head = f"{scopes.prefix(scope)}objects/"
    return [f"{head}{oid[-2:]}/{oid}" for oid in new_ids(n)]


def spool_key(scope: str, kind: str) -> str:
    """A fresh key for a temporary object of ``scope`` (a generated file kept in the blob
    store for a while): sealed and erased with the scope like its content."""
    return f"{scopes.prefix(scope)}{kind}/{new_id()}"


class OutsideScope(ValueError):
    """An object written outside the scope it is adopted into (a caller bug: its content
    would not be sealed or erased with the scope)."""


@dataclass(frozen=True)
class ScrubProblem:
    sha256: str
    key: str
    reason: str
    scope: str = ""


class ContentStore:
    def __init__(self, records: RecordStore, blobs: BlobStore, clock: Clock) -> None:
        self.records = records
        self.blobs = blobs
        self.clock = clock

    async def put(
        self, scope: str, chunks: AsyncIterator[bytes], uow: UnitOfWork, content_type: str = ""
    ) -> dict[str, Any]:
        """Stream new content into ``scope`` and adopt it (one reference, held by the caller)."""
        info = await self.blobs.put(
            upload_key(scope), chunks, content_type=content_type or "application/octet-stream"
        )
        return await self.adopt(scope, info, uow)

    async def adopt(self, scope: str, info: BlobInfo, uow: UnitOfWork) -> dict[str, Any]:
        """Record ``info`` (an object just written under ``scope``) as content of the scope
        with one more reference.

        Call inside ``uow``. If the scope holds the content already, the new object is deleted
        after commit, off the caller's answer, and the existing one is referenced; on rollback
        the new object is deleted too.
        """
        if not info.sha256:
            raise ValueError("adopt needs the object's SHA-256")
        if scopes.scope_of_key(info.key) != scope:
            raise OutsideScope(f"object {info.key!r} is not in scope {scope!r}")
        from api.keys.fence import ScopeErased, ensure_content_open

        try:
            # The write fence (api.keys.fence): nothing is recorded into a scope being
            # erased; the object just written goes with the refused unit (the whole scope's
            # objects go with the erasure anyway).
            await ensure_content_open(self.records, scope)
        except ScopeErased:
            uow.on_rollback(self.deleter(info.key))
            raise
        bid = blob_id(scope, info.sha256)
        now = to_iso(self.clock.now())
        for _ in range(_RETRIES):
            existing = await self.records.get(BLOBS, bid)
            try:
                if existing is None:
                    record = await self.records.insert(
                        BLOBS,
                        {
                            "id": bid,
                            "scope": scope,
                            "sha256": info.sha256,
                            "key": info.key,
                            "size": info.size,
                            "refs": 1,
                            "created_at": now,
                            "verified_at": now,
                        },
                    )
                    uow.on_rollback(self.deleter(info.key))
                    return record
                record = await self.records.update(
                    BLOBS, bid, {"refs": int(existing["refs"]) + 1}, existing["version"]
                )
            except (DuplicateKey, StaleVersion):
                continue
            if existing["key"] != info.key:
                # The same content is stored already: the new copy is never referenced. Its
                # delete (0.1-0.15 s per GiB on a local disk) runs after the answer; the orphan
                # sweep deletes it if the process stops first.
                uow.after_commit(self.deleter(info.key), background=True)
                uow.on_rollback(self.deleter(info.key))
            return record
        raise RuntimeError("blob reference kept colliding")

    async def copy_into(
        self, scope: str, source: dict[str, Any], uow: UnitOfWork
    ) -> dict[str, Any]:
        """One reference in ``scope`` to the content of ``source`` (a blob record of any
        scope): counted when ``scope`` holds it already (or is ``source``'s own), else its
        bytes are stored again under ``scope`` (never shared across scopes)."""
        sha = str(source["sha256"])
        if source.get("scope") == scope:
            return await self.incref(scope, sha)
        existing = await self.records.get(BLOBS, blob_id(scope, sha))
        if existing is not None:
            return await self.incref(scope, sha)
        info = await self.blobs.put(upload_key(scope), self.open(source))
        if info.sha256 != sha:
            await self.blobs.delete(info.key)
            raise Tampered(f"content {sha} read back as {info.sha256}")
        return await self.adopt(scope, info, uow)

    async def incref(self, scope: str, sha256: str, count: int = 1) -> dict[str, Any]:
        """``count`` more records point at content the scope holds (a file's copy in the same
        scope, a re-import)."""
        bid = blob_id(scope, sha256)
        for _ in range(_RETRIES):
            existing = await self._current(bid, sha256)
            if existing is None:
                raise NotFound(f"blob {bid}")
            bid = str(existing["id"])
            try:
                return await self.records.update(
                    BLOBS, bid, {"refs": int(existing["refs"]) + count}, existing["version"]
                )
            except StaleVersion:
                continue
        raise RuntimeError("blob reference kept colliding")

    async def release(self, scope: str, sha256: str, uow: UnitOfWork) -> None:
        """One record less points at the content; at zero, record, object and derived files
        go after commit."""
        bid = blob_id(scope, sha256)
        for _ in range(_RETRIES):
            existing = await self._current(bid, sha256)
            if existing is None:
                return
            bid = str(existing["id"])
            legacy = bid == sha256
            try:
                refs = int(existing["refs"]) - 1
                if refs > 0:
                    await self.records.update(BLOBS, bid, {"refs": refs}, existing["version"])
                    return
                await self.records.delete(BLOBS, bid, existing["version"])
            except StaleVersion:
                continue
            uow.after_commit(self.deleter(str(existing["key"])))
            for name in DERIVED_NAMES:
                old = f"derived/{sha256[:2]}/{sha256}/{name}"
                uow.after_commit(self.deleter(old if legacy else derived_key(scope, sha256, name)))
            return
        raise RuntimeError("blob reference kept colliding")

    def deleter(self, key: str) -> Callable[[], Awaitable[None]]:
        async def delete() -> None:
            await self.blobs.delete(key)

        return delete

    async def get(self, scope: str, sha256: str) -> dict[str, Any]:
        record = await self.lookup(scope, sha256)
        if record is None:
            raise NotFound(f"blob {scope}:{sha256}")
        return record

    async def lookup(self, scope: str, sha256: str) -> dict[str, Any] | None:
        """The content record of ``sha256`` in ``scope``, or the record of the same content
        stored before scopes (not migrated yet), or None."""
        record = await self.records.get(BLOBS, blob_id(scope, sha256))
        if record is not None:
            return record
        legacy = await self.records.get(BLOBS, sha256)
        return legacy if legacy is not None and not legacy.get("scope") else None

    async def _current(self, bid: str, sha256: str) -> dict[str, Any] | None:
        """The record ``bid`` (a scope's, one read in the common case), else the record of the
        same content stored before scopes."""
        record = await self.records.get(BLOBS, bid)
        if record is not None or bid == sha256:
            return record
        legacy = await self.records.get(BLOBS, sha256)
        return legacy if legacy is not None and not legacy.get("scope") else None

    def open(
        self, record: dict[str, Any], start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        return self.blobs.get(str(record["key"]), start, end)

    async def scrub(
        self, erased: Callable[[str], Awaitable[bool]] | None = None
    ) -> AsyncIterator[ScrubProblem]:
        """Re-read every object and yield those that no longer decrypt (sealed: every
        segment authenticates) or whose bytes no longer hash to their recorded SHA-256.
        ``erased(scope)`` names scopes whose keys were destroyed: their content is reported
        ``erased`` (gone on purpose), not missing."""
        async for record in self.records.scan(BLOBS):
            sha, key = str(record.get("sha256") or record["id"]), str(record["key"])
            scope = str(record.get("scope") or "")
            digest = hashlib.sha256()
            size = 0
            try:
                async for chunk in self.blobs.get(key):
                    digest.update(chunk)
                    size += len(chunk)
            except NotFound:
                gone = bool(scope) and erased is not None and await erased(scope)
                yield ScrubProblem(sha, key, "erased" if gone else "missing", scope)
                continue
            except KeyDestroyed:
                yield ScrubProblem(sha, key, "erased", scope)
                continue
            except Tampered as exc:
                yield ScrubProblem(sha, key, f"tampered ({exc})", scope)
                continue
            if not scope:
                yield ScrubProblem(sha, key, "unscoped (run kura migrate encrypt)", scope)
            elif digest.hexdigest() != sha:
                yield ScrubProblem(sha, key, "hash mismatch", scope)
            elif size != int(record["size"]):
                yield ScrubProblem(sha, key, "size mismatch", scope)
