"""Who may do what with proposals (actions ``proposals.*``), each rule with its clause.

Decided here for every subject, operators included (``api.modules``): operators read
submitted proposals and manage the system-wide forms, but never act in a workflow and never
see another user's draft.
"""

from __future__ import annotations

from api.permissions.policy import OrgContext, Resource, Subject, WorkContext, WorkRole
from api.proposals.models import ProposalResource

# Roles that may propose on a work: the orderer's person in charge and the contractor
# (seed 001 別表1-1 3(1): 受発注者 create the work documents; ※3 発議者).
PROPOSER_ROLES = frozenset({WorkRole.SUPERVISOR, WorkRole.CONTRACTOR_MEMBER})
RUNNING = frozenset({"registered", "in_progress"})


def readable(subject: Subject, work: WorkContext) -> bool:
    """Reads the work (mirrors the core rules): a member, or the orderer's org-wide reader."""
    if subject.is_operator:
        return True
    own = work.orderer_org_id is not None and work.orderer_org_id == subject.org_id
    org_reader = own and bool(subject.grants & {"works.read_org", "works.manage"})
    members = work.roles - {WorkRole.ARCHIVE_READER}
    return bool(members) or org_reader


class ProposalRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if action == "proposals.forms.manage":
            # Operators keep the system-wide forms; an orderer's holder of the grant keeps
            # its own organization's forms (seed 001 別表1-1 8(3)(4): master data by those
            # granted the function).
            if isinstance(resource, OrgContext):
                if resource.org_id is None:
                    return subject.is_operator
                return resource.org_id == subject.org_id and "proposals.forms" in subject.grants
            return False
        if action == "proposals.forms.read":
            return True
        if action == "proposals.list":
            return True  # lists are filtered to what the subject reads (acl)
        if not isinstance(resource, ProposalResource):
            return False
        work, proposal = resource.work, resource.proposal
        if not readable(subject, work):
            return False
        is_proposer = proposal is not None and proposal.get("proposer_id") == subject.user_id
        never_submitted = proposal is not None and not proposal.get("revision")
        match action:
            case "proposals.read":
                # A draft never submitted is the proposer's alone (3(5) 一時保存).
                if proposal is not None and never_submitted:
                    return is_proposer
                return True
            case "proposals.create":
                # 3(1): 受発注者 create proposals on a running work.
                return (
                    not subject.is_operator
                    and work.status in RUNNING
                    and bool(work.roles & PROPOSER_ROLES)
                )
            case "proposals.edit" | "proposals.delete":
                # 3(1)(6): the proposer edits and deletes their own (drafts; the service
                # refuses decided ones).
                return is_proposer and work.status in RUNNING
            case "proposals.premeeting.comment":
                # 別表1-2 4(10)(11): both sides comment on and answer pre-meeting material.
                return work.status in RUNNING and bool(
                    work.roles & (PROPOSER_ROLES | {WorkRole.INSPECTOR})
                )
            case "proposals.correct":
                # 4(17): dates of a finished decision, by the work's supervisor or an
                # orderer's user holding the grant.
                own = work.orderer_org_id == subject.org_id
                return WorkRole.SUPERVISOR in work.roles or (
                    own and "proposals.correct" in subject.grants
                )
        return False
