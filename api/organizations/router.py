"""HTTP API for organizations and their offices; the function-grant endpoints are mounted here
too (``api.grants.router``) so that the app factory needs no change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.grants.router import router as grants_router
from api.kit.pagination import CursorPage
from api.organizations.schemas import (
    OfficeCreate,
    OfficeRead,
    OfficeUpdate,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from api.organizations.service import OrganizationService
from api.permissions.policy import OrgKind

router = APIRouter(tags=["organizations"])
router.include_router(grants_router)

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
Version = Annotated[int | None, Query(ge=1)]


def service(container: Container) -> OrganizationService:
    return OrganizationService(container.records, container.uow, container.policy, container.clock)


@router.get("/organizations", response_model=CursorPage[OrganizationRead])
async def list_organizations(
    container: ContainerDep,
    subject: SubjectDep,
    kind: OrgKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CursorPage[OrganizationRead]:
    page = await service(container).find(subject, kind=kind, limit=limit, cursor=cursor)
    return CursorPage(
        items=[OrganizationRead.model_validate(r) for r in page.items],
        next_cursor=page.next_cursor,
    )


@router.post("/organizations", response_model=OrganizationRead, status_code=status.HTTP_201_CREATED)
async def create_organization(
    body: OrganizationCreate, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).create(subject, body)


@router.get("/organizations/{org_id}", response_model=OrganizationRead)
async def get_organization(
    org_id: str, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).get(subject, org_id)


@router.patch("/organizations/{org_id}", response_model=OrganizationRead)
async def update_organization(
    org_id: str, body: OrganizationUpdate, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).update(subject, org_id, body)


@router.delete("/organizations/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(
    org_id: str, container: ContainerDep, subject: SubjectDep, version: Version = None
) -> Response:
    await service(container).delete(subject, org_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/organizations/{org_id}/offices", response_model=CursorPage[OfficeRead])
async def list_offices(
    org_id: str,
    container: ContainerDep,
    subject: SubjectDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CursorPage[OfficeRead]:
    page = await service(container).list_offices(subject, org_id, limit, cursor)
    return CursorPage(
        items=[OfficeRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/organizations/{org_id}/offices",
    response_model=OfficeRead,
    status_code=status.HTTP_201_CREATED,
)
async def create_office(
    org_id: str, body: OfficeCreate, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).create_office(subject, org_id, body)


@router.get("/organizations/{org_id}/offices/{office_id}", response_model=OfficeRead)
async def get_office(
    org_id: str, office_id: str, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).get_office(subject, org_id, office_id)


@router.patch("/organizations/{org_id}/offices/{office_id}", response_model=OfficeRead)
async def update_office(
    org_id: str,
    office_id: str,
    body: OfficeUpdate,
    container: ContainerDep,
    subject: SubjectDep,
) -> dict[str, Any]:
    return await service(container).update_office(subject, org_id, office_id, body)


@router.delete(
    "/organizations/{org_id}/offices/{office_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_office(
    org_id: str,
    office_id: str,
    container: ContainerDep,
    subject: SubjectDep,
    version: Version = None,
) -> Response:
    await service(container).delete_office(subject, org_id, office_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
