"""One policy object answers "may subject S do action A on resource R".

Services build the subject (who is asking, with org kind, function grants and, for a work,
their membership roles there) and ask; routers never decide. Rules come from seed 001
別表1-1 8(1)-(3): a holder of authority grants functions per user, one ID reaches every work
the user belongs to. A subject who may not even read a work gets ``NotFoundError`` so that
the work's existence is not revealed (404, not 403).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from api.errors import Forbidden, NotAuthenticated, NotFoundError


class OrgKind(StrEnum):
    ORDERER = "orderer"
    CONTRACTOR = "contractor"
    ISSUER = "issuer"
    OPERATOR = "operator"


class WorkRole(StrEnum):
    SUPERVISOR = "supervisor"  # 工事監督員 / 業務担当員
    INSPECTOR = "inspector"  # 検査員
    CONTRACTOR_MEMBER = "contractor_member"  # 受注者
    VIEWER = "viewer"  # 閲覧者
    ARCHIVE_READER = "archive_reader"  # 保管管理システムの閲覧者


# Function grants a holder of authority gives per user (seed 001 別表1-1 8(3)).
GRANTS: dict[str, str] = {
    "works.create": "案件の登録",
    "works.manage": "自機関の案件の編集・削除・メンバー管理",
    "works.read_org": "自機関の全案件の閲覧",
    "archive.read_org": "自機関の保管案件の閲覧",
    "users.manage": "自機関の利用者の管理",
    "grants.manage": "機能権限の付与",
    "master.manage": "マスタ情報の管理",
    "audit.read": "操作履歴の閲覧",
}


@dataclass(frozen=True)
class Subject:
    """Who is asking. Built by the auth layer from the session or bearer token."""

    user_id: str
    login_id: str
    org_id: str | None
    org_kind: OrgKind | None
    grants: frozenset[str] = frozenset()

    @property
    def is_operator(self) -> bool:
        return self.org_kind is OrgKind.OPERATOR


@dataclass(frozen=True)
class WorkContext:
    """A work as the policy sees it, with the asking subject's roles on it."""

    work_id: str
    orderer_org_id: str | None
    contractor_org_ids: tuple[str, ...] = ()
    status: str = "registered"
    roles: frozenset[WorkRole] = field(default_factory=frozenset)


@dataclass(frozen=True)
class OrgContext:
    """An organization-scoped resource (users, grants, master data of one org)."""

    org_id: str | None


Resource = WorkContext | OrgContext | object | None


class _Rules(Protocol):
    def can(self, subject: Subject, action: str, resource: Resource) -> bool: ...


_WORK_READERS = frozenset(WorkRole)
_WORK_EDITORS = frozenset({WorkRole.SUPERVISOR})


def all_grants() -> dict[str, str]:
    """The core grants plus those the modules add (``api.modules``)."""
    from api.modules import module_grants

    return {**GRANTS, **module_grants()}


