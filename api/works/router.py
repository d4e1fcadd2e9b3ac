"""HTTP API of the works registry, ``/api/v1/works``. The service and the policy decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.kit.pagination import CursorPage
from api.works.members import MemberService
from api.works.parties import parties
from api.works.schemas import (
    LegalHoldRelease,
    LegalHoldRequest,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    TransitionRequest,
    WorkCreate,
    WorkFilters,
    WorkRead,
    WorkUpdate,
)
from api.works.service import WorkService

router = APIRouter(prefix="/works", tags=["works"])


async def get_service(container: ContainerDep) -> WorkService:
    return build_service(container)


ServiceDep = Annotated[WorkService, Depends(get_service)]


def _read(record: dict[str, object]) -> WorkRead:
    return WorkRead.model_validate(record)


@router.get("", response_model=CursorPage[WorkRead])
async def list_works(
    service: ServiceDep, subject: SubjectDep, filters: Annotated[WorkFilters, Query()]
) -> CursorPage[WorkRead]:
    """Works the subject may read. With ``q``: title search through the index."""
    page = await service.list(subject, filters)
    return CursorPage[WorkRead](
        items=[_read(r) for r in page.items], next_cursor=page.next_cursor, total=page.total
    )


@router.post("", status_code=201, response_model=WorkRead)
async def create_work(service: ServiceDep, subject: SubjectDep, body: WorkCreate) -> WorkRead:
    return _read(await service.create(subject, body))


@router.get("/{work_id}", response_model=WorkRead)
async def get_work(service: ServiceDep, subject: SubjectDep, work_id: str) -> WorkRead:
    return _read(await service.load(subject, work_id, "works.read"))


@router.patch("/{work_id}", response_model=WorkRead)
async def update_work(
    service: ServiceDep, subject: SubjectDep, work_id: str, body: WorkUpdate
) -> WorkRead:
    return _read(await service.update(subject, work_id, body))


@router.post("/{work_id}/transition", response_model=WorkRead)
async def transition_work(
    service: ServiceDep, subject: SubjectDep, work_id: str, body: TransitionRequest
) -> WorkRead:
    return _read(await service.transition(subject, work_id, body.to, body.version))


@router.delete("/{work_id}", status_code=204)
async def delete_work(
    service: ServiceDep,
    subject: SubjectDep,
    work_id: str,
    version: Annotated[int, Query(ge=1)],
) -> Response:
    await service.delete(subject, work_id, version)
    return Response(status_code=204)


@router.get("/{work_id}/parties")
async def work_parties(service: ServiceDep, subject: SubjectDep, work_id: str) -> dict[str, object]:
    """The names of the work's orderer, office, contractors and members, and its 業種 label,
    for every reader of the work (issue 8 §3 item 1)."""
    return await parties(service, subject, work_id)


# archive lifecycle ----------------------------------------------------------------------
@router.post("/{work_id}/legal-hold", response_model=WorkRead)
async def place_legal_hold(
    service: ServiceDep, subject: SubjectDep, work_id: str, body: LegalHoldRequest
) -> WorkRead:
    """Block deletion of the work and its files until released (``archive.hold``)."""
    return _read(await service.lifecycle.place_hold(subject, work_id, body.reason))


@router.delete("/{work_id}/legal-hold", response_model=WorkRead)
async def release_legal_hold(
    service: ServiceDep,
    subject: SubjectDep,
    work_id: str,
    body: Annotated[LegalHoldRelease | None, Body()] = None,
) -> WorkRead:
    reason = body.reason if body is not None else None
    return _read(await service.lifecycle.release_hold(subject, work_id, reason))


# memberships ------------------------------------------------------------------------------
@router.get("/{work_id}/members", response_model=list[MemberRead])
async def list_members(service: ServiceDep, subject: SubjectDep, work_id: str) -> list[MemberRead]:
    members = await MemberService(service).list(subject, work_id)
    return [MemberRead.model_validate(m) for m in members]


@router.post("/{work_id}/members", status_code=201, response_model=MemberRead)
async def add_member(
    service: ServiceDep, subject: SubjectDep, work_id: str, body: MemberCreate
) -> MemberRead:
    member = await MemberService(service).add(subject, work_id, body.user_id, body.role)
    return MemberRead.model_validate(member)


@router.patch("/{work_id}/members/{user_id}", response_model=MemberRead)
async def change_member_role(
    service: ServiceDep, subject: SubjectDep, work_id: str, user_id: str, body: MemberUpdate
) -> MemberRead:
    member = await MemberService(service).change_role(
        subject, work_id, user_id, body.role, body.version
    )
    return MemberRead.model_validate(member)


@router.delete("/{work_id}/members/{user_id}", status_code=204)
async def remove_member(
    service: ServiceDep, subject: SubjectDep, work_id: str, user_id: str
) -> Response:
    await MemberService(service).remove(subject, work_id, user_id)
    return Response(status_code=204)


def build_service(container: Container) -> WorkService:
    """For the CLI and workers: the same service without a request."""
    return WorkService.of(container)
