"""Resumable uploads (tus) into the blob port's appends, landing as file nodes.

The durable truth about received bytes is the blob port (``append_open``); the ``uploads``
record mirrors it and is reconciled on every HEAD. An upload writes into the scope its file
belongs to (``content_scope``): its append handle is ``<scope>_<upload id>`` and its object key
lies under the scope, so the blob adapters seal the parts as they arrive (issue 12 §1). On the
final byte the appended bytes become an object (``append_finish``) and, in one unit of work,
a file node (content is deduplicated there), the upload marked done, and the
``uploads.completed`` audit event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from api.archive.cas import upload_key
from api.archive.models import NODES, UPLOADS, NodeKind
from api.archive.nodes import NameTaken, NodeService
from api.audit.service import AuditLog
from api.container import Container
from api.deliverables.imports import queue_zip
from api.errors import (
    KuraError,
    NotAuthenticated,
    NotFoundError,
    OffsetConflict,
    PayloadTooLarge,
)
from api.keys import scopes
from api.kit.clock import from_iso, to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from api.uploads.limits import FileTooLarge, QuotaExceeded, limits_of
from api.uploads.schemas import UPLOAD_INDEXES, UploadState, target_of
from api.uploads.tus import UploadGone
from storage.errors import StaleVersion, StorageError
from storage.ports import Checksum, RecordStore
from storage.query import Eq, Record

OCTET = "application/octet-stream"
_SAVE_RETRIES = 10
# How long a HEAD or PATCH waits for this process's running PATCH of the same upload.
SETTLE_TIMEOUT_S = 30.0
# Uploads with a PATCH running in this process. A cut request keeps its bytes, but making
# them durable takes a moment (fsync, or an S3 part upload); a client that resumes at once
# would otherwise be told an older offset and send bytes twice.
_running: dict[str, asyncio.Event] = {}


@contextlib.asynccontextmanager
async def _exclusive(upload_id: str) -> AsyncIterator[None]:
    """Run alone among this process's requests on ``upload_id`` (waits, bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT_S
    while (event := _running.get(upload_id)) is not None:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), remaining)
    mine = _running[upload_id] = asyncio.Event()
    try:
        yield
    finally:
        if _running.get(upload_id) is mine:
            del _running[upload_id]
        mine.set()


class LengthExceeded(PayloadTooLarge):
    code = "upload_length_exceeded"
    title = "送信されたデータが宣言されたサイズ（Upload-Length）を超えています。"


def target_of_record(record: Record) -> tuple[str, str, str]:
    """(scope, append handle, object key) of an upload. Uploads begun before scopes existed
    append under their bare id and finish into a fresh key of their scope."""
    scope = record.get("content_scope")
    if not scope:
        if record.get("target") == "attachment":
            from api.attachments.service import scope_name

            scope = scope_name(dict(record.get("scope") or {}))
        else:
            scope = scopes.archive(str(record["work_id"]))
    scope = str(scope)
    handle = str(record.get("handle") or record["id"])
    key = str(record["key"])
    if scopes.scope_of_key(key) != scope:
        key = upload_key(scope)
    return scope, handle, key


def upload_id_of(handle: str) -> str:
    """The upload id of an append handle (``<scope>_<id>`` or a bare id)."""
    return handle.rpartition("_")[2] if scopes.scope_of_handle(handle) else handle


@dataclass
class Progress:
    record: Record
    offset: int
    node: Record | None = None


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(UPLOADS, UPLOAD_INDEXES)