class Policy:
    """The one decision point. Actions whose prefix a module claims (``"bonds.read"`` →
    ``"bonds"``) are decided by that module's rules (house style: each module owns its rules,
    ``policy.py`` does not grow into one long match); every other action by the core rules
    below."""

    def __init__(self, rules: Mapping[str, _Rules] | None = None) -> None:
        self.rules: Mapping[str, _Rules] = rules or {}

    def can(self, subject: Subject | None, action: str, resource: Resource = None) -> bool:
        if subject is None:
            return False
        rules = self.rules.get(action.partition(".")[0])
        if rules is not None:
            # The module decides, operators included (a sealed bond is sealed for them too).
            return rules.can(subject, action, resource)
        if subject.is_operator:
            return True
        if isinstance(resource, WorkContext):
            return self._can_on_work(subject, action, resource)
        own_org = (
            isinstance(resource, OrgContext)
            and subject.org_id is not None
            and resource.org_id == subject.org_id
        )
        match action:
            case "works.create":
                return subject.org_kind is OrgKind.ORDERER and "works.create" in subject.grants
            case "works.list":
                return True  # the list is filtered to readable works by the service
            case "users.read_self" | "users.change_password":
                return True
            case "users.manage" | "users.read":
                return own_org and "users.manage" in subject.grants
            case "grants.manage":
                return own_org and "grants.manage" in subject.grants
            case "master.read":
                return True
            case "master.read_org":
                return own_org  # an organization's own calendar days and mail templates
            case "master.manage":
                # one organization's layer only; global master data is the operators'
                # (issue 7 item 5)
                return own_org and "master.manage" in subject.grants
            case "audit.read":
                # scoped to the own organization's events by the audit service (issue 7 item 1)
                return own_org and "audit.read" in subject.grants
            case "organizations.read":
                return own_org
        return False

    def _can_on_work(self, subject: Subject, action: str, work: WorkContext) -> bool:
        own_orderer = work.orderer_org_id is not None and work.orderer_org_id == subject.org_id
        org_reader = own_orderer and (
            "works.read_org" in subject.grants
            or "works.manage" in subject.grants
            or ("archive.read_org" in subject.grants and work.status == "archived")
        )
        readable = bool(work.roles & _WORK_READERS) or org_reader
        if work.status == "archived" and not org_reader:
            # Archived works are read by archive readers, supervisors and inspectors only.
            readable = bool(
                work.roles & {WorkRole.ARCHIVE_READER, WorkRole.SUPERVISOR, WorkRole.INSPECTOR}
            )
        if action == "works.read":
            return readable
        if action in ("works.update", "works.delete", "works.members.manage"):
            if work.status == "archived":
                return False  # the archive is read-only (seed 000)
            return bool(work.roles & _WORK_EDITORS) or (
                own_orderer and "works.manage" in subject.grants
            )
        if action == "files.read":
            return readable
        if action in ("files.write", "files.delete"):
            # Deliverables are added while the work runs; completed and archived works are
            # read-only (seed 000: moved to the archive after inspection).
            if work.status not in ("registered", "in_progress"):
                return False
            return bool(work.roles & {WorkRole.SUPERVISOR, WorkRole.CONTRACTOR_MEMBER}) or (
                own_orderer and "works.manage" in subject.grants
            )
        if action == "attachments.write":
            # Files attached to posts, proposals and the like: any member while the work runs
            # (seed 001 別表1-1 2(3), 3(7): both sides attach documents, drawings, photos).
            return readable and work.status in ("registered", "in_progress")
        if action == "archive.hold":
            return own_orderer and "works.manage" in subject.grants
        if action == "works.transition":
            return bool(work.roles & _WORK_EDITORS) or (
                own_orderer and "works.manage" in subject.grants
            )
        return False

    def require(self, subject: Subject | None, action: str, resource: Resource = None) -> None:
        """Raise unless allowed: 401 anonymous, 404 for an unreadable work, 403 otherwise."""
        if subject is None:
            raise NotAuthenticated()
        if self.can(subject, action, resource):
            return
        if isinstance(resource, WorkContext) and not self.can(subject, "works.read", resource):
            raise NotFoundError()
        raise Forbidden()

    def require_authority_over(
        self, subject: Subject | None, target_grants: frozenset[str], *, target_operator: bool
    ) -> None:
        """Refuse acting on an account that holds authority the subject lacks (issue 7 item 2).

        The rule that stops granting more than one holds (seed 001 別表1-1 8(3)) applies to
        every action on another account: resetting its password, disabling or editing it,
        granting or revoking. Otherwise a holder of ``users.manage`` alone could reset the
        password of a user with more grants, sign in as them and gain every grant. Only
        operators act on operators.
        """
        if subject is None:
            raise NotAuthenticated()
        if subject.is_operator:
            return
        if target_operator or not target_grants <= subject.grants:
            raise Forbidden(
                "自分が持っていない機能権限を持つ利用者は操作できません。"
                "その利用者の管理は、同等以上の権限を持つ管理者に依頼してください。"
            )

    def readable_roles(self) -> Iterable[WorkRole]:
        return _WORK_READERS
