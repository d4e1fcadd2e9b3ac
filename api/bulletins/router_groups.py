"""HTTP API of user-defined groups and their feed, ``/api/v1/groups`` (seed 001 別表1-1 2(9),
別表1-2 2(9))."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.bulletins.groups import GroupService
from api.bulletins.schemas import GroupCreate, GroupRead, GroupUpdate, HitPage, PersonRead
from api.deps import ContainerDep, SubjectDep

router = APIRouter(prefix="/groups", tags=["bulletins"])


def groups(container: ContainerDep) -> GroupService:
    return GroupService(container)


GroupsDep = Annotated[GroupService, Depends(groups)]


@router.get("", response_model=list[GroupRead])
async def list_groups(service: GroupsDep, subject: SubjectDep) -> list[GroupRead]:
    """The subject's own groups."""
    return await service.mine(subject)


@router.post("", status_code=201, response_model=GroupRead)
async def create_group(service: GroupsDep, subject: SubjectDep, body: GroupCreate) -> GroupRead:
    return await service.create(subject, body)


@router.get("/candidates", response_model=list[PersonRead])
async def group_candidates(
    service: GroupsDep,
    subject: SubjectDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> list[PersonRead]:
    """People the subject may put in a group: their organization's users and the members of
    their works (``q`` filters by name, kana or login ID)."""
    return await service.candidates(subject, q)


@router.get("/{group_id}", response_model=GroupRead)
async def get_group(service: GroupsDep, subject: SubjectDep, group_id: str) -> GroupRead:
    return await service.get(subject, group_id)


@router.patch("/{group_id}", response_model=GroupRead)
async def update_group(
    service: GroupsDep, subject: SubjectDep, group_id: str, body: GroupUpdate
) -> GroupRead:
    return await service.update(subject, group_id, body)


@router.delete("/{group_id}", status_code=204)
async def delete_group(
    service: GroupsDep,
    subject: SubjectDep,
    group_id: str,
    version: Annotated[int, Query(ge=1)],
) -> Response:
    await service.delete(subject, group_id, version)
    return Response(status_code=204)


@router.get("/{group_id}/feed", response_model=HitPage)
async def group_feed(
    service: GroupsDep,
    subject: SubjectDep,
    group_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> HitPage:
    """Posts and replies of every work involving a group member, as far as the subject reads
    them, newest first."""
    return await service.feed(subject, group_id, limit=limit, cursor=cursor)
