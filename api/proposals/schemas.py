"""Request models of the proposals and workflow APIs. Shapes only (422); meaning is checked by
the services (400 with the field)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.clock import UtcDateTime
from api.kit.text import Text

RefId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
FormId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")]
Title = Annotated[str, Text(200, required=False)]
Comment = Annotated[str, Text(2000, required=False, multiline=True)]
Reason = Annotated[str, Text(2000, multiline=True, blank_message="理由を入力してください。")]
Importance = Literal["normal", "important"]
Values = Annotated[dict[str, Any], Field(max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BundleItem(_Model):
    id: RefId
    pages: (
        Annotated[list[Annotated[int, Field(ge=1, le=100_000)]], Field(max_length=2000)] | None
    ) = None


class RouteStep(_Model):
    kind: Literal["approve", "view"]
    assignees: Annotated[list[RefId], Field(min_length=1, max_length=10)]


Route = Annotated[list[RouteStep], Field(max_length=20)]
Bundle = Annotated[list[BundleItem], Field(max_length=200)]


class ProposalCreate(_Model):
    form_id: FormId | None = None
    form_version: Annotated[int, Field(ge=1)] | None = None
    title: Title = ""
    values: Values | None = None
    importance: Importance = "normal"
    requested_answer_date: date | None = None
    attachments: Bundle = []
    route: Route = []
    copy_from: RefId | None = None
    copy_attachments: bool = True  # with copy_from: the earlier bundle's files too (3(4))

    def body(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["route"] = [s.model_dump() for s in self.route]
        return data


class ProposalUpdate(_Model):
    """Only the fields present change."""

    version: int = Field(ge=1)
    title: Title | None = None
    values: Values | None = None
    importance: Importance | None = None
    requested_answer_date: date | None = None
    attachments: Bundle | None = None
    route: Route | None = None

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", include=self.model_fields_set)
        if "requested_answer_date" in data and data["requested_answer_date"] is None:
            data["requested_answer_date"] = None
        for name in ("title", "importance", "values", "attachments", "route"):
            if name in data and data[name] is None:
                data.pop(name)
        return data


class VersionBody(_Model):
    version: int = Field(ge=1)


class SubmitBody(VersionBody):
    route: Route | None = None
    importance: Importance | None = None
    requested_answer_date: date | None = None


class Acting(VersionBody):
    on_behalf_of: RefId | None = None  # 代理承認: the absent approver (4(21))


class ApproveBody(Acting):
    post_review: bool = False  # 後閲: approve ahead of absent approvers (4(22))
    comment: Comment = ""
    answers: Values | None = None
    answered_on: date | None = None


class SendBackBody(Acting):
    to: Annotated[str, Field(pattern=r"^(proposer|[A-Za-z0-9_-]{1,64})$")] = "proposer"
    reason: Reason


class ReceiveBody(Acting):
    received_on: date | None = None
    planned_answer_date: date | None = None


class PlanBody(Acting):
    planned_answer_date: date


class AnswerBody(Acting):
    answers: Values
    interim: bool = False
    answer_date: date | None = None


class PostReviewBody(VersionBody):
    comment: Comment = ""


class CommentBody(_Model):
    text: Annotated[str, Text(2000, multiline=True, blank_message="コメントを入力してください。")]


class CorrectBody(VersionBody):
    field: Literal["proposed_on", "received_on", "decided_on", "answered_on"]
    new: date
    reason: Annotated[str, Text(500, required=False)] = ""


class CancelBody(VersionBody):
    reason: Annotated[str, Text(500, required=False)] = ""


class FormCreate(_Model):
    definition: dict[str, Any]
    org_id: RefId | None = None


class FormRevise(VersionBody):
    definition: dict[str, Any]


class FormActive(VersionBody):
    active: bool


class TemplateCreate(_Model):
    scope: Literal["work", "org"]
    owner_id: RefId
    name: Annotated[str, Text(100)]
    steps: Annotated[list[RouteStep], Field(min_length=1, max_length=20)]


class DelegationCreate(_Model):
    deputy_id: RefId
    principal_id: RefId | None = None
    work_id: RefId | None = None
    starts_at: UtcDateTime
    ends_at: UtcDateTime
    note: Annotated[str, Text(200, required=False)] = ""
