"""Who may do what in the qualification module (actions ``qualifications.*``).

Decided here for everyone, operators included (``api.modules``). Kura receives applications
and never decides qualification (seed 004 第1 10), so nobody here "approves" anything.

- Rounds: the operator defines them; every signed-in user reads published ones (the guide is
  public, 第1 1-2); drafts of a round are the operator's.
- 経審 data: imported and listed by the operator (第2 3(29) ○注意事項1: the system's database).
- Applying: users of a contractor organization holding ``qualifications.apply``, for their own
  organization only (第1 3: the applicant's own users; one filing per company).
- Reading a filing: its applicant organization's holders of the grant; each target
  municipality's holders of ``qualifications.receive`` (第1 10: each certifies on its own);
  the host (the prefecture) that receives the common papers of every filing, even those not
  sent to it (第1 8: 共通書類 to the prefecture, 「広島県に申請しない場合でも」); operators, who
  run the help desk the guide names for 経審 errors (第2 6 ※).
- The desk (papers received, notes): the target municipalities and the host, each on its own
  desk record; never the operator, never the applicant.
"""

from __future__ import annotations

from api.permissions.policy import OrgKind, Resource, Subject
from api.qualifications.models import ApplicantResource, ApplicationResource, RoundResource

APPLY = "qualifications.apply"
RECEIVE = "qualifications.receive"


def applicant(subject: Subject) -> bool:
    return subject.org_kind is OrgKind.CONTRACTOR and APPLY in subject.grants


def receiver(subject: Subject) -> bool:
    return subject.org_kind is OrgKind.ORDERER and RECEIVE in subject.grants


class QualificationRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if action in ("qualifications.rounds.manage", "qualifications.reviews.manage"):
            return subject.is_operator
        if action == "qualifications.rounds.read":
            if isinstance(resource, RoundResource) and not resource.round.get("published"):
                return subject.is_operator
            return True
        if action == "qualifications.apply":
            # 第1 3 and 第2 1: the applicant's own users file for their own company.
            return (
                isinstance(resource, ApplicantResource)
                and resource.org_id is not None
                and resource.org_id == subject.org_id
                and applicant(subject)
            )
        if action == "qualifications.received.list":
            # 第1 10: each municipality reviews what was sent to it (filtered by the service).
            return receiver(subject)
        if not isinstance(resource, ApplicationResource):
            return False
        own = resource.application.get("org_id") == subject.org_id
        desk = subject.org_id is not None and (
            subject.org_id in resource.target_orgs or subject.org_id == resource.host_org
        )
        match action:
            case "qualifications.read":
                if subject.is_operator:
                    return True  # 第2 6 ※: the help desk answers about a filing
                if own:
                    return applicant(subject)
                return desk and receiver(subject)
            case "qualifications.amend":
                # 第3 2 / 第2 2(1): the applicant's correction and additional application.
                return own and applicant(subject)
            case "qualifications.desk":
                return desk and receiver(subject)
        return False
