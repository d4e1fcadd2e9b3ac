"""The schedules' part of the collaboration copy of a work, erased with the rest (seed 001 §3-6:
契約終了後、情報共有システム上の全てのデータを消去): an entry that concerns only this work goes;
an entry that also concerns other works stays for them and forgets this one. Entries that name
no work are the users' own and are not the work's data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.kit.uow import UnitOfWork
from storage.query import Eq

if TYPE_CHECKING:
    from api.container import Container


async def erase_schedules(container: Container, uow: UnitOfWork, work_id: str) -> dict[str, int]:
    """Delete or detach the work's schedule entries inside ``uow``; returns counts."""
    from api.schedules import months
    from api.schedules.models import ENTRIES

    records = container.records
    entries = [e async for e in records.scan(ENTRIES, (Eq("work_ids", work_id),))]
    deleted = detached = 0
    for entry in entries:
        others = [w for w in entry.get("work_ids") or [] if w != work_id]
        if others:
            await records.update(
                ENTRIES, str(entry["id"]), {"work_ids": others}, int(entry["version"])
            )
            detached += 1
        else:
            await records.delete(ENTRIES, str(entry["id"]), None)
            deleted += 1
    # The owners' month buckets copy titles and places (``api.schedules.months``): they go too.
    await months.changed(records, {str(e["owner_id"]) for e in entries})
    counts = {ENTRIES: deleted} if deleted else {}
    if detached:
        counts[f"{ENTRIES}.detached"] = detached
    return counts
