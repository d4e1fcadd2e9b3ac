"""``/api/v1/schedules``: entries (series), their occurrences in a range, single occurrences,
and the non-business days to mark on a calendar. The service and ``access`` decide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.permissions.policy import Subject
from api.schedules.access import Relations
from api.schedules.schemas import (
    CancelResult,
    EntryCreate,
    EntryRead,
    EntryUpdate,
    HolidayRead,
    OccurrenceRead,
    OccurrenceUpdate,
    WorkRef,
)
from api.schedules.service import ScheduleService
from storage.query import Record

router = APIRouter(prefix="/schedules", tags=["schedules"])

EntryId = Annotated[str, Path(max_length=64)]
Rid = Annotated[str, Path(max_length=20)]
IdList = Annotated[list[str] | None, Query(max_length=200)]
When = Annotated[str, Query(min_length=10, max_length=40)]


def service(container: Container) -> ScheduleService:
    return ScheduleService(container)


async def entry_read(
    container: Container, entry: Record, subject: Subject, rel: Relations | None = None
) -> EntryRead:
    """The series with the names a page needs (its owner, the works the reader knows)."""
    mine = entry["owner_id"] == subject.user_id
    known = [w for w in entry.get("work_ids") or [] if mine or (rel and w in rel.my_roles)]
    works = {w["id"]: w for w in await container.records.get_many("works", known)}
    owner = await container.records.get("users", str(entry["owner_id"]))
    data: dict[str, Any] = {
        **entry,
        "owner_name": str((owner or {}).get("name") or ""),
        "work_ids": known,
        "works": [WorkRef(id=w, title=str(works[w].get("title", ""))) for w in known if w in works],
        "editable": mine,
        "description": entry.get("description") or "",
        "location": entry.get("location") or "",
    }
    return EntryRead.model_validate(data)


@router.get("/entries", response_model=list[OccurrenceRead])
async def list_occurrences(
    container: ContainerDep,
    subject: SubjectDep,
    from_: Annotated[str, Query(alias="from", min_length=10, max_length=40)],
    to: When,
    work_id: IdList = None,
    user_id: IdList = None,
    all_works: bool = False,
) -> Response:
    """Occurrences between ``from`` and ``to`` (exclusive): dates (in Asia/Tokyo) or
    datetimes with an offset. Without ``work_id``: the reader's own entries (the home page);
    with ``work_id`` (repeatable) or ``all_works=true``: every member of those works on one
    screen (seed 001 別表1-1 7(2)); ``user_id`` (repeatable) narrows to chosen people. Entries
    the reader may not see in full come as ``busy_only`` without title or place (7(4)(5)).
    A cut answer (too many occurrences) carries ``Kura-Truncated: true``."""
    # A supervisor's month is thousands of rows: the view writes them as JSON text from
    # pieces cached with each occurrence (``api.schedules.views.render``: the bytes FastAPI
    # would write for OccurrenceRead), instead of validating and encoding thousands of rows.
    body, truncated = await service(container).view(
        subject, from_, to, work_ids=work_id or [], user_ids=user_id or [], all_works=all_works
    )
    headers = {"Kura-Truncated": "true"} if truncated else None
    return Response(body, media_type="application/json", headers=headers)


@router.post("/entries", status_code=201, response_model=EntryRead)
async def create_entry(
    container: ContainerDep, subject: SubjectDep, body: EntryCreate
) -> EntryRead:
    """A new entry of the signed-in user (7(1)); ``work_ids`` links it to works (7(3))."""
    svc = service(container)
    stored = await svc.create(subject, body)
    assert subject is not None
    return await entry_read(container, stored, subject)


@router.get("/entries/{entry_id}", response_model=EntryRead)
async def get_entry(container: ContainerDep, subject: SubjectDep, entry_id: EntryId) -> EntryRead:
    entry, rel = await service(container).get(subject, entry_id)
    assert subject is not None
    return await entry_read(container, entry, subject, rel)


@router.patch("/entries/{entry_id}", response_model=EntryRead)
async def update_entry(
    container: ContainerDep, subject: SubjectDep, entry_id: EntryId, body: EntryUpdate
) -> EntryRead:
    """Change the whole series (every occurrence, in every work it is linked to)."""
    stored = await service(container).update(subject, entry_id, body)
    assert subject is not None
    return await entry_read(container, stored, subject)


@router.delete("/entries/{entry_id}", status_code=204)
async def delete_entry(
    container: ContainerDep,
    subject: SubjectDep,
    entry_id: EntryId,
    version: Annotated[int, Query(ge=1)],
) -> Response:
    await service(container).delete(subject, entry_id, version)
    return Response(status_code=204)


@router.put("/entries/{entry_id}/occurrences/{rid}", response_model=EntryRead)
async def edit_occurrence(
    container: ContainerDep,
    subject: SubjectDep,
    entry_id: EntryId,
    rid: Rid,
    body: OccurrenceUpdate,
) -> EntryRead:
    """Edit one occurrence only (``rid``: its recurrence id, ``20260601T090000`` or
    ``20260601``)."""
    stored = await service(container).edit_occurrence(subject, entry_id, rid, body)
    assert subject is not None
    return await entry_read(container, stored, subject)


@router.delete("/entries/{entry_id}/occurrences/{rid}", response_model=CancelResult)
async def cancel_occurrence(
    container: ContainerDep,
    subject: SubjectDep,
    entry_id: EntryId,
    rid: Rid,
    version: Annotated[int, Query(ge=1)],
) -> CancelResult:
    """Cancel one occurrence; when it was the last one the entry goes (``deleted``)."""
    stored = await service(container).cancel_occurrence(subject, entry_id, rid, version)
    assert subject is not None
    if stored is None:
        return CancelResult(deleted=True)
    return CancelResult(deleted=False, entry=await entry_read(container, stored, subject))


@router.get("/holidays", response_model=list[HolidayRead])
async def list_holidays(
    container: ContainerDep,
    subject: SubjectDep,
    from_: Annotated[str, Query(alias="from", min_length=10, max_length=40)],
    to: When,
) -> list[dict[str, str]]:
    """Holidays, the 12/29-1/3 closure and custom closed days in the range (master data's
    business calendar), to mark on the calendar."""
    return await service(container).holidays(subject, from_, to)
