"""HTTP API of a work's board and of single posts: ``/api/v1/works/{id}/posts``,
``/api/v1/posts/{id}`` (seed 001 別表1-1 2(1)-(8)). The services and the policy decide."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.bulletins.posts import PostService
from api.bulletins.reading import ReadingService
from api.bulletins.replies import ReplyService
from api.bulletins.schemas import (
    AudienceRead,
    BoardPage,
    PostCreate,
    PostRead,
    PostUpdate,
    ReplyCreate,
    ReplyRead,
    ReplyUpdate,
    RevisionRead,
    ThreadRead,
)
from api.bulletins.views import post_read, reply_read, scope_user_ids
from api.deps import ContainerDep, SubjectDep
from api.errors import NotAuthenticated

router = APIRouter(tags=["bulletins"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=2000)]


def posts(container: ContainerDep) -> PostService:
    return PostService(container)


def reading(container: ContainerDep) -> ReadingService:
    return ReadingService(container)


def replies(container: ContainerDep) -> ReplyService:
    return ReplyService(container)


PostsDep = Annotated[PostService, Depends(posts)]
ReadingDep = Annotated[ReadingService, Depends(reading)]
RepliesDep = Annotated[ReplyService, Depends(replies)]


@router.get("/works/{work_id}/posts", response_model=BoardPage)
async def list_posts(
    service: ReadingDep,
    subject: SubjectDep,
    work_id: str,
    q: Annotated[str | None, Query(max_length=200)] = None,
    author_id: Annotated[str | None, Query(max_length=64)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> BoardPage:
    """The work's posts the subject reads (newest activity first), with unread marks; ``q``
    (title), ``author_id`` and ``date_from``/``date_to`` (登録日) search them (2(7))."""
    return await service.board_list(
        subject,
        work_id,
        q=q,
        author_id=author_id,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )


@router.post("/works/{work_id}/posts", status_code=201, response_model=PostRead)
async def create_post(
    service: PostsDep, subject: SubjectDep, work_id: str, body: PostCreate
) -> PostRead:
    post = await service.create(subject, work_id, body)
    people = await service.people(scope_user_ids([post]))
    return post_read(post, people, post["author_id"])


@router.get("/works/{work_id}/posts/audience", response_model=AudienceRead)
async def post_audience(service: ReadingDep, subject: SubjectDep, work_id: str) -> AudienceRead:
    """Members, the subject's groups and the posts' authors, for composing and searching."""
    return await service.audience(subject, work_id)


@router.post("/works/{work_id}/posts/read-all")
async def read_all_in_work(
    service: ReadingDep, subject: SubjectDep, work_id: str
) -> dict[str, int]:
    """Mark every post of the work read (2(6): 未読の管理)."""
    return {"marked": await service.mark_all_read(subject, work_id)}


@router.get("/posts/{post_id}", response_model=ThreadRead)
async def get_post(service: PostsDep, subject: SubjectDep, post_id: str) -> ThreadRead:
    """The post, its files and replies; 404 outside the subject's scope."""
    return await service.thread(subject, post_id)


@router.patch("/posts/{post_id}", response_model=PostRead)
async def edit_post(
    service: PostsDep, subject: SubjectDep, post_id: str, body: PostUpdate
) -> PostRead:
    post = await service.edit(subject, post_id, body)
    people = await service.people(scope_user_ids([post]))
    return post_read(post, people, post["author_id"])


@router.delete("/posts/{post_id}", status_code=204)
async def delete_post(
    service: PostsDep,
    subject: SubjectDep,
    post_id: str,
    version: Annotated[int, Query(ge=1)],
) -> Response:
    await service.delete(subject, post_id, version)
    return Response(status_code=204)


@router.post("/posts/{post_id}/read")
async def read_post(service: PostsDep, subject: SubjectDep, post_id: str) -> dict[str, bool]:
    """The reader has seen the post and its replies."""
    return {"marked": await service.mark_read(subject, post_id)}


@router.get("/posts/{post_id}/revisions", response_model=list[RevisionRead])
async def post_revisions(
    service: PostsDep, subject: SubjectDep, post_id: str
) -> list[RevisionRead]:
    return await service.revisions(subject, post_id)


@router.post("/posts/{post_id}/replies", status_code=201, response_model=ReplyRead)
async def create_reply(
    service: RepliesDep, subject: SubjectDep, post_id: str, body: ReplyCreate
) -> ReplyRead:
    if subject is None:
        raise NotAuthenticated()
    reply = await service.create(subject, post_id, body)
    files = await service.files.of_parent(f"post_replies/{reply['id']}")
    return reply_read(reply, subject.user_id, files, None, False)


@router.patch("/posts/{post_id}/replies/{reply_id}", response_model=ReplyRead)
async def edit_reply(
    service: RepliesDep, subject: SubjectDep, post_id: str, reply_id: str, body: ReplyUpdate
) -> ReplyRead:
    reply = await service.edit(subject, post_id, reply_id, body)
    files = await service.files.of_parent(f"post_replies/{reply['id']}")
    return reply_read(reply, str(reply["author_id"]), files, None, False)


@router.delete("/posts/{post_id}/replies/{reply_id}", status_code=204)
async def delete_reply(
    service: RepliesDep,
    subject: SubjectDep,
    post_id: str,
    reply_id: str,
    version: Annotated[int, Query(ge=1)],
) -> Response:
    await service.delete(subject, post_id, reply_id, version)
    return Response(status_code=204)


@router.get("/posts/{post_id}/replies/{reply_id}/revisions", response_model=list[RevisionRead])
async def reply_revisions(
    service: RepliesDep, subject: SubjectDep, post_id: str, reply_id: str
) -> list[RevisionRead]:
    return await service.revisions(subject, post_id, reply_id)
