"""HTTP API of the applicant's side (seed 004 第2, 第3): rounds, the fixed tables, the draft
(autosaved per step), send, the filing, its receipt, correction and additional application.
The services and the rules decide."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response

from api.deps import ContainerDep, SubjectDep
from api.errors import NotAuthenticated
from api.qualifications import catalog, form
from api.qualifications.amend import AmendService
from api.qualifications.desk import DeskService
from api.qualifications.drafts import DraftService
from api.qualifications.rounds import RoundService
from api.qualifications.schemas import (
    AdditionBody,
    CorrectionBody,
    DraftCreate,
    DraftSave,
    SendBody,
)
from api.qualifications.sending import SendService, certificate_subject
from api.qualifications.views import filing_view

router = APIRouter(prefix="/qualifications", tags=["qualifications"])
RecordId = Annotated[str, Path(max_length=64)]


@router.get("/catalog")
async def get_catalog(subject: SubjectDep) -> dict[str, Any]:
    """The fixed tables the form chooses from: the 32 categories with their base (第1 4),
    the 略号 table (第2 3(4)), the 大臣・知事 codes (第2 3(7)), every municipality code
    (第2 3(5)) and the 建築CPD qualifications (第2 3(16))."""
    if subject is None:
        raise NotAuthenticated()
    return {
        "categories": [
            {"code": c.code, "name": c.name, "licence": c.licence, "base": c.base}
            for c in catalog.CATEGORIES
        ],
        "legal_forms": [{"kind": k, "abbreviation": a} for k, a in catalog.LEGAL_FORMS],
        "authorities": [{"code": c, "name": n} for c, n in catalog.authorities()],
        "municipalities": [
            {"code": m.code, "name": m.name, "prefecture": m.prefecture}
            for m in catalog.municipalities().values()
            if not m.code.endswith("000")
        ],
        "prefectures": [
            {"code": m.code[:2], "name": m.name}
            for m in catalog.municipalities().values()
            if m.code.endswith("000")
        ],
        "kenchiku_cpd": [{"key": k, "name": n} for k, n in form.KENCHIKU_CPD],
    }


@router.get("/rounds")
async def list_rounds(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    """Rounds the subject reads, each with its windows now and the subject's draft/filing."""
    return await RoundService(container).list(subject)


@router.get("/rounds/{round_id}")
async def get_round(
    container: ContainerDep, subject: SubjectDep, round_id: RecordId
) -> dict[str, Any]:
    return await RoundService(container).get(subject, round_id)


@router.get("/rounds/{round_id}/draft")
async def get_my_draft(
    container: ContainerDep, subject: SubjectDep, round_id: RecordId
) -> dict[str, Any]:
    """The applicant organization's draft of the round, with every error by step (reading is
    possible outside the filing hours)."""
    return await DraftService(container).mine(subject, round_id)


@router.post("/rounds/{round_id}/draft", status_code=201)
async def start_draft(
    container: ContainerDep,
    subject: SubjectDep,
    round_id: RecordId,
    body: DraftCreate,
    response: Response,
) -> dict[str, Any]:
    """Start the draft (from the last filing by default); an existing one answers 200."""
    service = DraftService(container)
    before = await _exists(service, subject, round_id)
    draft = await service.create(subject, round_id, body)
    if before:
        response.status_code = 200
    return draft


async def _exists(service: DraftService, subject: Any, round_id: str) -> bool:
    from api.errors import KuraError

    try:
        await service.mine(subject, round_id)
    except KuraError:
        return False
    return True


@router.get("/drafts/{draft_id}")
async def get_draft(
    container: ContainerDep, subject: SubjectDep, draft_id: RecordId
) -> dict[str, Any]:
    return await DraftService(container).get(subject, draft_id)


@router.patch("/drafts/{draft_id}")
async def save_draft(
    container: ContainerDep, subject: SubjectDep, draft_id: RecordId, body: DraftSave
) -> dict[str, Any]:
    """Autosave of one step: stored as typed, answered with every error (never refused for
    a rule of the guide; refused outside the window with the next open time)."""
    return await DraftService(container).save(subject, draft_id, body)


@router.post("/drafts/{draft_id}/send")
async def send_draft(
    container: ContainerDep,
    subject: SubjectDep,
    draft_id: RecordId,
    body: SendBody,
    request: Request,
) -> dict[str, Any]:
    """送信: checks, 経審 check, receipt (第2 6); re-application replaces the filing (第3 1).
    The subject of the IC card's certificate, when the proxy passes one, is kept with it."""
    certificate = certificate_subject(request, container.settings.auth.client_cert_header)
    stored = await SendService(container).send(subject, draft_id, body, certificate=certificate)
    return await DeskService(container).detail(subject, str(stored["id"]))


@router.get("/applications/{application_id}")
async def get_application(
    container: ContainerDep, subject: SubjectDep, application_id: RecordId
) -> dict[str, Any]:
    """The filing as the reader may see it (a municipality: itself as the only target)."""
    return await DeskService(container).detail(subject, application_id)


@router.get("/applications/{application_id}/receipt.pdf")
async def get_receipt(
    container: ContainerDep, subject: SubjectDep, application_id: RecordId
) -> Response:
    """送信完了 兼 受付票 (PDF)."""
    pdf, name = await DeskService(container).receipt_pdf(subject, application_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.post("/applications/{application_id}/correction")
async def correct_application(
    container: ContainerDep,
    subject: SubjectDep,
    application_id: RecordId,
    body: CorrectionBody,
    request: Request,
) -> dict[str, Any]:
    """訂正申請 (第3 2)."""
    certificate = certificate_subject(request, container.settings.auth.client_cert_header)
    await AmendService(container).correct(subject, application_id, body, certificate=certificate)
    return await DeskService(container).detail(subject, application_id)


@router.post("/applications/{application_id}/additions")
async def add_targets(
    container: ContainerDep,
    subject: SubjectDep,
    application_id: RecordId,
    body: AdditionBody,
    request: Request,
) -> dict[str, Any]:
    """追加申請 (第2 2(1))."""
    certificate = certificate_subject(request, container.settings.auth.client_cert_header)
    await AmendService(container).add(subject, application_id, body, certificate=certificate)
    return await DeskService(container).detail(subject, application_id)


__all__ = ["filing_view", "router"]
