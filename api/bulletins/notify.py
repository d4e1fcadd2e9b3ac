"""Mail and in-app notifications of the board (seed 001 別表1-1 2(8), 別表1-2 2(5): 記事等の
登録時に、設定したメンバーに登録情報を電子メール等で通知できる): the chosen members hear of a
new post (``bulletin.posted``), the post's author and the thread's repliers of a reply
(``bulletin.replied``); each by the notifier (the bell, and mail as each user prefers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.bulletins.models import REPLIES, Importance, State, ui_url
from api.bulletins.repository import BoardRepository
from api.kit.uow import UnitOfWork
from storage.query import Record

if TYPE_CHECKING:
    from api.container import Container

EXCERPT = 200


def excerpt(text: str, size: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


# -- notifications -----------------------------------------------------------------------
async def notify_post(
    container: Container, uow: UnitOfWork, post: Record, recipients: Sequence[str]
) -> None:
    """In-app notification and mail (per each user's preference) to the chosen members
    (seed 001 別表1-1 2(8), 別表1-2 2(5))."""
    if not recipients:
        return
    work = await container.records.get("works", post["work_id"]) or {}
    await container.notifier().notify(
        uow,
        kind="bulletin.posted",
        recipients=list(recipients),
        source=f"posts/{post['id']}",
        title=str(post["title"]),
        url=ui_url(post["work_id"], post["id"]),
        importance=str(post.get("importance") or Importance.NORMAL.value),
        context={
            "work_title": work.get("title", ""),
            "work_number": work.get("number", ""),
            "post_title": post["title"],
            "author_name": post.get("author_name", ""),
        },
        work_id=post["work_id"],
    )


async def notify_reply(
    container: Container, uow: UnitOfWork, post: Record, reply: Record, readers: set[str]
) -> None:
    """The post's author and the thread's other repliers hear of a reply."""
    replies = await BoardRepository(container.records).replies_of(
        post["id"], states=(State.ACTIVE.value,)
    )
    people = {post["author_id"], *(r["author_id"] for r in replies)}
    recipients = sorted((people & readers) - {reply["author_id"]})
    if not recipients:
        return
    work = await container.records.get("works", post["work_id"]) or {}
    await container.notifier().notify(
        uow,
        kind="bulletin.replied",
        recipients=recipients,
        source=f"{REPLIES}/{reply['id']}",
        title=f"Re: {post['title']}",
        url=ui_url(post["work_id"], post["id"]),
        importance=str(post.get("importance") or Importance.NORMAL.value),
        context={
            "work_title": work.get("title", ""),
            "work_number": work.get("number", ""),
            "post_title": post["title"],
            "author_name": reply.get("author_name", ""),
            "reply_excerpt": excerpt(str(reply.get("body") or "")),
        },
        work_id=post["work_id"],
    )
