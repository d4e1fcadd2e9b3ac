"""The 経審 data sets the operator imports (see ``reviews`` for the file and the check)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from api.archive.models import content_scope
from api.attachments.service import AttachmentService
from api.audit.service import AuditLog
from api.errors import ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from api.qualifications import reviews
from api.qualifications.models import REVIEW_SETS, REVIEWS
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

BATCH = 500
MAX_BYTES = 64 * 1024 * 1024


def review_id(set_id: str, key: str) -> str:
    return f"{set_id}:{key}"


class ReviewSetService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy

    async def current(self) -> dict[str, Any] | None:
        page = await self.records.find(
            REVIEW_SETS,
            Query(where=(Eq("state", "current"),), sort=(("imported_at", -1), ("id", -1)), limit=1),
        )
        return page.items[0] if page.items else None

    async def lookup(self, set_id: str, key: str) -> dict[str, Any] | None:
        return await self.records.get(REVIEWS, review_id(set_id, key))

    async def list(self, subject: Subject | None) -> list[dict[str, Any]]:
        self.policy.require(subject, "qualifications.reviews.manage")
        page = await self.records.find(
            REVIEW_SETS, Query(sort=(("imported_at", -1), ("id", -1)), limit=100)
        )
        return page.items

    async def import_attachment(
        self, subject: Subject | None, attachment_id: str, source: str, as_of: str
    ) -> dict[str, Any]:
        """Import a file the operator uploaded through the shared attachments (tus): parse
        it whole first (off the event loop); any bad line refuses the import with every bad
        line listed, storing nothing. Then the companies are written in batches and the set
        becomes current in one unit with the audit event; the file stays linked to the set
        as its source."""
        self.policy.require(subject, "qualifications.reviews.manage")
        assert subject is not None
        attachments = AttachmentService(self.container)
        found = await attachments.readable(subject, attachment_id)
        if found.get("state") != "staged":
            raise ValidationFailed(
                "取り込むファイルをアップロードしてください。", field="attachment_id"
            )
        if int(found.get("size") or 0) > MAX_BYTES:
            raise ValidationFailed("ファイルが大きすぎます（64MBまで）。", field="attachment_id")
        blob = await attachments.cas.get(content_scope(found), str(found["sha256"]))
        data = b"".join([chunk async for chunk in attachments.cas.open(blob)])
        filename = str(found.get("name") or "")
        if len(data) > MAX_BYTES:
            raise ValidationFailed("ファイルが大きすぎます（64MBまで）。", field="attachment_id")
        try:
            companies = await asyncio.to_thread(
                lambda: reviews.parse(reviews.read_table(data, filename))
            )
        except reviews.ImportError_ as exc:
            raise ValidationFailed(
                f"経営事項審査データを取り込めません（{exc.errors[0]['line']}行目: "
                f"{exc.errors[0]['message']}）。",
                field="attachment_id",
                errors=exc.errors,
            ) from exc
        set_id = new_id()
        now = to_iso(self.clock.now())
        rows = [{"id": review_id(set_id, c["key"]), "set_id": set_id, **c} for c in companies]
        try:
            for start in range(0, len(rows), BATCH):
                await self.records.insert_many(REVIEWS, rows[start : start + BATCH])
            record = {
                "id": set_id,
                "source": source,
                "as_of": as_of,
                "file_name": filename,
                "attachment_id": attachment_id,
                "state": "current",
                "imported_at": now,
                "imported_by": subject.user_id if subject else None,
                **reviews.summary(companies),
            }
            async with self.container.uow() as uow:
                previous = await self.current()
                if previous is not None:
                    await uow.records.update(
                        REVIEW_SETS, previous["id"], {"state": "replaced"}, previous["version"]
                    )
                stored = await uow.records.insert(REVIEW_SETS, record)
                await attachments.link(uow, subject, [attachment_id], f"{REVIEW_SETS}/{set_id}")
                await AuditLog(uow.records, self.clock).record(
                    subject,
                    "qualifications.reviews_imported",
                    f"{REVIEW_SETS}/{set_id}",
                    after=record,
                )
        except Exception:
            # Nothing half-stored: the rows of a set that never became current go.
            async for row in self.records.scan(REVIEWS, (Eq("set_id", set_id),)):
                await self.records.delete(REVIEWS, row["id"], None)
            raise
        return stored
