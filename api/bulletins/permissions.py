"""Who may do what on the board (action prefix ``bulletins``; ``api.modules`` hands these
actions to ``BulletinRules``, operators included).

Rules, each from its clause:
- ``bulletins.read`` (a work): its members read the board (seed 001 別表1-1 2(1), 別表1-2 2(1):
  受発注者間で交換・共有する情報を閲覧できる); once archived only the roles that still read the
  work. The orderer's org-wide readers (``works.read_org``) and operators are not members: the
  board is the parties' exchange, so they are refused (operators administer users and
  organizations, not the content of works). Which posts a member sees is then the posts' scope
  (2(5)), decided by ``api.bulletins.scope``.
- ``bulletins.post`` (a work): supervisors, inspectors and contractor members post, reply, edit
  and delete their own posts while the work runs (2(1)(3)); viewers read only; completed and
  archived works are read-only.
- ``bulletins.bulk`` (a work): supervisors (業務担当員) post, edit and delete in several works at
  once (別表1-2 2(8)), in each work where they are the supervisor and it runs.
- ``bulletins.use``: any signed-in user has a home page, unread list, tree of their works
  (別表1-1 2(6), 別表1-2 2(7)(10)) and groups (2(9)); each shows only their own works' posts.
- ``bulletins.groups.manage`` (a group): its owner only (2(9): 利用者のグループ設定が任意にできる).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.bulletins.scope import reads_board, writes_board
from api.permissions.policy import Resource, Subject, WorkContext, WorkRole


@dataclass(frozen=True)
class GroupContext:
    owner_id: str


def _role(work: WorkContext) -> WorkRole | None:
    return next(iter(work.roles), None)


class BulletinRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if action == "bulletins.use":
            return True
        if action == "bulletins.groups.manage":
            return isinstance(resource, GroupContext) and resource.owner_id == subject.user_id
        if not isinstance(resource, WorkContext) or subject.is_operator:
            return False
        role = _role(resource)
        if action == "bulletins.read":
            return reads_board(role, resource.status)
        if action == "bulletins.post":
            return writes_board(role, resource.status)
        if action == "bulletins.bulk":
            return role is WorkRole.SUPERVISOR and writes_board(role, resource.status)
        return False
