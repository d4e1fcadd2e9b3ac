"""HTTP API of the per-work flow: usage requests (様式情運-1/-2), contractor applications,
completion, and the one-time showing of issued passwords."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.billing.accounts import Accounts
from api.billing.applications import Applications
from api.billing.documents import Documents
from api.billing.requests import Requests
from api.billing.schemas import ApplicationCreate, Completion, Reason, RequestCreate, Reveal
from api.deps import ContainerDep, SubjectDep

router = APIRouter(prefix="/billing", tags=["billing"])

_REQUEST_STATES = "^(submitted|approved|rejected|withdrawn)$"
_APPLICATION_STATES = "^(submitted|approved|active|completed|rejected)$"


async def _with_documents(
    container: ContainerDep, collection: str, record: dict[str, Any]
) -> dict[str, Any]:
    docs = await Documents(container).of_source(f"{collection}/{record['id']}")
    return {**record, "documents": [_doc(d) for d in docs]}


def _doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: doc[k] for k in ("id", "form", "form_code", "title", "number", "date", "doc_version")
    }


@router.get("/requests")
async def list_requests(
    container: ContainerDep,
    subject: SubjectDep,
    state: str | None = Query(None, pattern=_REQUEST_STATES),
) -> list[dict[str, Any]]:
    return await Requests(container).find(subject, state)


@router.post("/requests", status_code=201)
async def submit_request(
    container: ContainerDep, subject: SubjectDep, body: RequestCreate
) -> dict[str, Any]:
    """情報共有S等利用依頼 (様式情運-1)."""
    return await Requests(container).submit(
        subject,
        work=body.work.model_dump(mode="json", exclude_none=True) if body.work else None,
        work_id=body.work_id,
        supervisor_ids=body.supervisor_ids,
        note=body.note,
    )


@router.get("/requests/{request_id}")
async def get_request(
    container: ContainerDep, subject: SubjectDep, request_id: str
) -> dict[str, Any]:
    record = await Requests(container).readable(subject, "billing_requests", request_id, "利用依頼")
    return await _with_documents(container, "billing_requests", record)


@router.post("/requests/{request_id}/approve")
async def approve_request(
    container: ContainerDep, subject: SubjectDep, request_id: str, body: Reason
) -> dict[str, Any]:
    """利用承諾 (様式情運-2): the work is registered with its staff."""
    return await Requests(container).approve(subject, request_id, body.reason)


@router.post("/requests/{request_id}/reject")
async def reject_request(
    container: ContainerDep, subject: SubjectDep, request_id: str, body: Reason
) -> dict[str, Any]:
    return await Requests(container).reject(subject, request_id, body.reason)


@router.post("/requests/{request_id}/withdraw")
async def withdraw_request(
    container: ContainerDep, subject: SubjectDep, request_id: str
) -> dict[str, Any]:
    return await Requests(container).withdraw(subject, request_id)


@router.get("/applications")
async def list_applications(
    container: ContainerDep,
    subject: SubjectDep,
    state: str | None = Query(None, pattern=_APPLICATION_STATES),
) -> list[dict[str, Any]]:
    return await Applications(container).find(subject, state)


@router.post("/applications", status_code=201)
async def submit_application(
    container: ContainerDep, subject: SubjectDep, body: ApplicationCreate
) -> dict[str, Any]:
    """利用申込書の提出 (the winning contractor)."""
    return await Applications(container).submit(
        subject,
        approval_number=body.approval_number,
        work_number=body.work_number,
        company=body.company.model_dump(),
        staff=[p.model_dump(exclude_none=True) for p in body.staff],
        note=body.note,
    )


@router.get("/applications/{application_id}")
async def get_application(
    container: ContainerDep, subject: SubjectDep, application_id: str
) -> dict[str, Any]:
    service = Applications(container)
    record = await service.readable(subject, "billing_applications", application_id, "利用申込")
    out = await _with_documents(container, "billing_applications", record)
    out["passwords_pending"] = await Accounts(container).pending(
        f"billing_applications/{record['id']}"
    )
    return out


@router.post("/applications/{application_id}/approve")
async def approve_application(
    container: ContainerDep, subject: SubjectDep, application_id: str
) -> dict[str, Any]:
    """審査: IDs issued, fee requested."""
    return await Applications(container).approve(subject, application_id)


@router.post("/applications/{application_id}/reject")
async def reject_application(
    container: ContainerDep, subject: SubjectDep, application_id: str, body: Reason
) -> dict[str, Any]:
    return await Applications(container).reject(subject, application_id, body.reason)


@router.post("/applications/{application_id}/complete")
async def complete_application(
    container: ContainerDep, subject: SubjectDep, application_id: str, body: Completion
) -> dict[str, Any]:
    """利用完了処理: the work is completed and its fee period ends."""
    return await Applications(container).complete(subject, application_id, body.completed_on)


@router.post("/credentials/reveal")
async def reveal_credentials(
    container: ContainerDep, subject: SubjectDep, body: Reveal
) -> dict[str, Any]:
    """The one-time passwords of an ID batch, shown once (別表3 2(1))."""
    shown = await Accounts(container).reveal(subject, body.source)
    return {"accounts": shown, "notice": "この画面を閉じると再表示できません。"}
