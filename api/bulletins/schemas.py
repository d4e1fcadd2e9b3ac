"""Request and response models of the board API (``XCreate/XUpdate/XRead``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.bulletins.models import (
    MAX_ATTACHMENTS,
    MAX_BODY,
    MAX_BULK_WORKS,
    MAX_GROUP_MEMBERS,
    MAX_SCOPE_USERS,
    MAX_TITLE,
    Importance,
    ScopeKind,
)
from api.permissions.policy import WorkRole

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _one_line(value: str) -> str:
    """A title: control characters and line breaks become one space; not blank."""
    text = " ".join(_LINE.sub(" ", value).split())
    if not text:
        raise ValueError("タイトルを入力してください。")
    return text


def _text(value: str) -> str:
    """A body: plain text kept as typed (links stay text), CR LF as LF, other control
    characters removed, trailing white space trimmed."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).rstrip()


def _required_text(value: str) -> str:
    text = _text(value)
    if not text.strip():
        raise ValueError("本文を入力してください。")
    return text


Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), AfterValidator(_one_line)]
Body = Annotated[str, Field(max_length=MAX_BODY), AfterValidator(_text)]
ReplyBody = Annotated[str, Field(min_length=1, max_length=MAX_BODY), AfterValidator(_required_text)]
Id = Annotated[str, Field(min_length=1, max_length=64)]
AttachmentIds = Annotated[list[Id], Field(max_length=MAX_ATTACHMENTS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeIn(_In):
    """閲覧可能な利用者の範囲 (seed 001 別表1-1 2(5)): every member, chosen roles, chosen
    members, or one of the author's groups."""

    kind: ScopeKind = ScopeKind.MEMBERS
    roles: Annotated[list[WorkRole], Field(max_length=5)] = []
    user_ids: Annotated[list[Id], Field(max_length=MAX_SCOPE_USERS)] = []
    group_id: Id | None = None


class NotifyIn(_In):
    """Mail to chosen members when posting (seed 001 別表1-1 2(8)): everyone who reads the
    post (``all``) or the chosen ``user_ids`` among them."""

    all: bool = False
    user_ids: Annotated[list[Id], Field(max_length=MAX_SCOPE_USERS)] = []


class PostCreate(_In):
    title: Title
    body: Body = ""
    importance: Importance = Importance.NORMAL
    scope: ScopeIn = ScopeIn()
    attachment_ids: AttachmentIds = []
    notify: NotifyIn = NotifyIn()


class PostUpdate(_In):
    """``version`` is the record read; with ``revision`` (the content's edit count read) only an
    edit of the content in between conflicts, not a reply that moved the post's counters."""

    version: int = Field(ge=1)
    revision: int | None = Field(default=None, ge=0)
    title: Title | None = None
    body: Body | None = None
    importance: Importance | None = None
    scope: ScopeIn | None = None
    attachment_ids: AttachmentIds | None = None


class ReplyCreate(_In):
    body: ReplyBody
    attachment_ids: AttachmentIds = []


class ReplyUpdate(_In):
    version: int = Field(ge=1)
    body: ReplyBody | None = None
    attachment_ids: AttachmentIds | None = None


class BulkScopeIn(_In):
    """In several works at once only scopes that mean the same in each work: every member, or
    chosen roles (別表1-2 2(8))."""

    kind: ScopeKind = ScopeKind.MEMBERS
    roles: Annotated[list[WorkRole], Field(max_length=5)] = []


class BulkCreate(_In):
    work_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_WORKS)]
    title: Title
    body: Body = ""
    importance: Importance = Importance.NORMAL
    scope: BulkScopeIn = BulkScopeIn()
    attachment_ids: AttachmentIds = []
    notify_all: bool = False


class BulkUpdate(_In):
    version: int = Field(ge=1)
    title: Title | None = None
    body: Body | None = None
    importance: Importance | None = None
    # The works whose copies change (default: every copy still there).
    work_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_WORKS)] | None = None


class GroupCreate(_In):
    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]
    member_ids: Annotated[list[Id], Field(max_length=MAX_GROUP_MEMBERS)] = []


