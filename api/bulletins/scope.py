"""Visibility scopes of posts and the access principals that enforce them.

A post's scope (seed 001 別表1-1 2(5), 別表1-2 2(6): 記事等には、閲覧可能な利用者の範囲を設定
できる) is stored as data and turned into ``acl`` principals, kept on the post record, on each of
its replies and in the search index, so the store queries and the index filter on the same list
(never the interface alone):

- ``member:<work>``            every member of the work (scope ``members``);
- ``role:<work>:<role>``       members holding that role there (scope ``roles``);
- ``wuser:<work>:<user>``      that member (scope ``users`` and ``group``; always the author).

A subject holds, for each work where they are a member and may read the board,
``principals_on(work, user, role)``; they see a post when the two lists meet. The principals
name the work, so someone who leaves a work loses its posts at once (they no longer hold its
principals) and nothing has to be rewritten. Principals never overlap with those of works and
files (``user:``, ``orgread:``, ``archive:``): holding a work's org-wide read grant does not
open its board.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.bulletins.models import ScopeKind
from api.permissions.policy import WorkRole
from api.works.indexing import ARCHIVE_ROLES
from api.works.models import WorkStatus

# Roles that write on the board while the work runs (seed 001 別表1-1 2(1): 受発注者間で交換・
# 共有する情報を登録・削除・閲覧できる). Viewers and archive readers read only.
POSTING_ROLES = frozenset({WorkRole.SUPERVISOR, WorkRole.INSPECTOR, WorkRole.CONTRACTOR_MEMBER})
RUNNING = frozenset({WorkStatus.REGISTERED.value, WorkStatus.IN_PROGRESS.value})
SCOPE_ROLES = (
    WorkRole.SUPERVISOR,
    WorkRole.INSPECTOR,
    WorkRole.CONTRACTOR_MEMBER,
    WorkRole.VIEWER,
    WorkRole.ARCHIVE_READER,
)


def reads_board(role: WorkRole | str | None, status: str) -> bool:
    """Whether a member with ``role`` reads the board of a work in ``status``: every member
    while the work runs; once archived only the roles that still read the work
    (``api.works.indexing.ARCHIVE_ROLES``, as ``Policy`` decides for the work itself)."""
    if role is None:
        return False
    if status == WorkStatus.ARCHIVED.value:
        return WorkRole(role) in ARCHIVE_ROLES
    return True


def writes_board(role: WorkRole | str | None, status: str) -> bool:
    """Whether a member with ``role`` posts and replies: the parties of the work
    (supervisors, inspectors, contractor members) while it runs."""
    return role is not None and WorkRole(role) in POSTING_ROLES and status in RUNNING


def principals_on(work_id: str, user_id: str, role: WorkRole | str) -> tuple[str, ...]:
    """What a member holds on one work's board."""
    return (f"member:{work_id}", f"role:{work_id}:{WorkRole(role).value}", wuser(work_id, user_id))


def wuser(work_id: str, user_id: str) -> str:
    return f"wuser:{work_id}:{user_id}"


def post_acl(work_id: str, scope: Mapping[str, Any], author_id: str) -> list[str]:
    """The principals that may read a post with ``scope`` (the author always may)."""
    acl = {wuser(work_id, author_id)}
    kind = ScopeKind(scope["kind"])
    if kind is ScopeKind.MEMBERS:
        acl.add(f"member:{work_id}")
    elif kind is ScopeKind.ROLES:
        acl.update(f"role:{work_id}:{WorkRole(r).value}" for r in scope.get("roles") or ())
    else:
        acl.update(wuser(work_id, u) for u in scope.get("user_ids") or ())
    return sorted(acl)


def sees(
    acl: Iterable[str], work_id: str, user_id: str, role: WorkRole | str | None, status: str
) -> bool:
    """Whether the member ``user_id`` with ``role`` reads a record with ``acl`` (the same test
    the store and the index make with ``In("acl", principals_on(...))``)."""
    if role is None or not reads_board(role, status):
        return False
    return not set(acl).isdisjoint(principals_on(work_id, user_id, role))


def audience(acl: Iterable[str], work_id: str, members: Mapping[str, str], status: str) -> set[str]:
    """Every member (``members``: user id → role) who reads a record with ``acl``."""
    held = set(acl)
    return {
        user_id
        for user_id, role in members.items()
        if reads_board(role, status) and not held.isdisjoint(principals_on(work_id, user_id, role))
    }
