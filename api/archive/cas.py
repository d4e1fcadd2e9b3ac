"""Content-addressed storage over the blob port: one object per distinct SHA-256, counted.

New content arrives at a fresh key (a plain ``put`` or a finished tus append); ``adopt`` then
either records it as a new blob or, when the same content is already stored, drops the new
copy and counts one more reference. Objects whose last reference goes are deleted after the
record commit, so a rolled-back change never loses content.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from api.archive.models import BLOBS, derived_key
from api.kit.clock import Clock, to_iso
from api.kit.ids import new_id, new_ids
from api.kit.uow import UnitOfWork
from storage.errors import DuplicateKey, NotFound, StaleVersion
from storage.ports import BlobInfo, BlobStore, RecordStore

_RETRIES = 50
DERIVED_NAMES = ("text.json", "thumb.jpg", "as.pdf")  # as.pdf: a proposal bundle's conversion


def upload_key() -> str:
    """A fresh object key for content whose hash is not known yet."""
    oid = new_id()
    return f"objects/{oid[-2:]}/{oid}"


def upload_keys(n: int) -> list[str]:
    """``n`` fresh object keys (``upload_key``) at once."""
    return [f"objects/{oid[-2:]}/{oid}" for oid in new_ids(n)]


@dataclass(frozen=True)
class ScrubProblem:
    sha256: str
    key: str
    reason: str


class ContentStore:
    def __init__(self, records: RecordStore, blobs: BlobStore, clock: Clock) -> None:
        self.records = records
        self.blobs = blobs
        self.clock = clock

    async def put(
        self, chunks: AsyncIterator[bytes], uow: UnitOfWork, content_type: str = ""
    ) -> dict[str, Any]:
        """Stream new content in and adopt it (one reference, held by the caller's node)."""
        info = await self.blobs.put(
            upload_key(), chunks, content_type=content_type or "application/octet-stream"
        )
        return await self.adopt(info, uow)

    async def adopt(self, info: BlobInfo, uow: UnitOfWork) -> dict[str, Any]:
        """Record ``info`` (an object just written) as content with one more reference.

        Call inside ``uow``. If the content exists already, the new object is deleted after
        commit and the existing one is referenced; on rollback the new object is deleted too.
        """
        if not info.sha256:
            raise ValueError("adopt needs the object's SHA-256")
        now = to_iso(self.clock.now())
        for _ in range(_RETRIES):
            existing = await self.records.get(BLOBS, info.sha256)
            try:
                if existing is None:
                    record = await self.records.insert(
                        BLOBS,
                        {
                            "id": info.sha256,
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
                    BLOBS, info.sha256, {"refs": int(existing["refs"]) + 1}, existing["version"]
                )
            except (DuplicateKey, StaleVersion):
                continue
            if existing["key"] != info.key:
                # The same content is stored already: the new copy is never referenced.
                uow.after_commit(self.deleter(info.key))
                uow.on_rollback(self.deleter(info.key))
            return record
        raise RuntimeError("blob reference kept colliding")

    async def incref(self, sha256: str, count: int = 1) -> dict[str, Any]:
        """``count`` more nodes point at existing content (copy of a file, re-import)."""
        for _ in range(_RETRIES):
            existing = await self.records.get(BLOBS, sha256)
            if existing is None:
                raise NotFound(f"blob {sha256}")
            try:
                return await self.records.update(
                    BLOBS, sha256, {"refs": int(existing["refs"]) + count}, existing["version"]
                )
            except StaleVersion:
                continue
        raise RuntimeError("blob reference kept colliding")

    async def release(self, sha256: str, uow: UnitOfWork) -> None:
        """One node less points at the content; at zero, record and object go after commit."""
        for _ in range(_RETRIES):
            existing = await self.records.get(BLOBS, sha256)
            if existing is None:
                return
            try:
                refs = int(existing["refs"]) - 1
                if refs > 0:
                    await self.records.update(BLOBS, sha256, {"refs": refs}, existing["version"])
                    return
                await self.records.delete(BLOBS, sha256, existing["version"])
            except StaleVersion:
                continue
            uow.after_commit(self.deleter(str(existing["key"])))
            for name in DERIVED_NAMES:
                uow.after_commit(self.deleter(derived_key(sha256, name)))
            return
        raise RuntimeError("blob reference kept colliding")

    def deleter(self, key: str) -> Callable[[], Awaitable[None]]:
        async def delete() -> None:
            await self.blobs.delete(key)

        return delete

    async def get(self, sha256: str) -> dict[str, Any]:
        record = await self.records.get(BLOBS, sha256)
        if record is None:
            raise NotFound(f"blob {sha256}")
        return record

    def open(
        self, record: dict[str, Any], start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        return self.blobs.get(str(record["key"]), start, end)

    async def scrub(self) -> AsyncIterator[ScrubProblem]:
        """Re-read every object and yield those whose bytes no longer hash to their id."""
        async for record in self.records.scan(BLOBS):
            sha, key = str(record["id"]), str(record["key"])
            digest = hashlib.sha256()
            size = 0
            try:
                async for chunk in self.blobs.get(key):
                    digest.update(chunk)
                    size += len(chunk)
            except NotFound:
                yield ScrubProblem(sha, key, "missing")
                continue
            if digest.hexdigest() != sha:
                yield ScrubProblem(sha, key, "hash mismatch")
            elif size != int(record["size"]):
                yield ScrubProblem(sha, key, "size mismatch")
