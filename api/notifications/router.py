"""``/api/v1/notifications``: the signed-in user's bell, list and mail preferences."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ContainerDep, SubjectDep
from api.kit.pagination import CursorPage
from api.notifications.schemas import (
    KindPrefRead,
    NotificationRead,
    PreferencesWrite,
    ReadAllResult,
    UnreadCount,
)
from api.notifications.service import KindPref, NotificationService, kinds

router = APIRouter(prefix="/notifications", tags=["notifications"])

NotificationId = Annotated[str, Path(max_length=64)]


def service(container: ContainerDep) -> NotificationService:
    return NotificationService(container.records, container.uow, container.clock)


def _read(record: dict[str, Any]) -> NotificationRead:
    labels = kinds()
    return NotificationRead.model_validate(
        {**record, "kind_label": labels.get(record["kind"], record["kind"])}
    )


def _prefs(prefs: dict[str, KindPref]) -> list[KindPrefRead]:
    labels = kinds()
    return [
        KindPrefRead(kind=k, label=labels[k], mail=p.mail, min_importance=p.min_importance)
        for k, p in prefs.items()
    ]


@router.get("", response_model=CursorPage[NotificationRead])
async def list_notifications(
    container: ContainerDep,
    subject: SubjectDep,
    unread: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> CursorPage[NotificationRead]:
    """The user's notifications, newest first (``unread=true``: only unread ones)."""
    page = await service(container).list(subject, unread=unread, limit=limit, cursor=cursor)
    return CursorPage[NotificationRead](
        items=[_read(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(container: ContainerDep, subject: SubjectDep) -> UnreadCount:
    """The number under the bell."""
    return UnreadCount(unread=await service(container).unread_count(subject))


@router.post("/{notification_id}/read", response_model=NotificationRead)
async def mark_read(
    notification_id: NotificationId, container: ContainerDep, subject: SubjectDep
) -> NotificationRead:
    return _read(await service(container).mark_read(subject, notification_id))


@router.post("/read-all", response_model=ReadAllResult)
async def mark_all_read(container: ContainerDep, subject: SubjectDep) -> ReadAllResult:
    return ReadAllResult(marked=await service(container).mark_all_read(subject))


@router.get("/preferences", response_model=list[KindPrefRead])
async def get_preferences(container: ContainerDep, subject: SubjectDep) -> list[KindPrefRead]:
    """Per kind: whether mail is sent, and from which importance (seed 001 別表1-1 4(20))."""
    return _prefs(await service(container).preferences(subject))


@router.put("/preferences", response_model=list[KindPrefRead])
async def save_preferences(
    body: PreferencesWrite, container: ContainerDep, subject: SubjectDep
) -> list[KindPrefRead]:
    changes = {
        k: KindPref(mail=v.mail, min_importance=v.min_importance) for k, v in body.kinds.items()
    }
    return _prefs(await service(container).save_preferences(subject, changes))
