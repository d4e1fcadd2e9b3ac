"""Posts and replies in the search index (seed 001 別表1-1 2(7), 別表1-2 2(11): search by title,
author and date; issue 9: in the main search with the Japanese full text of bodies and
attachments, permission-filtered).

A post document: ``title``, ``body`` (the text, then the extracted text of its attachments),
``names`` (author, organization and attachment names), ``author`` (the author's id, a keyword
filter), ``work_id``, ``created_at``/``updated_at`` and ``acl``: the post's scope principals
(``api.bulletins.scope``), so the index filters exactly as the store does. A reply document
(type ``reply``) carries its post's title and acl and ``parent_id`` = the post. Deleted posts
and replies are not in the index. When an attachment's text arrives (ingest runs after the post
is saved) the parent's document is rebuilt (``after_ingest``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from api.archive.indexing import load_pages
from api.archive.models import content_scope
from api.attachments.service import AttachmentService, after_ingest
from api.bulletins.models import POST_DOC, POSTS, REPLIES, REPLY_DOC, State
from api.bulletins.scope import principals_on, reads_board
from api.consistency import register_indexable
from api.permissions.policy import Subject
from api.works.models import MEMBERS, WORKS
from indexer.documents import SORT_TITLE, normalize
from storage.ports import RecordStore
from storage.query import Eq, Record

if TYPE_CHECKING:
    from api.container import Container

MAX_DOC_BODY = 1_000_000
ACTIVE = (Eq("state", State.ACTIVE.value),)


def _doc(record: Record, doc_type: str, title: str, extra_text: str, names: str) -> dict[str, Any]:
    body = "\n".join(p for p in (str(record.get("body") or ""), extra_text) if p)
    doc: dict[str, Any] = {
        "id": record["id"],
        "type": doc_type,
        "title": title,
        SORT_TITLE: normalize(title),
        "body": body[:MAX_DOC_BODY] or None,
        "names": names or None,
        "work_id": record["work_id"],
        "parent_id": record.get("post_id"),
        "author": record.get("author_id"),
        "acl": list(record.get("acl") or []),
        "created_at": record.get("created_at"),
        "updated_at": record.get("updated_at"),
        "stamp": int(record["version"]),
    }
    return {k: v for k, v in doc.items() if v is not None and v != []}


def _names(record: Record, attachments: Sequence[Record]) -> str:
    parts = [str(record.get("author_name") or ""), str(record.get("author_org_name") or "")]
    parts += [str(a.get("name") or "") for a in attachments]
    return " ".join(p for p in parts if p)


def post_doc(post: Record, attachments: Sequence[Record] = (), text: str = "") -> dict[str, Any]:
    return _doc(post, POST_DOC, str(post.get("title") or ""), text, _names(post, attachments))


def reply_doc(
    reply: Record, post_title: str, attachments: Sequence[Record] = (), text: str = ""
) -> dict[str, Any]:
    return _doc(reply, REPLY_DOC, post_title, text, _names(reply, attachments))


async def attachment_text(container: Container, attachments: Sequence[Record]) -> str:
    texts: list[str] = []
    for attachment in attachments:
        if not (attachment.get("extract") or {}).get("text"):
            continue
        pages = await load_pages(
            container.blobs, content_scope(attachment), str(attachment["sha256"])
        )
        if pages:
            texts.append("\n".join(pages))
    return "\n".join(texts)


async def post_docs(container: Container, posts: list[Record]) -> list[dict[str, Any]]:
    """Documents of many posts, with their attachments' names and text."""
    parents = [f"{POSTS}/{p['id']}" for p in posts]
    files = await AttachmentService(container).of_parents(parents)
    out = []
    for post in posts:
        mine = files.get(f"{POSTS}/{post['id']}", [])
        out.append(post_doc(post, mine, await attachment_text(container, mine)))
    return out


async def reply_docs(container: Container, replies: list[Record]) -> list[dict[str, Any]]:
    titles = {
        p["id"]: str(p.get("title") or "")
        for p in await container.records.get_many(
            POSTS, sorted({str(r["post_id"]) for r in replies})
        )
    }
    parents = [f"{REPLIES}/{r['id']}" for r in replies]
    files = await AttachmentService(container).of_parents(parents)
    out = []
    for reply in replies:
        mine = files.get(f"{REPLIES}/{reply['id']}", [])
        title = titles.get(reply["post_id"], "")
        out.append(reply_doc(reply, title, mine, await attachment_text(container, mine)))
    return out


async def board_principals(records: RecordStore, subject: Subject) -> list[str]:
    """Every board principal ``subject`` holds: for each work where they are a member and
    read the board. Operators hold none (``api.bulletins.permissions``)."""
    if subject.is_operator:
        return []
    roles: dict[str, str] = {}
    async for member in records.scan(MEMBERS, [Eq("user_id", subject.user_id)], batch=1000):
        roles[str(member["work_id"])] = str(member["role"])
    if not roles:
        return []
    works = await records.get_many(WORKS, sorted(roles))
    out: list[str] = []
    for work in works:
        role = roles[work["id"]]
        if reads_board(role, str(work.get("status"))):
            out.extend(principals_on(work["id"], subject.user_id, role))
    return out


async def _reindex_parent(container: Container, attachment: Record) -> None:
    """An attachment's text arrived: rebuild its post's or reply's document."""
    kind, _, parent_id = str(attachment.get("parent") or "").partition("/")
    if kind not in (POSTS, REPLIES):
        return
    record = await container.records.get(kind, parent_id)
    if record is None or record.get("state") != State.ACTIVE:
        return
    build = post_docs if kind == POSTS else reply_docs
    await container.index.upsert(await build(container, [record]))
    await container.index.refresh()


def _bare_post(record: Record) -> dict[str, Any]:
    return post_doc(record)


def _bare_reply(record: Record) -> dict[str, Any]:
    return reply_doc(record, "")


def register() -> None:
    """Hook posts and replies into ``kura reindex`` / ``kura check`` and attachment ingest."""
    register_indexable(POSTS, POST_DOC, _bare_post, where=ACTIVE, build_batch=post_docs)
    register_indexable(REPLIES, REPLY_DOC, _bare_reply, where=ACTIVE, build_batch=reply_docs)
    after_ingest(_reindex_parent)