class UploadService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.blobs = container.blobs
        self.clock = container.clock
        self.nodes = NodeService(container)
        self.audit = AuditLog(container.records, container.clock)
        self.limits = limits_of(container.settings)

    # quota ------------------------------------------------------------------------------
    async def used_bytes(self, work_id: str) -> int:
        """Bytes held by the work: its file nodes plus the declared lengths of open uploads."""
        total = 0
        async for node in self.records.scan(
            NODES, (Eq("work_id", work_id), Eq("kind", NodeKind.FILE.value))
        ):
            total += int(node.get("size") or 0)
        async for upload in self.records.scan(
            UPLOADS, (Eq("work_id", work_id), Eq("state", UploadState.OPEN.value))
        ):
            total += int(upload["length"])
        return total

    async def check_quota(self, work_id: str, adding: int) -> None:
        used = await self.used_bytes(work_id)
        if used + adding > self.limits.work_quota_bytes:
            raise QuotaExceeded(used, adding, self.limits.work_quota_bytes)

    def _expires(self) -> str:
        return to_iso(self.clock.now() + timedelta(hours=self.limits.upload_expiry_hours))

    # creation ---------------------------------------------------------------------------
    async def create(
        self, subject: Subject | None, work_id: str, length: int, metadata: dict[str, str]
    ) -> Record:
        """A new upload of ``length`` bytes into the work (``files.write``). Validates the
        target name, the size limit and the work quota before anything is stored."""
        work = await self.nodes.work(subject, work_id, "files.write")
        assert subject is not None
        target = target_of(metadata)
        if length > self.limits.max_upload_bytes:
            raise FileTooLarge(length, self.limits.max_upload_bytes)
        if target.on_conflict == "error" or target.on_conflict == "replace":
            existing = await self.nodes.by_path(str(work["id"]), target.path)
            if existing is not None and (
                target.on_conflict == "error" or existing["kind"] != NodeKind.FILE
            ):
                raise NameTaken(f"「{target.path}」はすでにあります。")
        await self.check_quota(str(work["id"]), length)
        now = to_iso(self.clock.now())
        scope = await self.nodes.scope_for(work, target.folder)
        upload_id = new_id()
        record: Record = {
            "id": upload_id,
            "work_id": work["id"],
            "user_id": subject.user_id,
            "length": length,
            "offset": 0,
            "metadata": metadata,
            "folder": target.folder,
            "name": target.name,
            "filetype": target.filetype,
            "on_conflict": target.on_conflict,
            "unpack": target.unpack,
            "content_scope": scope,
            "handle": scopes.handle(scope, upload_id),
            "key": upload_key(scope),
            "state": UploadState.OPEN.value,
            "expires_at": self._expires(),
            "created_at": now,
        }
        # The record exists before the append target, so the sweep never mistakes a new
        # target for an orphan.
        stored = await self.records.insert(UPLOADS, record)
        await self.blobs.append_open(str(record["handle"]))
        return stored

    # reading ----------------------------------------------------------------------------
    async def get(self, subject: Subject | None, upload_id: str) -> Record:
        """The upload if ``subject`` created it (or is an operator); 404 otherwise, 410 when
        expired or failed."""
        if subject is None:
            raise NotAuthenticated()
        record = await self.records.get(UPLOADS, upload_id) if is_id(upload_id) else None
        if record is None or (record["user_id"] != subject.user_id and not subject.is_operator):
            raise NotFoundError()
        state = record["state"]
        if state == UploadState.EXPIRED or (
            state == UploadState.OPEN and from_iso(record["expires_at"]) <= self.clock.now()
        ):
            raise UploadGone()
        if state == UploadState.FAILED:
            raise UploadGone(
                f"アップロードしたファイルを登録できませんでした: {record.get('reason')}"
            )
        return record

    async def progress(self, subject: Subject | None, upload_id: str) -> Progress:
        """The upload and its durable offset. An upload whose bytes all arrived but which
        was not finished (server stopped in between) is finished now."""
        record = await self.get(subject, upload_id)
        if record["state"] == UploadState.DONE:
            return Progress(record, int(record["length"]))
        async with _exclusive(upload_id):
            record = await self.get(subject, upload_id)
            if record["state"] == UploadState.DONE:
                return Progress(record, int(record["length"]))
            state = await self.blobs.append_open(target_of_record(record)[1])
            if state.size != record["offset"]:
                record = await self._save(record, {"offset": state.size})
            if state.size == record["length"]:
                return await self._complete(subject, record)
            return Progress(record, state.size)

    # appending --------------------------------------------------------------------------
    async def append(
        self,
        subject: Subject | None,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        checksum: Checksum | None = None,
        content_length: int | None = None,
    ) -> Progress:
        """Append one PATCH's bytes at ``offset``; on the last byte, place the file."""
        async with _exclusive(upload_id):
            return await self._append(subject, upload_id, offset, chunks, checksum, content_length)

    async def _append(
        self,
        subject: Subject | None,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        checksum: Checksum | None,
        content_length: int | None,
    ) -> Progress:
        record = await self.get(subject, upload_id)
        length = int(record["length"])
        if record["state"] == UploadState.DONE:
            if offset == length and not content_length:
                return Progress(record, length)
            raise OffsetConflict(expected_offset=length)
        await self._authorize(subject, record)
        if content_length is not None and offset + content_length > length:
            raise LengthExceeded()
        try:
            state = await self.blobs.append(
                target_of_record(record)[1],
                chunks,
                offset=offset,
                checksum=checksum,
                limit=length,
            )
        finally:
            # Refresh the expiry on every PATCH, even a cut one: the client is active.
            record = await self._save(record, {"expires_at": self._expires()})
        record = await self._save(record, {"offset": state.size})
        if state.size == length:
            return await self._complete(subject, record)
        return Progress(record, state.size)

    async def _authorize(self, subject: Subject | None, record: Record) -> None:
        """Still allowed to write where this upload lands (membership may have changed)."""
        if record.get("target") == "attachment":
            from api.attachments.service import AttachmentService

            await AttachmentService(self.container).authorize_scope(subject, record["scope"])
            return
        await self.nodes.work(subject, str(record["work_id"]), "files.write")

    async def _complete(self, subject: Subject | None, record: Record) -> Progress:
        if record.get("target") == "attachment":
            return await self._complete_attachment(subject, record)
        upload_id = str(record["id"])
        work = await self.nodes.work(subject, str(record["work_id"]), "files.write")
        filetype = str(record.get("filetype") or "")
        scope, handle, key = target_of_record(record)
        info = await self.blobs.append_finish(handle, key, content_type=filetype or OCTET)
        try:
            async with self.container.uow() as uow:
                node = await self.nodes.add_file(
                    subject,
                    work,
                    str(record["folder"]),
                    str(record["name"]),
                    info,
                    uow=uow,
                    scope=scope,
                    on_conflict=record["on_conflict"],
                    meta={"upload_id": upload_id},
                    declared_type=filetype,
                )
                import_id: str | None = None
                if record.get("unpack") and str(record["name"]).lower().endswith(".zip"):
                    # The import is visible (queued) from the moment the upload completes.
                    queued = await queue_zip(
                        self.container, str(work["id"]), node, subject, upload_id
                    )
                    import_id = str(queued["id"])
                    uow.enqueue("deliverables.import_zip", node_id=node["id"], import_id=import_id)
                current = await self.records.get(UPLOADS, upload_id)
                assert current is not None
                done = await self.records.update(
                    UPLOADS,
                    upload_id,
                    {
                        "state": UploadState.DONE.value,
                        "offset": info.size,
                        "node_id": node["id"],
                        "import_id": import_id,
                        "completed_at": to_iso(self.clock.now()),
                    },
                    int(current["version"]),
                )
                await self.audit.record(
                    subject,
                    "uploads.completed",
                    f"uploads/{upload_id}",
                    after={
                        "node_id": node["id"],
                        "path": node["path"],
                        "size": info.size,
                        "sha256": info.sha256,
                        "import_id": import_id,
                    },
                )
        except (KuraError, StorageError) as exc:
            await self._fail(upload_id, exc)
            raise
        return Progress(done, int(record["length"]), node)

    async def create_attachment(
        self, subject: Subject | None, length: int, metadata: dict[str, str]
    ) -> Record:
        """A new upload that becomes a staged attachment (``api.attachments``) instead of a
        file node. Scope from the metadata: ``work_id`` or the uploader's organization."""
        from api.attachments.service import AttachmentService, max_bytes, scope_name

        if subject is None:
            raise NotAuthenticated()
        attachments = AttachmentService(self.container)
        scope = attachments.scope_of(metadata, subject)
        await attachments.authorize_scope(subject, scope)
        target = target_of(metadata)
        limit = max_bytes(self.container.settings)
        if length > limit:
            raise FileTooLarge(length, limit)
        now = to_iso(self.clock.now())
        content_scope = scope_name(scope)
        upload_id = new_id()
        record: Record = {
            "id": upload_id,
            "target": "attachment",
            "scope": scope,
            **({"work_id": scope["work_id"]} if scope.get("work_id") else {}),
            "user_id": subject.user_id,
            "length": length,
            "offset": 0,
            "metadata": metadata,
            "name": target.name,
            "filetype": target.filetype,
            "content_scope": content_scope,
            "handle": scopes.handle(content_scope, upload_id),
            "key": upload_key(content_scope),
            "state": UploadState.OPEN.value,
            "expires_at": self._expires(),
            "created_at": now,
        }
        stored = await self.records.insert(UPLOADS, record)
        await self.blobs.append_open(str(record["handle"]))
        return stored

    async def _complete_attachment(self, subject: Subject | None, record: Record) -> Progress:
        from api.attachments.service import AttachmentService

        upload_id = str(record["id"])
        attachments = AttachmentService(self.container)
        await attachments.authorize_scope(subject, record["scope"])
        assert subject is not None
        filetype = str(record.get("filetype") or "")
        _, handle, key = target_of_record(record)
        info = await self.blobs.append_finish(handle, key, content_type=filetype or OCTET)
        try:
            async with self.container.uow() as uow:
                attachment = await attachments.adopt(
                    subject,
                    record["scope"],
                    str(record["name"]),
                    filetype,
                    info,
                    uow,
                    upload_id=upload_id,
                )
                current = await self.records.get(UPLOADS, upload_id)
                assert current is not None
                done = await self.records.update(
                    UPLOADS,
                    upload_id,
                    {
                        "state": UploadState.DONE.value,
                        "offset": info.size,
                        "attachment_id": attachment["id"],
                        "completed_at": to_iso(self.clock.now()),
                    },
                    int(current["version"]),
                )
        except (KuraError, StorageError) as exc:
            await self._fail(upload_id, exc)
            raise
        return Progress(done, int(record["length"]), attachment)

    async def _fail(self, upload_id: str, exc: Exception) -> None:
        reason = exc.detail if isinstance(exc, KuraError) else type(exc).__name__
        current = await self.records.get(UPLOADS, upload_id)
        if current is not None:
            await self._save(current, {"state": UploadState.FAILED.value, "reason": reason})

    async def _save(self, record: Record, changes: dict[str, Any]) -> Record:
        for _ in range(_SAVE_RETRIES):
            try:
                return await self.records.update(
                    UPLOADS, str(record["id"]), changes, int(record["version"])
                )
            except StaleVersion:
                fresh = await self.records.get(UPLOADS, str(record["id"]))
                if fresh is None:
                    raise NotFoundError() from None
                record = fresh
        raise RuntimeError("upload record kept changing")

    # termination ------------------------------------------------------------------------
    async def terminate(self, subject: Subject | None, upload_id: str) -> None:
        """Discard an upload and its received bytes (a finished upload's file stays)."""
        record = await self.get(subject, upload_id)
        await self.blobs.append_abort(target_of_record(record)[1])
        async with self.container.uow():
            await self.records.delete(UPLOADS, upload_id, None)
            await self.audit.record(
                subject,
                "uploads.terminated",
                f"uploads/{upload_id}",
                before={k: record[k] for k in ("work_id", "name", "length", "offset", "state")},
            )
