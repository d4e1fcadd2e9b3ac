"""A work's life after completion: archive, retention, legal hold, disposal (issue 3 item 8).

Rules
- Completed works move to the archive, read-only (seed 000 手続きフロー: 完成検査後に保管管理
  システムへ移管). On the move to ``archived`` the work gets ``archived_at`` and
  ``retention_until`` = the archive date + the retention years of its document classes (the
  longest of the classes its files carry, at least ``retention_default_years``), both from
  the ``KURA_ARCHIVE__RETENTION_*`` settings.
- Read-only: the policy refuses ``files.write``/``files.delete``, ``works.update`` and member
  changes on archived works; ``WorkService.load`` answers 409 ``archived_read_only``.
- A legal hold (``archive.hold``: operators, or orderer staff with ``works.manage``) blocks
  deleting the work and any of its nodes until released (409 ``legal_hold``).
- An archived work may be deleted (disposed of, with its files) only by operators, only after
  ``retention_until`` and only without a hold; before that: 409 ``retention_active`` for
  everyone, operators included. Disposal also removes the records other modules keep per
  work (``register_work_records``: the 電子納品 check results and import records, issue 8
  item 12). Retention years per document class: ``api.config.RETENTION_SOURCES`` (cited).
- File documents in the index carry the work's status and acl: every change to those (update,
  transition, member change) enqueues ``index.work_files`` (work_id) after commit.
- Every step is audited: ``works.transitioned`` (with archived_at / retention_until),
  ``works.hold_placed``, ``works.hold_released``, ``works.disposed``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from api.archive.cas import ContentStore
from api.archive.models import NODES, NodeKind
from api.config import ArchiveSettings
from api.errors import Conflict
from api.kit.clock import to_iso
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from api.works.errors import ArchivedReadOnly
from indexer.query import SearchQuery
from storage.query import Eq, Record

if TYPE_CHECKING:
    from api.works.service import WorkService

# Task (ingest helper, workers/tasks/index.py) that rebuilds the index documents of a work's
# files from the records, so they carry the work's current status and acl.
WORK_FILES_TASK = "index.work_files"


class LegalHoldActive(Conflict):
    code = "legal_hold"
    title = "法的保全（リーガルホールド）中のため削除できません。"


class RetentionActive(Conflict):
    code = "retention_active"
    title = "保存期間が満了していないため削除できません。"


class HoldStateConflict(Conflict):
    code = "hold_state"
    title = "法的保全の状態が要求と一致しません。"


# Collections whose records belong to one work (a ``work_id`` field) and go with it on
# disposal; modules register theirs (``api.deliverables.module``).
WORK_RECORDS: list[str] = []


def register_work_records(*collections: str) -> None:
    for name in collections:
        if name not in WORK_RECORDS:
            WORK_RECORDS.append(name)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retention_years(doc_classes: list[str], archive: ArchiveSettings) -> int:
    """Years to keep an archived work (``KURA_ARCHIVE__RETENTION_*`` settings)."""
    by_class = archive.retention_years_by_class
    return max([archive.retention_default_years, *(by_class.get(c, 0) for c in doc_classes)])


def ensure_no_hold(work: Record) -> None:
    """Raise 409 ``legal_hold`` when the work is under a legal hold (for node deletion too)."""
    if work.get("legal_hold"):
        raise LegalHoldActive()


def reindex_files(uow: UnitOfWork, work_id: str) -> None:
    """Refresh the index documents of the work's files after commit (status, acl)."""
    uow.enqueue(WORK_FILES_TASK, work_id=work_id)


