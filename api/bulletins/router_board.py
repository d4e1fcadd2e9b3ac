"""HTTP API of the board across works, ``/api/v1/bulletins``: the unread list of all works
(seed 001 別表1-1 2(6), 別表1-2 2(10)), mark all read, the supervisors' tree (別表1-2 2(7)),
search across works (2(7)/(11)) and bulk posts (別表1-2 2(8))."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.bulletins.bulk import BulkService
from api.bulletins.reading import ReadingService
from api.bulletins.schemas import (
    BulkCreate,
    BulkRead,
    BulkUpdate,
    HitPage,
    TreePage,
    UnreadPage,
)
from api.deps import ContainerDep, SubjectDep

router = APIRouter(prefix="/bulletins", tags=["bulletins"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=2000)]


def reading(container: ContainerDep) -> ReadingService:
    return ReadingService(container)


def bulk(container: ContainerDep) -> BulkService:
    return BulkService(container)


ReadingDep = Annotated[ReadingService, Depends(reading)]
BulkDep = Annotated[BulkService, Depends(bulk)]


@router.get("/unread", response_model=UnreadPage)
async def unread(
    service: ReadingDep,
    subject: SubjectDep,
    work_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> UnreadPage:
    """Unread posts of all the subject's works (or one), newest activity first; ``total`` is
    the number of items the pages hold."""
    return await service.unread(subject, work_id=work_id, limit=limit, cursor=cursor)


@router.post("/read-all")
async def read_all(service: ReadingDep, subject: SubjectDep) -> dict[str, int]:
    """Mark every post of every work read."""
    return {"marked": await service.mark_all_read(subject)}


@router.get("/tree", response_model=TreePage)
async def tree(
    service: ReadingDep, subject: SubjectDep, limit: Limit = 50, cursor: Cursor = None
) -> TreePage:
    """The subject's works with unread counts and latest post (the tree's first level)."""
    return await service.tree(subject, limit=limit, cursor=cursor)


@router.get("/search", response_model=HitPage)
async def search(
    service: ReadingDep,
    subject: SubjectDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    author_id: Annotated[str | None, Query(max_length=64)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    work_id: Annotated[list[str] | None, Query(max_length=500)] = None,
    replies: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> HitPage:
    """Posts of all the subject's works by title, author and registration date."""
    return await service.search(
        subject,
        q=q,
        author_id=author_id,
        date_from=date_from,
        date_to=date_to,
        work_ids=work_id or (),
        replies=replies,
        limit=limit,
        cursor=cursor,
    )


@router.post("/bulk", status_code=201, response_model=BulkRead)
async def create_bulk(service: BulkDep, subject: SubjectDep, body: BulkCreate) -> BulkRead:
    """One post in several of the supervisor's works at once, each copy audited."""
    return await service.create(subject, body)


@router.get("/bulk/{bulk_id}", response_model=BulkRead)
async def get_bulk(service: BulkDep, subject: SubjectDep, bulk_id: str) -> BulkRead:
    return await service.read(subject, bulk_id)


@router.patch("/bulk/{bulk_id}", response_model=BulkRead)
async def edit_bulk(
    service: BulkDep, subject: SubjectDep, bulk_id: str, body: BulkUpdate
) -> BulkRead:
    return await service.edit(subject, bulk_id, body)


@router.delete("/bulk/{bulk_id}", response_model=BulkRead)
async def delete_bulk(
    service: BulkDep,
    subject: SubjectDep,
    bulk_id: str,
    version: Annotated[int, Query(ge=1)],
    work_id: Annotated[list[str] | None, Query(max_length=500)] = None,
) -> BulkRead:
    """Delete the copies in the chosen works (``work_id``, repeated), or all of them."""
    return await service.remove(subject, bulk_id, version, work_id)
