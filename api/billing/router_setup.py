"""HTTP API of billing's set-up: the operator's profile, tariffs, agreements (覚書), the yearly
staff roster (発注者情報の登録) and trial environments. The services and rules decide."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.billing.accounts import Accounts
from api.billing.agreements import Agreements
from api.billing.base import Base
from api.billing.sandbox import Sandboxes
from api.billing.schemas import (
    AgreementApply,
    AgreementConclude,
    ProfileUpdate,
    Reason,
    RosterSave,
    SandboxCreate,
    TariffCreate,
)
from api.billing.tariffs import Tariffs
from api.deps import ContainerDep, SubjectDep

router = APIRouter(prefix="/billing", tags=["billing"])


@router.get("/profile")
async def get_profile(container: ContainerDep, subject: SubjectDep) -> dict[str, Any]:
    """The operator's data printed on every form (名称, 登録番号, 振込先)."""
    container.policy.require(subject, "billing.tariffs.read")
    return await Base(container).profile()


@router.put("/profile")
async def put_profile(
    container: ContainerDep, subject: SubjectDep, body: ProfileUpdate
) -> dict[str, Any]:
    return await Tariffs(container).save_profile(subject, body.model_dump())


@router.get("/tariffs")
async def list_tariffs(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    """Every fee table, newest first (利用検討協議: システム利用料の説明)."""
    return await Tariffs(container).find(subject)


@router.post("/tariffs", status_code=201)
async def create_tariff(
    container: ContainerDep, subject: SubjectDep, body: TariffCreate
) -> dict[str, Any]:
    items = [i.model_dump(mode="json") for i in body.items]
    return await Tariffs(container).create(subject, body.name, body.valid_from, items)


@router.get("/agreements")
async def list_agreements(
    container: ContainerDep,
    subject: SubjectDep,
    state: str | None = Query(None, pattern="^(applied|active|terminating|terminated|rejected)$"),
) -> list[dict[str, Any]]:
    return await Agreements(container).find(subject, state)


@router.post("/agreements", status_code=201)
async def apply_agreement(
    container: ContainerDep, subject: SubjectDep, body: AgreementApply
) -> dict[str, Any]:
    """利用決定: the municipality asks to conclude the agreement."""
    return await Agreements(container).apply(
        subject,
        systems=body.systems,
        starts_on=body.starts_on,
        contact=body.contact.model_dump(exclude_none=True),
    )


@router.get("/agreements/{agreement_id}")
async def get_agreement(
    container: ContainerDep, subject: SubjectDep, agreement_id: str
) -> dict[str, Any]:
    return await Base(container).readable(subject, "billing_agreements", agreement_id, "覚書")


@router.post("/agreements/{agreement_id}/conclude")
async def conclude_agreement(
    container: ContainerDep, subject: SubjectDep, agreement_id: str, body: AgreementConclude
) -> dict[str, Any]:
    return await Agreements(container).conclude(
        subject,
        agreement_id,
        term_ends_on=body.term_ends_on,
        access_before_payment=body.access_before_payment,
    )


@router.post("/agreements/{agreement_id}/reject")
async def reject_agreement(
    container: ContainerDep, subject: SubjectDep, agreement_id: str, body: Reason
) -> dict[str, Any]:
    return await Agreements(container).reject(subject, agreement_id, body.reason)


@router.post("/agreements/{agreement_id}/terminate")
async def terminate_agreement(
    container: ContainerDep, subject: SubjectDep, agreement_id: str, body: Reason
) -> dict[str, Any]:
    """利用終了通知 (様式情運-7)."""
    return await Agreements(container).terminate(subject, agreement_id, body.reason)


@router.post("/agreements/{agreement_id}/stop-notice")
async def stop_notice(
    container: ContainerDep, subject: SubjectDep, agreement_id: str
) -> dict[str, Any]:
    """利用停止通知 (様式情運-8), by the operator."""
    container.policy.require(subject, "billing.operate")
    assert subject is not None
    service = Agreements(container)
    agreement = await service.get("billing_agreements", agreement_id, "覚書")
    return await service.stop_notice(subject, agreement)


@router.get("/rosters/{fiscal_year}")
async def get_roster(
    container: ContainerDep, subject: SubjectDep, fiscal_year: int
) -> dict[str, Any]:
    roster = await Accounts(container).get_roster(subject, fiscal_year)
    return roster or {"fiscal_year": fiscal_year, "state": "none", "staff": []}


@router.put("/rosters/{fiscal_year}")
async def put_roster(
    container: ContainerDep, subject: SubjectDep, fiscal_year: int, body: RosterSave
) -> dict[str, Any]:
    """発注者情報の登録 for a fiscal year (fixed once issued on 4月1日)."""
    staff = [p.model_dump(exclude_none=True) for p in body.staff]
    return await Accounts(container).save_roster(subject, fiscal_year, staff)


@router.get("/sandboxes")
async def list_sandboxes(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    return await Sandboxes(container).find(subject)


@router.post("/sandboxes", status_code=201)
async def create_sandbox(
    container: ContainerDep, subject: SubjectDep, body: SandboxCreate
) -> dict[str, Any]:
    """A trial environment; the answer holds the trial user's one-time password, once."""
    return await Sandboxes(container).create(subject, body.name, body.login_id)


@router.post("/sandboxes/{org_id}/reset")
async def reset_sandbox(
    container: ContainerDep, subject: SubjectDep, org_id: str
) -> dict[str, Any]:
    return {"deleted": await Sandboxes(container).reset(subject, org_id)}
