"""Attachments: files that belong to a record of some module (a post, a proposal, a bond's
receipt, an application's certificate) rather than to a work's folder tree.

Every module attaches files through this one service (house style: "uploads and content store
for every attachment, never rebuilt"). The bytes arrive through the archive's resumable tus
uploads (``POST /attachments/uploads``, then the shared ``/uploads/{id}`` PATCH/HEAD) or one
small multipart POST, land in the content store (deduplicated, counted, scrubbed) and are
extracted by the same ingest steps as deliverables (type detection, PDF text, thumbnails).

Life of an attachment:
1. ``staged``: uploaded, owned by its uploader, visible to them only. It names its scope: a
   work (the uploader must be a member who may write there) or the uploader's organization.
2. ``linked``: a module's service calls ``link`` inside its own unit of work when the parent
   record is saved (``parent = "posts/<id>"``); from then on who may read it is the parent's
   module's decision, asked through the reader registered for the parent kind
   (``register_reader``). Linking refuses another user's, another work's or an already
   linked attachment (a bundle naming another work's file is refused, issue 10 "Bad input").
3. gone: ``release`` (the parent deleted it, or a staged one expired after a day: the
   ``attachments.sweep`` beat task) drops the record and its content reference.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from api.archive.cas import ContentStore
from api.archive.ingest import IngestService
from api.archive.models import IngestState, clean_name, content_scope
from api.config import Settings
from api.errors import Forbidden, NotAuthenticated, NotFoundError, ValidationFailed
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from indexer.extract.mime import HEAD_BYTES, detect
from storage.errors import NotFound
from storage.ports import BlobInfo, IndexSpec, RecordStore
from storage.query import Eq, In, Query, Range, Record

if TYPE_CHECKING:
    from api.container import Container

log = logging.getLogger("kura.attachments")

ATTACHMENTS = "attachments"
INDEXES = [
    IndexSpec((("parent", 1), ("order", 1))),
    IndexSpec((("state", 1), ("created_at", 1))),
    IndexSpec((("owner_id", 1), ("created_at", 1))),
    IndexSpec((("sha256", 1),)),
]
STAGED_TTL = timedelta(hours=24)
MAX_PER_PARENT = 200
INGEST_TASK = "attachments.ingest"

# kind of parent ("posts") -> may this subject read the parent with this id?
Reader = Callable[["Container", Subject, str], Awaitable[bool]]
_READERS: dict[str, Reader] = {}


def register_reader(kind: str, reader: Reader) -> None:
    """A module declares who may read the attachments of its records (``kind`` is the
    collection name used in ``parent``, e.g. ``"posts"``)."""
    _READERS[kind] = reader


def scope_name(scope: dict[str, Any]) -> str:
    """The content scope (``api.keys.scopes``) of an attachment scope ``{"work_id": ...}`` or
    ``{"org_id": ...}``: a work's collaboration data, or the organization's own files."""
    if scope.get("work_id"):
        return scopes.collab(str(scope["work_id"]))
    return scopes.org(str(scope.get("org_id") or ""))


def max_bytes(settings: Settings) -> int:
    """The size limit of one attachment (``KURA_ARCHIVE__MAX_ATTACHMENT_BYTES``)."""
    return int(settings.archive.max_attachment_bytes)


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(ATTACHMENTS, INDEXES)


class AttachmentService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.cas = ContentStore(container.records, container.blobs, container.clock)

    # -- scope ---------------------------------------------------------------------------

    async def authorize_scope(self, subject: Subject | None, scope: dict[str, Any]) -> None:
        """May ``subject`` add attachments in ``scope`` (``{"work_id": ...}`` or
        ``{"org_id": ...}``)? Work scope: ``attachments.write`` on the work (members of a
        running work); 404 when the work is not readable. Org scope: own organization."""
        if subject is None:
            raise NotAuthenticated()
        work_id = scope.get("work_id")
        if work_id:
            from api.archive.nodes import NodeService

            await NodeService(self.container).work(subject, str(work_id), "attachments.write")
            return
        if not subject.org_id or scope.get("org_id") != subject.org_id:
            raise Forbidden()
        from api.keys import scopes
        from api.keys.fence import ensure_open

        await ensure_open(self.container, scopes.org(subject.org_id))  # the erasure's fence

    @staticmethod
    def scope_of(metadata: dict[str, str], subject: Subject) -> dict[str, Any]:
        """The scope named by tus metadata / form fields: ``work_id`` or, without it, the
        uploader's organization."""
        work_id = (metadata.get("work_id") or "").strip()
        if work_id:
            if not is_id(work_id):
                raise NotFoundError()
            return {"work_id": work_id}
        return {"org_id": subject.org_id}

    # -- arrival -------------------------------------------------------------------------

    async def adopt(
        self,
        subject: Subject,
        scope: dict[str, Any],
        name: str,
        declared_type: str,
        info: BlobInfo,
        uow: UnitOfWork,
        *,
        upload_id: str | None = None,
    ) -> Record:
        """Record an object just written (a finished upload or a form part) as a staged
        attachment of ``subject``; its content goes into the content store, in the scope's
        content scope (``scope_name``), where ``info`` must have been written."""
        content_scope = scope_name(scope)
        blob = await self.cas.adopt(content_scope, info, uow)
        now = to_iso(self.clock.now())
        record: Record = {
            "id": new_id(),
            "state": "staged",
            "owner_id": subject.user_id,
            "org_id": subject.org_id,
            **({"work_id": scope["work_id"]} if scope.get("work_id") else {}),
            "name": clean_name(name),
            "declared_type": declared_type[:255],
            "content_type": "",
            "size": int(blob.get("size") or info.size),
            "sha256": str(blob["sha256"]),
            "scope": content_scope,
            "created_at": now,
            "ingest": {"state": IngestState.QUEUED.value},
            **({"upload_id": upload_id} if upload_id else {}),
        }
        stored = await uow.records.insert(ATTACHMENTS, record)
        uow.enqueue(INGEST_TASK, attachment_id=stored["id"])
        return stored

    # -- linking -------------------------------------------------------------------------

    async def link(
        self,
        uow: UnitOfWork,
        subject: Subject,
        ids: Sequence[str],
        parent: str,
        *,
        work_id: str | None = None,
    ) -> list[Record]:
        """Attach the staged attachments ``ids`` (in this order) to ``parent``. Each must be
        the subject's own, staged, and of the same work (``work_id``; None: org scope).
        Already linked to this parent: kept, order updated. Raises ``ValidationFailed``
        naming the field ``attachments`` otherwise; nothing changes then (the caller's unit
        of work rolls back)."""
        if len(ids) > MAX_PER_PARENT:
            raise ValidationFailed(
                f"添付できるのは {MAX_PER_PARENT} 件までです。", field="attachments"
            )
        if len(set(ids)) != len(ids):
            raise ValidationFailed("同じ添付ファイルが重複しています。", field="attachments")
        found = {r["id"]: r for r in await uow.records.get_many(ATTACHMENTS, list(ids))}
        out: list[Record] = []
        for order, aid in enumerate(ids):
            record = found.get(aid)
            same_parent = record is not None and record.get("parent") == parent
            if record is None or (
                not same_parent
                and (record.get("state") != "staged" or record.get("owner_id") != subject.user_id)
            ):
                raise ValidationFailed(
                    "添付ファイルが見つかりません。もう一度アップロードしてください。",
                    field="attachments",
                )
            if record.get("work_id") != work_id:
                raise ValidationFailed("別の案件の添付ファイルは使えません。", field="attachments")
            out.append(
                await uow.records.update(
                    ATTACHMENTS,
                    aid,
                    {"state": "linked", "parent": parent, "order": order},
                    record["version"],
                )
            )
        return out

    async def move(self, uow: UnitOfWork, record: Record, parent: str) -> Record:
        """Hand a linked attachment to another parent of the same module (an edit removes a
        file from a post: its earlier revision keeps it, still read through the module)."""
        return await uow.records.update(
            ATTACHMENTS, str(record["id"]), {"parent": parent}, record["version"]
        )

    async def copy(
        self, uow: UnitOfWork, record: Record, parent: str, *, work_id: str | None, order: int
    ) -> Record:
        """A linked copy of ``record`` for another parent (one post made in several works at
        once): the same content, one more reference to it in the scope of ``work_id`` (stored
        again there when that is another scope: content is never shared across scopes)."""
        source_scope = content_scope(record)
        target = scope_name({"work_id": work_id, "org_id": record.get("org_id")})
        source = await self.cas.get(source_scope, str(record["sha256"]))
        await self.cas.copy_into(target, source, uow)
        copy: Record = {
            k: v
            for k, v in record.items()
            if k not in ("id", "version", "upload_id", "work_id", "scope")
        }
        copy.update(id=new_id(), state="linked", parent=parent, order=order, scope=target)
        if work_id:
            copy["work_id"] = work_id
        return await uow.records.insert(ATTACHMENTS, copy)

    async def of_parent(self, parent: str) -> list[Record]:
        page = await self.records.find(
            ATTACHMENTS,
            Query(where=(Eq("parent", parent),), sort=(("order", 1),), limit=MAX_PER_PARENT),
        )
        return list(page.items)

    async def of_parents(self, parents: Sequence[str]) -> dict[str, list[Record]]:
        """The attachments of several parents at once (lists of posts), in order."""
        out: dict[str, list[Record]] = {p: [] for p in parents}
        for start in range(0, len(parents), 200):
            chunk = tuple(parents[start : start + 200])
            cursor: str | None = None
            while True:
                # The store pages at most 1,000 records a query.
                page = await self.records.find(
                    ATTACHMENTS,
                    Query(
                        where=(In("parent", chunk),),
                        sort=(("order", 1),),
                        limit=1000,
                        cursor=cursor,
                    ),
                )
                for record in page.items:
                    out.setdefault(str(record["parent"]), []).append(record)
                cursor = page.next_cursor
                if cursor is None:
                    break
        return out

    async def release(self, uow: UnitOfWork, record: Record) -> None:
        """Delete the attachment record; its content reference goes after commit."""
        await uow.records.delete(ATTACHMENTS, str(record["id"]), record["version"])
        await self.cas.release(content_scope(record), str(record["sha256"]), uow)

    async def release_parent(self, uow: UnitOfWork, parent: str, keep: Sequence[str] = ()) -> int:
        """Release every attachment of ``parent`` except ``keep``; returns how many."""
        gone = 0
        for record in await self.of_parent(parent):
            if record["id"] not in keep:
                await self.release(uow, record)
                gone += 1
        return gone

    # -- reading -------------------------------------------------------------------------

    async def readable(self, subject: Subject | None, attachment_id: str) -> Record:
        """The attachment if ``subject`` may read it, else 404 (never 403: its existence is
        the parent's secret). Staged: its owner only. Linked: the parent module decides."""
        if subject is None:
            raise NotAuthenticated()
        record = (
            await self.records.get(ATTACHMENTS, attachment_id) if is_id(attachment_id) else None
        )
        if record is None:
            raise NotFoundError()
        if record.get("state") == "staged":
            if record.get("owner_id") != subject.user_id:
                raise NotFoundError()
            return record
        kind, _, parent_id = str(record.get("parent") or "").partition("/")
        reader = _READERS.get(kind)
        if reader is None or not await reader(self.container, subject, parent_id):
            raise NotFoundError()
        return record

    async def detected_type(self, record: Record) -> str:
        """The content's type as detected: ingest's answer when it ran, else sniffed now from
        the first bytes (a module refusing programs must not depend on ingest having run)."""
        if record.get("content_type"):
            return str(record["content_type"])
        blob = await self.cas.get(content_scope(record), str(record["sha256"]))
        head = b"".join(
            [chunk async for chunk in self.container.blobs.get(str(blob["key"]), 0, HEAD_BYTES)]
        )
        return detect(head, str(record.get("name") or "")).mime

    async def pages(self, record: Record) -> list[str] | None:
        """The extracted text per page (None before ingest or for files without text)."""
        return await IngestService(self.container).pages(record)

    # -- background ----------------------------------------------------------------------

    async def ingest(self, attachment_id: str) -> str:
        """Detect the type, extract text and a thumbnail (shared with deliverables: derived
        artefacts are per content). Idempotent; returns the final state or ``skipped``."""
        record = await self.records.get(ATTACHMENTS, attachment_id)
        if record is None:
            return "skipped"
        ingest = record.get("ingest") or {}
        if ingest.get("state") == IngestState.DONE.value:
            return "skipped"
        service = IngestService(self.container)
        try:
            outcome = await service.extract(record)
        except NotFound:
            outcome = None
        changes: dict[str, Any] = {
            "ingest": {"state": IngestState.DONE.value, "finished_at": to_iso(self.clock.now())}
        }
        if outcome is None:
            changes["ingest"] = {
                "state": IngestState.FAILED.value,
                "reason": "ファイルの内容が見つかりません。",
            }
        else:
            detected = outcome.detected
            if detected is not None:
                changes["content_type"] = detected.mime
                changes["file_type"] = detected.file_type
                if detected.mismatch:
                    changes["type_mismatch"] = detected.message
            changes["extract"] = {**outcome.extraction.as_dict(), "text": bool(outcome.pages)}
        fresh = await self.records.get(ATTACHMENTS, attachment_id)
        if fresh is None:
            return "skipped"
        await self.records.update(ATTACHMENTS, attachment_id, changes, fresh["version"])
        for hook in _AFTER_INGEST:
            try:
                await hook(self.container, fresh)
            except Exception:
                log.exception("after-ingest hook failed for attachment %s", attachment_id)
        return str(changes["ingest"]["state"])

    async def sweep(self) -> int:
        """Release staged attachments older than a day (uploaded, never attached)."""
        cutoff = to_iso(self.clock.now() - STAGED_TTL)
        gone = 0
        while True:
            page = await self.records.find(
                ATTACHMENTS,
                Query(where=(Eq("state", "staged"), Range("created_at", lt=cutoff)), limit=200),
            )
            if not page.items:
                return gone
            async with self.container.uow() as uow:
                for record in page.items:
                    await self.release(uow, record)
                    gone += 1


# Modules that index attachment text with their parent (the board's post documents) refresh
# the parent's index document when an attachment's text becomes available.
AfterIngest = Callable[["Container", Record], Awaitable[None]]
_AFTER_INGEST: list[AfterIngest] = []


def after_ingest(hook: AfterIngest) -> None:
    _AFTER_INGEST.append(hook)