class GroupUpdate(_In):
    version: int = Field(ge=1)
    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)] | None = (
        None
    )
    member_ids: Annotated[list[Id], Field(max_length=MAX_GROUP_MEMBERS)] | None = None


# -- answers ---------------------------------------------------------------------------------
class PersonRead(BaseModel):
    id: str
    name: str
    org_name: str = ""


class AttachmentBrief(BaseModel):
    id: str
    name: str
    size: int
    content_type: str = ""
    file_type: str | None = None
    ingest_state: str | None = None


class ScopeRead(BaseModel):
    kind: ScopeKind
    roles: list[WorkRole] = []
    users: list[PersonRead] = []
    group_id: str | None = None
    group_name: str | None = None


class PostRead(BaseModel):
    id: str
    work_id: str
    title: str
    body: str
    importance: Importance
    author_id: str
    author_name: str
    author_org_name: str = ""
    scope: ScopeRead
    created_at: str
    updated_at: str
    edited_at: str | None = None
    activity_at: str
    reply_count: int = 0
    last_reply_at: str | None = None
    attachment_count: int = 0
    revision: int = 0
    version: int
    bulk_id: str | None = None
    unread: bool = False
    new_post: bool = False
    new_replies: int = 0
    mine: bool = False


class ReplyRead(BaseModel):
    id: str
    post_id: str
    body: str
    state: str
    author_id: str
    author_name: str
    author_org_name: str = ""
    created_at: str
    updated_at: str
    edited_at: str | None = None
    revision: int = 0
    version: int
    attachments: list[AttachmentBrief] = []
    mine: bool = False
    new: bool = False


class WorkBrief(BaseModel):
    id: str
    title: str
    number: str = ""
    status: str = ""


class ThreadRead(BaseModel):
    work: WorkBrief
    post: PostRead
    attachments: list[AttachmentBrief]
    replies: list[ReplyRead]
    can_reply: bool
    can_edit: bool


class BoardPage(BaseModel):
    items: list[PostRead]
    next_cursor: str | None = None
    total: int | None = None
    unread: int = 0


class RevisionRead(BaseModel):
    rev: int
    reason: str
    title: str | None = None
    body: str
    importance: str | None = None
    scope: dict[str, Any] | None = None
    attachments: list[AttachmentBrief] = []
    superseded_at: str
    superseded_by_name: str = ""


class UnreadItem(BaseModel):
    post_id: str
    work_id: str
    work_title: str
    work_number: str = ""
    title: str
    author_name: str
    author_org_name: str = ""
    importance: str
    created_at: str
    activity_at: str
    new_post: bool
    new_replies: int


class UnreadPage(BaseModel):
    """The unread list; ``total`` is the count of the very list the pages walk through."""

    items: list[UnreadItem]
    next_cursor: str | None = None
    total: int


class MemberChoice(BaseModel):
    user_id: str
    name: str
    org_name: str = ""
    role: WorkRole


class GroupChoice(BaseModel):
    id: str
    name: str
    member_count: int


class AudienceRead(BaseModel):
    """What the compose form offers: members (for scope and mail), the author's groups, the
    authors of posts the viewer reads (search by author, 2(7))."""

    members: list[MemberChoice]
    groups: list[GroupChoice]
    authors: list[PersonRead]
    can_post: bool
    work: WorkBrief


class TreeWork(BaseModel):
    work: WorkBrief
    role: WorkRole
    unread: int
    latest_post_id: str | None = None
    latest_title: str | None = None
    latest_at: str | None = None


class TreePage(BaseModel):
    items: list[TreeWork]
    next_cursor: str | None = None


class PostHit(BaseModel):
    type: str
    id: str
    post_id: str
    work_id: str
    work_title: str = ""
    title: str
    excerpt: str = ""
    author_name: str = ""
    created_at: str | None = None


class HitPage(BaseModel):
    items: list[PostHit]
    next_cursor: str | None = None
    total: int


class GroupRead(BaseModel):
    id: str
    name: str
    members: list[PersonRead]
    created_at: str
    updated_at: str
    version: int


class BulkRead(BaseModel):
    id: str
    title: str
    version: int
    created_at: str
    updated_at: str
    copies: list[PostRead]
    works: list[WorkBrief]