class Lifecycle:
    """Archive, hold and disposal steps of ``WorkService`` (shares its repo, policy, audit)."""

    def __init__(self, works: WorkService) -> None:
        self.works = works

    async def doc_classes(self, work_id: str) -> list[str]:
        """Document classes of the work's files, from the index (a facet, no record scan)."""
        query = SearchQuery(
            types=("file",),
            filters={"work_id": (work_id,)},
            acl=None,
            facets=("doc_class",),
            limit=0,
        )
        result = await self.works.index.search(query)
        return sorted(result.facets.get("doc_class", {}))

    async def archive_changes(self, work: Record) -> Record:
        """Fields set when a work enters the archive."""
        now = self.works.clock.now()
        classes = await self.doc_classes(str(work["id"]))
        years = retention_years(classes, self.works.archive)
        return {
            "archived_at": to_iso(now),
            "retention_years": years,
            "retention_until": add_years(now.date(), years).isoformat(),
        }

    async def place_hold(self, subject: Subject | None, work_id: str, reason: str) -> Record:
        work = await self.works.load(subject, work_id, "archive.hold")
        assert subject is not None
        if work.get("legal_hold"):
            raise HoldStateConflict("すでに法的保全が設定されています。")
        hold = {"reason": reason, "placed_by": subject.user_id, "placed_at": self._now()}
        async with self.works.uow():
            stored = await self.works.repo.update(
                work_id, {"legal_hold": hold, "updated_at": self._now()}, int(work["version"])
            )
            await self.works.audit.record(
                subject,
                "works.hold_placed",
                f"works/{work_id}",
                before=work,
                after=stored,
                detail={"reason": reason},
            )
        return stored

    async def release_hold(
        self, subject: Subject | None, work_id: str, reason: str | None
    ) -> Record:
        work = await self.works.load(subject, work_id, "archive.hold")
        if not work.get("legal_hold"):
            raise HoldStateConflict("法的保全は設定されていません。")
        async with self.works.uow():
            stored = await self.works.repo.update(
                work_id, {"legal_hold": None, "updated_at": self._now()}, int(work["version"])
            )
            await self.works.audit.record(
                subject,
                "works.hold_released",
                f"works/{work_id}",
                before=work,
                after=stored,
                detail={"reason": reason, "hold": work["legal_hold"]},
            )
        return stored

    def check_disposal(self, subject: Subject | None, work: Record) -> None:
        """Deleting an archived work: no hold, retention over (409 for everyone, operators
        included), and only operators dispose of the archive (409 read-only otherwise)."""
        ensure_no_hold(work)
        until = work.get("retention_until")
        today = self.works.clock.now().date()
        if until is None or today <= date.fromisoformat(str(until)):
            raise RetentionActive(
                f"保存期間（{until or '未設定'}まで）が満了していないため削除できません。",
                retention_until=until,
            )
        if subject is None or not subject.is_operator:
            raise ArchivedReadOnly()

    async def dispose(self, subject: Subject | str | None, work: Record, version: int) -> None:
        """Delete an archived work whose retention has ended, with its nodes and contents
        (``subject``: the operator, or a system name for the scheduled erasure)."""
        if self.works.blobs is None:
            raise RuntimeError("WorkService built without a blob store cannot dispose of works")
        work_id = str(work["id"])
        records = self.works.repo.records
        nodes = [n async for n in records.scan(NODES, (Eq("work_id", work_id),))]
        owned = {
            name: [r async for r in records.scan(name, (Eq("work_id", work_id),))]
            for name in WORK_RECORDS
        }
        async with self.works.uow() as uow:
            cas = ContentStore(records, self.works.blobs, self.works.clock)
            for name, items in owned.items():
                for item in items:
                    await records.delete(name, str(item["id"]), None)
                    # an import's uploaded ZIP, kept as its source (api.deliverables.sources)
                    kept = item.get("source_file")
                    if isinstance(kept, dict) and kept.get("sha256"):
                        await cas.release(str(kept["sha256"]), uow)
            for node in nodes:
                await records.delete(NODES, str(node["id"]), None)
                if node.get("kind") == NodeKind.FILE and node.get("sha256"):
                    await cas.release(str(node["sha256"]), uow)
                uow.unindex(str(node["id"]))
            for member in await self.works.repo.members(work_id):
                await self.works.repo.remove_member(work_id, member["user_id"])
            await self.works.repo.delete(work_id, version)
            await self.works.audit.record(
                subject,
                "works.disposed",
                f"works/{work_id}",
                before=work,
                detail={
                    "nodes": len(nodes),
                    "retention_until": work.get("retention_until"),
                    # modules register their collections; only those holding records are named
                    "records": {name: len(items) for name, items in owned.items() if items},
                },
            )
            uow.unindex(work_id)
        if self.works.erase_scopes is not None:
            # After the records are gone: destroy the work's data keys so nothing of it can
            # be decrypted from any copy (seed 001 別表3 12), then delete its scoped objects.
            by = (
                f"user:{subject.user_id}" if isinstance(subject, Subject) else (subject or "system")
            )
            await self.works.erase_scopes(work_id, by)

    def _now(self) -> str:
        return to_iso(self.works.clock.now())
