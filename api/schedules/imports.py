"""iCalendar import into one's own schedule (seed 001 別表1-1 7(6), 別表1-2 7(6)) as a job with
progress and a report.

1. Arrival (a request): the file comes as a bounded direct upload or as a staged attachment
   (the shared tus uploads). Cheap checks run at once, so the commonest bad files get a clear
   problem+json and store nothing: larger than ``max_import_bytes`` (413); not UTF-8/CP932;
   not starting with BEGIN:VCALENDAR; cut off (no END:VCALENDAR); more VEVENTs than
   ``max_import_events``. The file is kept as an attachment of the import record and the task
   ``schedules.import_ics`` is enqueued with the import's id (acknowledged = never lost).
2. The job reads the whole structure first (``api.schedules.ical.scan``) and stores nothing
   when the file is refused; then parses each event, groups them by UID (the series and its
   RECURRENCE-ID overrides), and writes in batches, updating the progress between batches.
   Re-importing the same file updates by UID (never duplicates): a newer SEQUENCE or changed
   content is "updated", the same content "skipped (変更なし)", STATUS:CANCELLED removes.
   Events that cannot be taken (an unknown zone, a rule that never ends at minute steps, no
   DTSTART, every instance excluded) are skipped with their reason in the report.
   Idempotent: a re-run after a crash converges on the same entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from api.archive.models import content_scope
from api.attachments.service import ATTACHMENTS, AttachmentService, register_reader
from api.audit.service import AuditLog
from api.errors import NotFoundError, PayloadTooLarge, ValidationFailed
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.permissions.policy import Subject
from api.schedules import ical, months
from api.schedules.entries import NoOccurrence, time_fields
from api.schedules.models import ENTRIES, IMPORTS, PRIVATE, PUBLIC
from api.schedules.recurrence import format_local
from api.schedules.service import ScheduleService
from storage.query import Eq, In, Query, Record

if TYPE_CHECKING:
    from api.container import Container

TASK = "schedules.import_ics"
BATCH = 250
MAX_REPORT_ITEMS = 500


async def _reader(container: Container, subject: Subject, import_id: str) -> bool:
    record = await container.records.get(IMPORTS, import_id)
    return record is not None and record.get("owner_id") == subject.user_id


register_reader(IMPORTS, _reader)


def precheck(data: bytes, max_events: int) -> None:
    """The checks run before the file is accepted (C-speed: no per-line Python)."""
    try:
        text, _ = ical.decode(data)
    except ical.IcsError as exc:
        raise ValidationFailed(str(exc), field="file") from exc
    head = text.lstrip("\ufeff \t\r\n")[:15].upper()
    if not head.startswith("BEGIN:VCALENDAR"):
        raise ValidationFailed(
            "iCalendar 形式(BEGIN:VCALENDAR で始まるファイル)ではありません。", field="file"
        )
    if not text.rstrip().upper().endswith("END:VCALENDAR"):
        raise ValidationFailed(
            "ファイルが途中で切れています(END:VCALENDAR がありません)。", field="file"
        )
    if text.upper().count("BEGIN:VEVENT") > max_events:
        raise ValidationFailed(f"予定の件数が上限({max_events:,} 件)を超えています。", field="file")


class ImportService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.settings = container.settings.schedules
        self.schedules = ScheduleService(container)

    # -- arrival ---------------------------------------------------------------------------
    async def _options(
        self, subject: Subject | None, visibility: str, work_id: str | None
    ) -> tuple[Subject, list[str]]:
        me = self.schedules._me(subject)
        if visibility not in (PUBLIC, PRIVATE):
            raise ValidationFailed("公開範囲が正しくありません。", field="visibility")
        works = await self.schedules.check_works(me, [work_id]) if work_id else []
        return me, works

    async def from_upload(
        self,
        subject: Subject | None,
        filename: str,
        chunks: AsyncIterator[bytes],
        *,
        visibility: str = PUBLIC,
        work_id: str | None = None,
    ) -> Record:
        """A direct upload (bounded by ``max_import_bytes``)."""
        me, works = await self._options(subject, visibility, work_id)
        limit = self.settings.max_import_bytes
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"ファイルが大きすぎます(上限 {limit // 1024**2} MB)。")
            parts.append(chunk)
        data = b"".join(parts)
        await asyncio.to_thread(precheck, data, self.settings.max_import_events)

        async def body() -> AsyncIterator[bytes]:
            yield data

        from api.archive.cas import upload_key
        from api.attachments.service import scope_name

        # An organization's own file (several works may take its entries): its o- scope.
        owner = {"org_id": me.org_id}
        info = await self.container.blobs.put(
            upload_key(scope_name(owner)), body(), content_type="text/calendar"
        )
        attachments = AttachmentService(self.container)
        async with self.container.uow() as uow:
            staged = await attachments.adopt(
                me, owner, filename or "import.ics", "text/calendar", info, uow
            )
            return await self._create(uow, me, staged, visibility, works)

    async def from_attachment(
        self,
        subject: Subject | None,
        attachment_id: str,
        *,
        visibility: str = PUBLIC,
        work_id: str | None = None,
    ) -> Record:
        """A staged attachment of the subject (uploaded with the shared tus uploads)."""
        me, works = await self._options(subject, visibility, work_id)
        attachments = AttachmentService(self.container)
        record = await attachments.readable(me, attachment_id)
        if record.get("state") != "staged":
            raise ValidationFailed(
                "この添付ファイルは取り込みに使えません。", field="attachment_id"
            )
        if int(record.get("size") or 0) > self.settings.max_import_bytes:
            raise PayloadTooLarge(
                f"ファイルが大きすぎます(上限 {self.settings.max_import_bytes // 1024**2} MB)。"
            )
        data = await self._content(record)
        await asyncio.to_thread(precheck, data, self.settings.max_import_events)
        async with self.container.uow() as uow:
            return await self._create(uow, me, record, visibility, works)

    async def _create(
        self, uow: Any, me: Subject, attachment: Record, visibility: str, works: list[str]
    ) -> Record:
        import_id = new_id()
        await AttachmentService(self.container).link(
            uow,
            me,
            [attachment["id"]],
            f"{IMPORTS}/{import_id}",
            work_id=attachment.get("work_id"),
        )
        record: Record = {
            "id": import_id,
            "owner_id": me.user_id,
            "org_id": me.org_id,
            "state": "queued",
            "attachment_id": attachment["id"],
            "filename": str(attachment.get("name") or ""),
            "size": int(attachment.get("size") or 0),
            "visibility": visibility,
            "work_ids": works,
            "progress": {"processed": 0, "total": 0},
            "report": {},
            "created_at": to_iso(self.clock.now()),
        }
        stored: Record = await uow.records.insert(IMPORTS, record)
        uow.enqueue(TASK, import_id=import_id)
        return stored

    async def _content(self, attachment: Record) -> bytes:
        cas = AttachmentService(self.container).cas
        blob = await cas.get(content_scope(attachment), str(attachment["sha256"]))
        return b"".join([chunk async for chunk in cas.open(blob)])

    async def get(self, subject: Subject | None, import_id: str) -> Record:
        me = self.schedules._me(subject)
        record = await self.records.get(IMPORTS, import_id) if is_id(import_id) else None
        if record is None or record.get("owner_id") != me.user_id:
            raise NotFoundError()
        return record

    async def list(self, subject: Subject | None, limit: int = 20) -> list[Record]:
        me = self.schedules._me(subject)
        page = await self.records.find(
            IMPORTS,
            Query(where=(Eq("owner_id", me.user_id),), sort=(("created_at", -1),), limit=limit),
        )
        return page.items

    # -- the job ---------------------------------------------------------------------------
    async def run(self, import_id: str) -> str:
        """Run the import (the task's body). Returns the final state."""
        record = await self.records.get(IMPORTS, import_id)
        if record is None:
            return "missing"
        if record["state"] in ("done", "failed"):
            return str(record["state"])
        record = await self._set(record, state="running", started_at=to_iso(self.clock.now()))
        attachment = await self.records.get(ATTACHMENTS, str(record["attachment_id"]))
        if attachment is None:
            await self._set(record, state="failed", error="取り込むファイルが見つかりません。")
            return "failed"
        data = await self._content(attachment)
        try:
            text, warnings = ical.decode(data)
            del data
            scanned = ical.scan(text, self.settings.max_import_events)
            del text
        except ical.IcsError as exc:
            await self._set(
                record, state="failed", error=str(exc), finished_at=to_iso(self.clock.now())
            )
            return "failed"
        run = _Run(self, record, scanned, warnings)
        await run.execute()
        return "done"

    async def _set(self, record: Record, **changes: Any) -> Record:
        fresh = await self.records.get(IMPORTS, str(record["id"]))
        assert fresh is not None
        stored: Record = await self.records.update(
            IMPORTS, str(record["id"]), changes, fresh["version"]
        )
        return stored


class _Run:
    """One execution of an import job."""

    def __init__(
        self, service: ImportService, record: Record, scanned: ical.Scan, warnings: list[str]
    ) -> None:
        self.service = service
        self.record = record
        self.scanned = scanned
        self.zones = ical.Zones(scanned)
        self.counts = {"imported": 0, "updated": 0, "skipped": 0, "deleted": 0}
        self.items: list[dict[str, str]] = []
        self.inserts: list[Record] = []  # new entries of the batch, stored by ``_flush``
        self.warnings = list(warnings) + list(scanned.warnings)
        for kind, n in sorted(scanned.ignored.items()):
            self.warnings.append(f"{kind} ({n} 件) は予定ではないため取り込みませんでした。")

    def note(self, uid: str, title: str, outcome: str, reason: str = "") -> None:
        self.counts[outcome] += 1
        if len(self.items) < MAX_REPORT_ITEMS and (outcome != "imported" or len(self.items) < 100):
            self.items.append(
                {"uid": uid[:120], "title": title[:100], "outcome": outcome, "reason": reason}
            )

    async def execute(self) -> None:
        groups: dict[str, list[ical.Event]] = {}
        total = len(self.scanned.events)
        for text in self.scanned.events:
            try:
                event = ical.parse_event(text, self.zones, self.scanned.x_wr_timezone)
            except ical.EventError as exc:
                self.note("", _summary_of(text), "skipped", str(exc))
                continue
            groups.setdefault(event.uid, []).append(event)
        self.scanned.events = []  # free the texts
        await self.service._set(self.record, progress={"processed": 0, "total": total})
        done = 0
        uids = list(groups)
        for i in range(0, len(uids), BATCH):
            chunk = uids[i : i + BATCH]
            await self._batch({uid: groups[uid] for uid in chunk})
            done += sum(len(groups[u]) for u in chunk)
            await self.service._set(self.record, progress={"processed": done, "total": total})
        report = {**self.counts, "items": self.items, "warnings": self.warnings[:50]}
        now = to_iso(self.service.clock.now())
        async with self.service.container.uow() as uow:
            fresh = await uow.records.get(IMPORTS, str(self.record["id"]))
            assert fresh is not None
            await uow.records.update(
                IMPORTS,
                str(self.record["id"]),
                {
                    "state": "done",
                    "report": report,
                    "finished_at": now,
                    "progress": {"processed": total, "total": total},
                },
                fresh["version"],
            )
            await AuditLog(uow.records, self.service.clock).record(
                str(self.record["owner_id"]),
                "schedules.imported",
                f"{IMPORTS}/{self.record['id']}",
                detail={**self.counts},
            )

    async def _batch(self, groups: dict[str, list[ical.Event]]) -> None:
        owner = str(self.record["owner_id"])
        records = self.service.records
        existing: dict[str, Record] = {}
        page = await records.find(
            ENTRIES, Query(where=(Eq("owner_id", owner), In("uid", tuple(groups))), limit=1000)
        )
        existing = {str(e["uid"]): e for e in page.items}
        async with self.service.container.uow() as uow:
            for uid, events in groups.items():
                await self._one(uow, owner, uid, events, existing.get(uid))
            await self._flush(uow)
            await months.changed(uow.records, [owner])

    async def _flush(self, uow: Any) -> None:
        """Store the new entries of the batch in one statement (one by one, each was a
        round trip to the store's writer: a third of a 10,000-event import)."""
        if self.inserts:
            await uow.records.insert_many(ENTRIES, self.inserts)
            self.inserts = []

    async def _one(
        self, uow: Any, owner: str, uid: str, events: list[ical.Event], current: Record | None
    ) -> None:
        masters = [e for e in events if e.recurrence_id is None]
        overrides = [e for e in events if e.recurrence_id is not None]
        if not masters:
            # Only edited occurrences of a series not in the file: each stands alone.
            for e in overrides:
                e.rrule, e.rdates, e.exdates = None, [], []
                e.uid = f"{uid}#{format_local(e.recurrence_id)}"  # type: ignore[arg-type]
                e.recurrence_id = None
                await self._flush(uow)  # the lookup below must see this batch's entries
                lone = await uow.records.find(
                    ENTRIES, Query(where=(Eq("owner_id", owner), Eq("uid", e.uid)), limit=1)
                )
                await self._one(uow, owner, e.uid, [e], lone.items[0] if lone.items else None)
            return
        master = max(masters, key=lambda e: e.sequence)
        if master.cancelled:
            if current is not None:
                await uow.records.delete(ENTRIES, str(current["id"]), None)
                self.note(uid, master.title, "deleted", "STATUS:CANCELLED")
            else:
                self.note(uid, master.title, "skipped", "取り消された予定(STATUS:CANCELLED)です。")
            return
        exdates = list(master.exdates)
        over_map: dict[str, dict[str, str]] = {}
        for o in overrides:
            assert o.recurrence_id is not None
            if o.cancelled:
                exdates.append(o.recurrence_id)
                continue
            if isinstance(o.start, type(master.start)) is False or o.all_day != master.all_day:
                self.warnings.append(f"{master.title[:40]}: 形式の異なる変更回を無視しました。")
                continue
            entry: dict[str, str] = {"start": format_local(o.start), "end": format_local(o.end)}
            if o.title != master.title:
                entry["title"] = o.title
            if o.location != master.location:
                entry["location"] = o.location
            over_map[format_local(o.recurrence_id)] = entry
        try:
            fields = time_fields(
                tz=master.tz,
                all_day=master.all_day,
                start=master.start,
                end=master.end,
                rrule=master.rrule,
                rdates=master.rdates,
                exdates=exdates,
                overrides=over_map,
            )
        except NoOccurrence:
            self.note(uid, master.title, "skipped", "除外日(EXDATE)ですべての回が除かれています。")
            return
        except ValidationFailed as exc:
            self.note(uid, master.title, "skipped", exc.detail)
            return
        values: Record = {
            "title": master.title,
            "location": master.location,
            "description": master.description,
            "visibility": PRIVATE if master.private else str(self.record["visibility"]),
            "work_ids": list(self.record.get("work_ids") or []),
            **fields,
        }
        digest = ical.digest(values)
        now = to_iso(self.service.clock.now())
        sequence = max(e.sequence for e in events)
        source = {
            "kind": "ics",
            "import_id": str(self.record["id"]),
            "digest": digest,
            "ics_sequence": str(sequence),
        }
        if current is None:
            entry_id = new_id()
            self.inserts.append(
                {
                    "id": entry_id,
                    "owner_id": owner,
                    "org_id": self.record.get("org_id"),
                    **values,
                    "uid": uid,
                    "sequence": sequence,
                    "source": source,
                    "created_by": owner,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            self.note(uid, master.title, "imported")
            return
        old = current.get("source") or {}
        if sequence < int(old.get("ics_sequence") or 0):
            self.note(uid, master.title, "skipped", "より新しい版が登録済みです(SEQUENCE)。")
            return
        if old.get("digest") == digest:
            self.note(uid, master.title, "skipped", "変更なし")
            return
        await uow.records.update(
            ENTRIES,
            str(current["id"]),
            {
                **values,
                "sequence": max(sequence, int(current.get("sequence") or 0) + 1),
                "source": source,
                "updated_at": now,
            },
            current["version"],
        )
        self.note(uid, master.title, "updated")


def _summary_of(text: str) -> str:
    for line in text.splitlines():
        if line.upper().startswith("SUMMARY"):
            return line.partition(":")[2][:100]
    return ""
