"""Who may do what in the hand-over (actions ``handovers.*``), each rule with its clause.

Decided here for every subject, operators included (``api.modules``).
"""

from __future__ import annotations

from api.permissions.policy import OrgContext, OrgKind, Resource, Subject, WorkContext, WorkRole

READERS = frozenset(WorkRole) - {WorkRole.ARCHIVE_READER}
MAKERS = frozenset({WorkRole.SUPERVISOR, WorkRole.CONTRACTOR_MEMBER})


def _own_manager(subject: Subject, work: WorkContext) -> bool:
    return work.orderer_org_id == subject.org_id and "works.manage" in subject.grants


class HandoverRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if isinstance(resource, OrgContext):
            return self._org(subject, action, resource)
        if not isinstance(resource, WorkContext):
            return False
        work = resource
        own_reader = work.orderer_org_id == subject.org_id and bool(
            subject.grants & {"works.read_org", "works.manage"}
        )
        readable = subject.is_operator or bool(work.roles & READERS) or own_reader
        if not readable:
            return False
        match action:
            case "handovers.read":
                # The inspection and the package are seen by everyone on the work (§5(4)).
                return True
            case "handovers.generate":
                # §4: 受注者は … 電子成果品を作成する; the supervisor may do it for them. (The
                # service refuses an archived work: 409.)
                return bool(work.roles & MAKERS) or _own_manager(subject, work)
            case "handovers.transfer" | "handovers.erasure":
                # seed 000: 工事・業務完了後、保管管理システムへ移管 — by the orderer (its person
                # in charge or a works.manage holder) or the operator (運用業務: 移管); §3-6 /
                # 別表3 12: the same people set the day the collaboration copy is erased. (The
                # service checks the work's status: 409.)
                return (
                    subject.is_operator
                    or WorkRole.SUPERVISOR in work.roles
                    or _own_manager(subject, work)
                )
        return False

    @staticmethod
    def _org(subject: Subject, action: str, org: OrgContext) -> bool:
        if org.org_id is None:
            return False
        own = org.org_id == subject.org_id
        if action == "handovers.settings.read":
            return subject.is_operator or own
        if action == "handovers.settings.manage":
            # seed 000: whether an orderer uses the archive is its contract with the operator
            # (覚書): kept by operators, or by the orderer's holders of master.manage.
            return subject.is_operator or (
                own and subject.org_kind is OrgKind.ORDERER and "master.manage" in subject.grants
            )
        return False
