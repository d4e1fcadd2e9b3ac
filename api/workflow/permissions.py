"""Who may act in the approval workflow (actions ``workflow.*``), each rule with its clause.

The route itself says whose turn it is (``api.workflow.machine``); these rules say who may be
on a route at all and who may manage templates and delegations. Operators never act in a
workflow (the parties of the work do, seed 001 別表1-1 4 ※1-※3).
"""

from __future__ import annotations

from api.permissions.policy import OrgContext, Resource, Subject, WorkRole
from api.proposals.models import ProposalResource
from api.proposals.permissions import RUNNING, readable

# Members who may approve: orderer staff in charge, inspectors, the contractor's people
# (4(8) 承認者の選択; an orderer's 指示 is answered by the contractor).
APPROVER_ROLES = frozenset({WorkRole.SUPERVISOR, WorkRole.INSPECTOR, WorkRole.CONTRACTOR_MEMBER})


class WorkflowRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if subject.is_operator:
            return action == "workflow.read"
        if action == "workflow.delegate":
            # 4(21): a deputy named in advance, by the approver themself (the service) or by
            # their organization's holder of the grant.
            return isinstance(resource, OrgContext) and (
                resource.org_id == subject.org_id and "workflow.delegate" in subject.grants
            )
        if action == "workflow.templates.org":
            # Route templates of an organization: its users make them; the creator or the
            # holder of the grant changes them (the service checks the creator).
            return isinstance(resource, OrgContext) and resource.org_id == subject.org_id
        if action == "workflow.templates.org_manage":
            return (
                isinstance(resource, OrgContext)
                and resource.org_id == subject.org_id
                and "workflow.templates" in subject.grants
            )
        if not isinstance(resource, ProposalResource):
            return False
        work = resource.work
        if not readable(subject, work):
            return False
        match action:
            case "workflow.read":
                return True
            case "workflow.act":
                # 4(11)(13): approve, send back, receive, answer on a running work.
                return work.status in RUNNING and bool(work.roles & APPROVER_ROLES)
            case "workflow.view" | "workflow.post_review":
                # 4(8) viewers; 4(22) the absent approver reviews afterwards.
                return resource.on_route
            case "workflow.comment":
                # 4(9)(14): the proposer and everyone on the route comment.
                proposal = resource.proposal or {}
                return resource.on_route or proposal.get("proposer_id") == subject.user_id
            case "workflow.templates.work":
                # Route templates of a work: its parties (4(8)).
                return bool(work.roles & APPROVER_ROLES)
            case "workflow.assignable":
                return bool(work.roles & APPROVER_ROLES)
        return False
