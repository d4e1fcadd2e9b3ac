"""``/api/v1/schedules/feeds``: iCalendar export feeds with their own revocable tokens, and
the feed itself (``/schedules/feed/{token}.ics``, no session: the token is the key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from api.deps import ContainerDep, SubjectDep
from api.schedules.feeds import FeedService
from api.schedules.schemas import FeedCreate, FeedRead

router = APIRouter(prefix="/schedules", tags=["schedules"])
FeedId = Annotated[str, Path(max_length=64)]


def _read(record: dict[str, Any], url: str | None = None) -> FeedRead:
    return FeedRead.model_validate({**record, "url": url})


@router.post("/feeds", status_code=201, response_model=FeedRead)
async def create_feed(
    request: Request, container: ContainerDep, subject: SubjectDep, body: FeedCreate
) -> FeedRead:
    """A new feed of one's own schedule (``scope=user``) or of a work's (``scope=work``, its
    members). The URL with its token is in this answer only."""
    record, token = await FeedService(container).create(
        subject, body.scope, body.work_id, body.name
    )
    url = str(request.url_for("schedule_feed", token=f"{token}.ics"))
    return _read(record, url)


@router.get("/feeds", response_model=list[FeedRead])
async def list_feeds(container: ContainerDep, subject: SubjectDep) -> list[FeedRead]:
    return [_read(r) for r in await FeedService(container).list(subject)]


@router.delete("/feeds/{feed_id}", response_model=FeedRead)
async def revoke_feed(container: ContainerDep, subject: SubjectDep, feed_id: FeedId) -> FeedRead:
    """Revoke the feed: its URL answers 404 from now on."""
    return _read(await FeedService(container).revoke(subject, feed_id))


@router.get("/feed/{token}", name="schedule_feed")
async def schedule_feed(
    container: ContainerDep, token: Annotated[str, Path(max_length=120)]
) -> Response:
    """The iCalendar feed (``text/calendar``) for subscribing groupware."""
    body = await FeedService(container).render(token.removesuffix(".ics"))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
