"""``/api/v1/users``: user administration. Permission decisions live in the service/policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContainerDep, SubjectDep
from api.kit.pagination import CursorPage
from api.users.models import User, UserStatus
from api.users.schemas import (
    PasswordReset,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
    VersionBody,
)
from api.users.service import UserService

router = APIRouter(prefix="/users", tags=["users"])


user_service = UserService.of


def _read(user: User) -> UserRead:
    return UserRead.model_validate(user.public())


@router.post("", response_model=UserCreated, status_code=201)
async def create_user(
    body: UserCreate, container: ContainerDep, subject: SubjectDep
) -> UserCreated:
    user, password = await user_service(container).create(subject, body)
    return UserCreated(user=_read(user), initial_password=password)


@router.get("", response_model=CursorPage[UserRead])
async def list_users(
    container: ContainerDep,
    subject: SubjectDep,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    status: UserStatus | None = None,
    login_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> CursorPage[UserRead]:
    users, next_cursor = await user_service(container).list(
        subject, org_id=org_id, status=status, login_id=login_id, limit=limit, cursor=cursor
    )
    return CursorPage[UserRead](items=[_read(u) for u in users], next_cursor=next_cursor)


@router.get("/{user_id}", response_model=UserRead)
async def get_user(user_id: str, container: ContainerDep, subject: SubjectDep) -> UserRead:
    return _read(await user_service(container).get(subject, user_id))


@router.patch("/{user_id}", response_model=UserRead)
async def update_user(
    user_id: str, body: UserUpdate, container: ContainerDep, subject: SubjectDep
) -> UserRead:
    return _read(await user_service(container).update(subject, user_id, body))


@router.post("/{user_id}/disable", response_model=UserRead)
async def disable_user(
    user_id: str, container: ContainerDep, subject: SubjectDep, body: VersionBody | None = None
) -> UserRead:
    version = body.version if body else None
    return _read(await user_service(container).disable(subject, user_id, version))


@router.post("/{user_id}/reset-password", response_model=PasswordReset)
async def reset_password(
    user_id: str, container: ContainerDep, subject: SubjectDep
) -> PasswordReset:
    user, password = await user_service(container).reset_password(subject, user_id)
    return PasswordReset(user=_read(user), one_time_password=password)
