"""HTTP API of the approval workflow: the transitions of a proposal, route templates and
delegations. The services, the state machine and the rules decide."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import ContainerDep, SubjectDep
from api.proposals.schemas import (
    AnswerBody,
    ApproveBody,
    CancelBody,
    CommentBody,
    CorrectBody,
    DelegationCreate,
    PlanBody,
    PostReviewBody,
    ReceiveBody,
    SendBackBody,
    SubmitBody,
    TemplateCreate,
    VersionBody,
)
from api.workflow.delegations import DelegationService
from api.workflow.routes import RouteTemplateService
from api.workflow.service import WorkflowService

router = APIRouter(tags=["workflow"])


def _body(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    data["version"] = model.version
    return data


@router.post("/proposals/{proposal_id}/submit")
async def submit(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: SubmitBody
) -> dict[str, Any]:
    """発議: to the route's first step (4(8)-(10), 3(2))."""
    return await WorkflowService(container).submit(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/withdraw")
async def withdraw(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: VersionBody
) -> dict[str, Any]:
    """引戻し before the first decision."""
    return await WorkflowService(container).withdraw(subject, proposal_id, body.version)


@router.post("/proposals/{proposal_id}/cancel")
async def cancel(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: CancelBody
) -> dict[str, Any]:
    """取下げ of a proposal sent back or withdrawn (its history stays)."""
    return await WorkflowService(container).cancel(subject, proposal_id, body.version, body.reason)


@router.post("/proposals/{proposal_id}/receive")
async def receive(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: ReceiveBody
) -> dict[str, Any]:
    """受付 with 受付日 and 回答予定日 (4(2))."""
    return await WorkflowService(container).receive(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/plan")
async def plan(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: PlanBody
) -> dict[str, Any]:
    """回答予定日 (4(2))."""
    return await WorkflowService(container).plan(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/approve")
async def approve(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: ApproveBody
) -> dict[str, Any]:
    """承認 (4(11)); 代理承認 (4(21)); 後閲 (4(22))."""
    return await WorkflowService(container).approve(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/send-back")
async def send_back(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: SendBackBody
) -> dict[str, Any]:
    """差戻し to the proposer or an earlier approver, with a reason (4(11)(12))."""
    return await WorkflowService(container).send_back(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/answer")
async def answer(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: AnswerBody
) -> dict[str, Any]:
    """処理・回答, interim or final (4(3)(13)(19))."""
    return await WorkflowService(container).answer(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/view")
async def view(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: VersionBody
) -> dict[str, Any]:
    """閲覧 by a viewer of the route."""
    return await WorkflowService(container).view(subject, proposal_id, body.version)


@router.post("/proposals/{proposal_id}/post-review")
async def post_review(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: PostReviewBody
) -> dict[str, Any]:
    """後閲 by the absent approver (4(22))."""
    return await WorkflowService(container).post_review(subject, proposal_id, _body(body))


@router.post("/proposals/{proposal_id}/comments")
async def comment(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: CommentBody
) -> dict[str, Any]:
    """A comment seen by everyone on the route (4(9)(14))."""
    return await WorkflowService(container).comment(subject, proposal_id, body.text)


@router.post("/proposals/{proposal_id}/corrections")
async def correct(
    container: ContainerDep, subject: SubjectDep, proposal_id: str, body: CorrectBody
) -> dict[str, Any]:
    """訂正 of a decided proposal's dates, recorded (4(17))."""
    return await WorkflowService(container).correct(subject, proposal_id, _body(body))


@router.get("/route-templates")
async def list_templates(
    container: ContainerDep,
    subject: SubjectDep,
    work_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Saved routes of the subject's organization and of ``work_id`` (4(8)), with the names
    of the people they name."""
    from api.proposals.views import user_names

    items = await RouteTemplateService(container).templates(subject, work_id)
    ids = [a for t in items for step in t["steps"] for a in step["assignees"]]
    return {"items": items, "users": await user_names(container, ids)}


@router.post("/route-templates", status_code=201)
async def create_template(
    container: ContainerDep, subject: SubjectDep, body: TemplateCreate
) -> dict[str, Any]:
    data = body.model_dump()
    return await RouteTemplateService(container).create(subject, data)


@router.delete("/route-templates/{template_id}", status_code=204)
async def delete_template(
    container: ContainerDep, subject: SubjectDep, template_id: str
) -> Response:
    await RouteTemplateService(container).delete(subject, template_id)
    return Response(status_code=204)


@router.get("/delegations")
async def list_delegations(container: ContainerDep, subject: SubjectDep) -> dict[str, Any]:
    """Delegations the subject gave or received, current and future (4(21)), with the names
    of the people and works they name."""
    service = DelegationService(container)
    items = await service.mine(subject)
    return {"items": items, **await service.names(items)}


@router.get("/delegations/candidates")
async def delegation_candidates(container: ContainerDep, subject: SubjectDep) -> dict[str, Any]:
    """Who may be named deputy: the active users of the subject's organization (4(21))."""
    return {"items": await DelegationService(container).candidates(subject)}


@router.post("/delegations", status_code=201)
async def create_delegation(
    container: ContainerDep, subject: SubjectDep, body: DelegationCreate
) -> dict[str, Any]:
    return await DelegationService(container).create(subject, body.model_dump())


@router.delete("/delegations/{delegation_id}", status_code=204)
async def revoke_delegation(
    container: ContainerDep, subject: SubjectDep, delegation_id: str
) -> Response:
    await DelegationService(container).revoke(subject, delegation_id)
    return Response(status_code=204)
