"""The in-app notifications about a work, erased with the collaboration copy (seed 001 §3-6:
情報共有システム上の全てのデータを消去): they name posts and proposals that are gone and link to
them. The hand-over's own notices (the erasure date and its reminder) stay: they tell the
users what happened to the work's data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.kit.uow import UnitOfWork
from storage.query import Eq

if TYPE_CHECKING:
    from api.container import Container

KEPT_KINDS = ("handover.",)


async def erase_notifications(
    container: Container, uow: UnitOfWork, work_id: str
) -> dict[str, int]:
    """Delete the work's notifications inside ``uow`` (a scan of the collection: the erasure
    runs once per work, from the hourly job); returns counts."""
    from api.notifications.service import NOTIFICATIONS

    records = container.records
    doomed = [
        n
        async for n in records.scan(NOTIFICATIONS, (Eq("work_id", work_id),))
        if not str(n.get("kind") or "").startswith(KEPT_KINDS)
    ]
    for notification in doomed:
        await records.delete(NOTIFICATIONS, str(notification["id"]), None)
    return {NOTIFICATIONS: len(doomed)} if doomed else {}
