"""The board's records, their indexes and limits.

Collections
- ``posts``: ``{id, version, work_id, title, body, importance, author_id, author_name,
  author_org_id, author_org_name, scope: {kind, roles, user_ids, group_id, group_name}, acl,
  state, created_at, updated_at, edited_at, activity_at, reply_count, last_reply_at, revision,
  attachment_count, bulk_id, notified: [user ids], deleted_at, deleted_by}`` (seed 001 別表1-1
  2(1)(2): 記事等 with タイトル, 登録者名, 登録日時).
- ``post_replies``: ``{id, version, work_id, post_id, body, author_*, acl (the post's), state,
  created_at, updated_at, edited_at, revision, attachment_count}`` (2(3) 返信コメント, threaded
  one level: a reply answers a post, never a reply).
- ``post_revisions``: ``{id: "<record id>:<n>", record: "posts/<id>" | "post_replies/<id>",
  work_id, rev, title, body, importance, scope, attachments: [{id, name, size, sha256}],
  superseded_at, superseded_by, reason: "edited" | "deleted"}``: the state before each edit and
  the state at deletion (history kept).
- ``post_unread``: one row per (post, user) with something unread, see ``api.bulletins.unread``.
- ``post_read_marks``: ``{id: <user id>, at}``: "mark all read everywhere" at ``at`` (rows of
  no later activity count as read; ``bulletins.sweep_read`` deletes them afterwards).
- ``post_bulks``: one post made in several works at once (別表1-2 2(8)).
- ``user_groups``: a user's own groups of users (2(9)).

``state``: ``active``; ``deleted`` (by its author: kept, hidden, its history kept); replies of a
deleted post become ``thread_deleted`` (hidden with it).
"""

from __future__ import annotations

from enum import StrEnum

from storage.ports import IndexSpec

POSTS = "posts"
REPLIES = "post_replies"
REVISIONS = "post_revisions"
UNREAD = "post_unread"
BULKS = "post_bulks"
READ_MARKS = "post_read_marks"
GROUPS = "user_groups"

POST_DOC = "post"
REPLY_DOC = "reply"

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_ATTACHMENTS = 30
MAX_SCOPE_USERS = 500
MAX_GROUP_MEMBERS = 300
MAX_GROUPS_PER_USER = 100
MAX_BULK_WORKS = 500
PAGE_MAX = 200


class State(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"
    THREAD_DELETED = "thread_deleted"


class Importance(StrEnum):
    NORMAL = "normal"  # 通常
    IMPORTANT = "important"  # 重要


class ScopeKind(StrEnum):
    """Who may read a post (seed 001 別表1-1 2(5), 別表1-2 2(6): 閲覧可能な利用者の範囲)."""

    MEMBERS = "members"  # every member of the work
    ROLES = "roles"  # members holding one of the chosen roles
    USERS = "users"  # chosen members
    GROUP = "group"  # the members of one of the author's groups (resolved when posting)


POST_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("work_id", 1), ("state", 1), ("activity_at", -1))),
    IndexSpec((("work_id", 1), ("state", 1), ("created_at", -1))),
    IndexSpec((("bulk_id", 1),)),
    IndexSpec((("author_id", 1), ("created_at", -1))),
)
REPLY_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("post_id", 1), ("created_at", 1))),
    IndexSpec((("work_id", 1), ("created_at", -1))),
)
REVISION_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("record", 1), ("rev", 1))),)
UNREAD_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("user_id", 1), ("activity_at", -1))),
    IndexSpec((("user_id", 1), ("work_id", 1), ("activity_at", -1))),
    IndexSpec((("post_id", 1), ("user_id", 1))),
)
BULK_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("author_id", 1), ("created_at", -1))),)
GROUP_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("owner_id", 1), ("name", 1))),)


def post_target(post_id: str) -> str:
    return f"{POSTS}/{post_id}"


def reply_target(reply_id: str) -> str:
    return f"{REPLIES}/{reply_id}"


def ui_url(work_id: str, post_id: str) -> str:
    """The post's page in the web interface (its hash route without the ``#``)."""
    return f"/works/{work_id}/board/{post_id}"
