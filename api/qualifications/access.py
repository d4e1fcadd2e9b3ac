"""Loading rounds and filings for a subject, with the 404/403 split of the house rules: a
filing the subject may not even know of answers 404 (another company's, a municipality it was
not sent to); one it sees but may not act on answers 403."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from api.errors import NotAuthenticated, NotFoundError
from api.kit.ids import is_id
from api.master.calendar import BusinessCalendar
from api.master.days import load_calendar
from api.permissions.policy import Subject
from api.qualifications.models import (
    APPLICATIONS,
    DRAFTS,
    ROUNDS,
    ApplicantResource,
    ApplicationResource,
    RoundResource,
)

if TYPE_CHECKING:
    from api.container import Container

NO_ROUND = "受付が見つかりません。"
NO_APPLICATION = "申請が見つかりません。"


def targets_of(round_: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """code → target (name, org_id, own documents) of a round."""
    return {str(t["code"]): dict(t) for t in round_.get("targets") or []}


def host_org(round_: Mapping[str, Any]) -> str | None:
    """The prefecture's organization: it receives the common papers (第1 8)."""
    code = f"{round_.get('prefecture')}000"
    target = targets_of(round_).get(code)
    return str(target["org_id"]) if target else None


class Access:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.policy = container.policy

    async def round(self, subject: Subject | None, round_id: str) -> dict[str, Any]:
        if subject is None:
            raise NotAuthenticated()
        found = await self.records.get(ROUNDS, round_id) if is_id(round_id) else None
        if found is None or not self.policy.can(
            subject, "qualifications.rounds.read", RoundResource(found)
        ):
            raise NotFoundError(NO_ROUND)
        return found

    async def calendar(self, round_: Mapping[str, Any]) -> BusinessCalendar:
        org = round_.get("calendar_org_id")
        return await load_calendar(self.records, str(org) if org else None)

    def require_applicant(self, subject: Subject | None) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "qualifications.apply", ApplicantResource(subject.org_id))
        return subject

    async def draft(self, subject: Subject | None, draft_id: str) -> dict[str, Any]:
        """The subject's organization's draft (another's: 404)."""
        if subject is None:
            raise NotAuthenticated()
        found = await self.records.get(DRAFTS, draft_id) if is_id(draft_id) else None
        if found is None or found.get("org_id") != subject.org_id:
            raise NotFoundError("下書きが見つかりません。")
        self.require_applicant(subject)
        return found

    async def application(
        self, subject: Subject | None, application_id: str, action: str = "qualifications.read"
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if subject is None:
            raise NotAuthenticated()
        found = (
            await self.records.get(APPLICATIONS, application_id) if is_id(application_id) else None
        )
        if found is None:
            raise NotFoundError(NO_APPLICATION)
        round_ = await self.records.get(ROUNDS, str(found["round_id"])) or {}
        resource = ApplicationResource(found, {**round_, "host_org_id": host_org(round_)})
        visible = (
            subject.is_operator
            or found.get("org_id") == subject.org_id
            or (subject.org_id is not None and subject.org_id in resource.target_orgs)
            or (subject.org_id is not None and subject.org_id == resource.host_org)
        )
        if not visible:
            raise NotFoundError(NO_APPLICATION)
        self.policy.require(subject, "qualifications.read", resource)
        if action != "qualifications.read":
            self.policy.require(subject, action, resource)
        return found, round_
