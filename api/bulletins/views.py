"""Records → response models: names, never ids, for what pages show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.bulletins.schemas import (
    AttachmentBrief,
    PersonRead,
    PostRead,
    ReplyRead,
    ScopeRead,
    WorkBrief,
)
from storage.query import Record

People = Mapping[str, Mapping[str, str]]


def file_brief(record: Record) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record.get("name", ""),
        "size": int(record.get("size") or 0),
        "content_type": record.get("content_type") or record.get("declared_type") or "",
        "file_type": record.get("file_type"),
        "ingest_state": (record.get("ingest") or {}).get("state"),
        "sha256": record.get("sha256"),
    }


def scope_read(scope: Mapping[str, Any], people: People) -> ScopeRead:
    users = [
        PersonRead(**dict(people[u])) if u in people else PersonRead(id=u, name="")
        for u in scope.get("user_ids") or ()
    ]
    return ScopeRead(
        kind=scope["kind"],
        roles=list(scope.get("roles") or ()),
        users=users,
        group_id=scope.get("group_id"),
        group_name=scope.get("group_name"),
    )


def scope_user_ids(posts: Sequence[Record]) -> list[str]:
    return sorted({u for p in posts for u in (p.get("scope") or {}).get("user_ids") or ()})


def post_read(
    post: Record, people: People, me: str, row: Mapping[str, Any] | None = None
) -> PostRead:
    return PostRead(
        id=post["id"],
        work_id=post["work_id"],
        title=post["title"],
        body=post.get("body", ""),
        importance=post.get("importance", "normal"),
        author_id=post["author_id"],
        author_name=post.get("author_name", ""),
        author_org_name=post.get("author_org_name", ""),
        scope=scope_read(post.get("scope") or {"kind": "members"}, people),
        created_at=post["created_at"],
        updated_at=post["updated_at"],
        edited_at=post.get("edited_at"),
        activity_at=post["activity_at"],
        reply_count=int(post.get("reply_count") or 0),
        last_reply_at=post.get("last_reply_at"),
        attachment_count=int(post.get("attachment_count") or 0),
        revision=int(post.get("revision") or 0),
        version=int(post["version"]),
        bulk_id=post.get("bulk_id"),
        unread=row is not None,
        new_post=bool(row and row.get("new_post")),
        new_replies=int((row or {}).get("new_replies") or 0),
        mine=post["author_id"] == me,
    )


def briefs(files: Sequence[Record]) -> list[AttachmentBrief]:
    return [AttachmentBrief.model_validate(file_brief(f)) for f in files]


def reply_read(
    reply: Record, me: str, files: Sequence[Record], since: str | None, unread: bool
) -> ReplyRead:
    new = (
        unread
        and reply.get("author_id") != me
        and reply.get("state") == "active"
        and (since is None or str(reply["created_at"]) > since)
    )
    deleted = reply.get("state") != "active"
    return ReplyRead(
        id=reply["id"],
        post_id=reply["post_id"],
        # A deleted reply keeps its place in the thread, not its words (history is kept in
        # its revisions for the record).
        body="" if deleted else reply.get("body", ""),
        state=str(reply.get("state")),
        author_id=reply["author_id"],
        author_name=reply.get("author_name", ""),
        author_org_name=reply.get("author_org_name", ""),
        created_at=reply["created_at"],
        updated_at=reply["updated_at"],
        edited_at=reply.get("edited_at"),
        revision=int(reply.get("revision") or 0),
        version=int(reply["version"]),
        attachments=[] if deleted else briefs(files),
        mine=reply["author_id"] == me,
        new=bool(new),
    )


def work_brief(work: Mapping[str, Any]) -> WorkBrief:
    return WorkBrief(
        id=str(work.get("id")),
        title=str(work.get("title") or ""),
        number=str(work.get("number") or ""),
        status=str(work.get("status") or ""),
    )
