"""HTTP API of an orderer's hand-over settings (seed 000: the municipality's choice of the
archive; 別表3 12(1): the erasure date the contract sets). Read by the organization's staff and
operators; changed by operators or the organization's ``master.manage`` holders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.audit.service import AuditLog
from api.deps import ContainerDep, SubjectDep
from api.errors import NotAuthenticated, NotFoundError, ValidationFailed
from api.handovers.config import SETTINGS, org_settings
from api.kit.ids import is_id
from api.permissions.policy import OrgContext, Subject

router = APIRouter(tags=["handovers"])


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    uses_archive: bool
    erasure_days: int = Field(ge=1, le=3650)
    reminder_days: int = Field(ge=1, le=365)


async def _org(
    container: ContainerDep, subject: Subject | None, org_id: str | None, action: str
) -> str:
    if subject is None:
        raise NotAuthenticated()
    org = org_id or subject.org_id
    if not org:
        raise ValidationFailed("発注機関を指定してください。")
    container.policy.require(subject, action, OrgContext(org))
    record = await container.records.get("organizations", org) if is_id(org) else None
    if record is None or record.get("kind") != "orderer":
        raise NotFoundError("発注機関が見つかりません。")
    return org


def _read(settings: Any) -> dict[str, Any]:
    return {
        "org_id": settings.org_id,
        "uses_archive": settings.uses_archive,
        "erasure_days": settings.erasure_days,
        "reminder_days": settings.reminder_days,
        "stored": settings.stored,
        "version": settings.version,
    }


@router.get("/handover-settings")
async def get_settings(
    container: ContainerDep, subject: SubjectDep, org_id: str | None = None
) -> dict[str, Any]:
    org = await _org(container, subject, org_id, "handovers.settings.read")
    return _read(await org_settings(container, org))


@router.put("/handover-settings")
async def save_settings(
    container: ContainerDep, subject: SubjectDep, body: SettingsUpdate
) -> dict[str, Any]:
    """Whether the orderer's works move to the archive, and the erasure period."""
    org = await _org(container, subject, body.org_id, "handovers.settings.manage")
    if body.reminder_days >= body.erasure_days:
        raise ValidationFailed(
            "事前通知の日数は消去までの日数より短くしてください。", field="reminder_days"
        )
    values = body.model_dump(exclude={"org_id"})
    async with container.uow():
        before = await container.records.get(SETTINGS, org)
        if before is None:
            after = await container.records.insert(SETTINGS, {"id": org, "org_id": org, **values})
        else:
            after = await container.records.update(SETTINGS, org, values, before["version"])
        await AuditLog(container.records, container.clock).record(
            subject, "handovers.settings_saved", f"organizations/{org}", before=before, after=after
        )
    return _read(await org_settings(container, org))
