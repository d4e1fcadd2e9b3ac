"""HTTP API for per-user function grants, under ``/users/{user_id}/grants``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.grants.schemas import GrantCreate, GrantName, GrantRead
from api.grants.service import GrantService
from api.permissions.policy import all_grants

router = APIRouter(tags=["grants"])

UserId = Annotated[str, Path(max_length=64)]
GrantPath = Annotated[str, Path(max_length=64)]


def service(container: Container) -> GrantService:
    return GrantService(container.records, container.uow, container.policy, container.clock)


def read(record: dict[str, Any]) -> GrantRead:
    return GrantRead.model_validate({**record, "label": all_grants().get(str(record["grant"]), "")})


@router.get("/grants", response_model=list[GrantName])
async def list_grant_names(subject: SubjectDep, container: ContainerDep) -> list[GrantName]:
    """The grant names that exist, with their Japanese labels."""
    container.policy.require(subject, "master.read")
    return [GrantName(name=k, label=v) for k, v in all_grants().items()]


@router.get("/users/{user_id}/grants", response_model=list[GrantRead])
async def list_grants(
    user_id: UserId, container: ContainerDep, subject: SubjectDep
) -> list[GrantRead]:
    return [read(g) for g in await service(container).of_user(subject, user_id)]


@router.post(
    "/users/{user_id}/grants", response_model=GrantRead, status_code=status.HTTP_201_CREATED
)
async def add_grant(
    user_id: UserId, body: GrantCreate, container: ContainerDep, subject: SubjectDep
) -> GrantRead:
    return read(await service(container).grant(subject, user_id, body.grant))


@router.delete("/users/{user_id}/grants/{grant}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_grant(
    user_id: UserId,
    grant: GrantPath,
    container: ContainerDep,
    subject: SubjectDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    await service(container).revoke(subject, user_id, grant, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
