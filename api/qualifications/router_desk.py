"""The municipality's side (issue 14 §5): the filings sent to it, exports, its desk."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from api.deps import ContainerDep, SubjectDep
from api.qualifications.desk import DeskService
from api.qualifications.export import csv_stream, xlsx_stream
from api.qualifications.schemas import DeskUpdate, NoteCreate
from api.search.export import content_disposition

router = APIRouter(prefix="/qualifications", tags=["qualifications"])
RecordId = Annotated[str, Path(max_length=64)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/rounds/{round_id}/received")
async def list_received(
    container: ContainerDep,
    subject: SubjectDep,
    round_id: RecordId,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Filings sent to the subject's municipality (the host: every filing of the round)."""
    return await DeskService(container).received(subject, round_id, cursor, limit)


def _names(ext: str) -> tuple[str, str]:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"資格審査申請一覧_{stamp}.{ext}", f"qualifications-{stamp}.{ext}"


@router.get("/rounds/{round_id}/received/export.csv")
async def export_received_csv(
    container: ContainerDep, subject: SubjectDep, round_id: RecordId
) -> StreamingResponse:
    service = DeskService(container)
    await service.check(subject, round_id)
    name, fallback = _names("csv")
    return StreamingResponse(
        csv_stream(service.rows(subject, round_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name, fallback)},
    )


@router.get("/rounds/{round_id}/received/export.xlsx")
async def export_received_xlsx(
    container: ContainerDep, subject: SubjectDep, round_id: RecordId
) -> StreamingResponse:
    service = DeskService(container)
    await service.check(subject, round_id)
    name, fallback = _names("xlsx")
    return StreamingResponse(
        xlsx_stream(service.rows(subject, round_id)),
        media_type=XLSX,
        headers={"Content-Disposition": content_disposition(name, fallback)},
    )


@router.patch("/applications/{application_id}/desk")
async def update_desk(
    container: ContainerDep, subject: SubjectDep, application_id: RecordId, body: DeskUpdate
) -> dict[str, Any]:
    """Papers received: the common ones by the host, the own documents by each municipality."""
    return await DeskService(container).update(subject, application_id, body)


@router.post("/applications/{application_id}/notes", status_code=201)
async def add_note(
    container: ContainerDep, subject: SubjectDep, application_id: RecordId, body: NoteCreate
) -> dict[str, Any]:
    return await DeskService(container).add_note(subject, application_id, body)
