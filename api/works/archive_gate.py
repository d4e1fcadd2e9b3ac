"""What a move to the archive checks first (issue 8 §2): the latest 電子納品 check of the
work. Errors (E) only warn, unless the orderer's organization blocks such moves
(``block_archive_on_errors``, set by operators per organization); then the move answers 409
``archive_blocked`` naming the counts, and nothing changes.

The checks are the ``deliverables`` records (``api.deliverables``); they are read here by
collection name, so the works domain does not import the deliverables module (which imports
works).
"""

from __future__ import annotations

from api.works.errors import ArchiveBlocked
from storage.ports import RecordStore
from storage.query import Eq, Query, Record

DELIVERABLES = "deliverables"


async def latest_check(records: RecordStore, work_id: str) -> Record | None:
    page = await records.find(
        DELIVERABLES,
        Query(where=(Eq("work_id", work_id),), sort=(("created_at", -1),), limit=1),
    )
    return page.items[0] if page.items else None


async def ensure_archivable(records: RecordStore, work: Record) -> None:
    """Refuse the move when the orderer blocks it and the latest check found errors."""
    orderer = await records.get("organizations", str(work.get("orderer_org_id")))
    if not (orderer or {}).get("block_archive_on_errors"):
        return
    check = await latest_check(records, str(work["id"]))
    if check is None:
        return
    counts = (check.get("report") or {}).get("counts") or {}
    errors = int(counts.get("E", 0) or 0)
    if errors:
        raise ArchiveBlocked(
            f"最新の電子納品チェック（{check.get('created_at', '')[:10]}）に"
            f"エラーが{errors}件あります。エラーを直したパッケージを納品し直してください。",
            deliverable_id=str(check["id"]),
            errors=errors,
        )
