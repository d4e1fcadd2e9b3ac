"""``/api/v1/schedules/imports``: iCalendar import jobs (seed 001 別表1-1 7(6))."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from api.deps import ContainerDep, SubjectDep
from api.errors import PayloadTooLarge
from api.schedules.imports import ImportService
from api.schedules.schemas import ImportFromAttachment, ImportRead

router = APIRouter(prefix="/schedules/imports", tags=["schedules"])
ImportId = Annotated[str, Path(max_length=64)]


def _read(record: dict[str, Any]) -> ImportRead:
    return ImportRead.model_validate(record)


@router.post("", status_code=202, response_model=ImportRead)
async def upload_import(
    request: Request,
    container: ContainerDep,
    subject: SubjectDep,
    filename: Annotated[str, Query(max_length=255)] = "import.ics",
    visibility: Literal["public", "private"] = "public",
    work_id: Annotated[str | None, Query(max_length=64)] = None,
) -> ImportRead:
    """Import an iCalendar file sent as the request body (``text/calendar``, at most
    ``KURA_SCHEDULES__MAX_IMPORT_BYTES``). Answers at once with the queued job; poll
    ``GET /schedules/imports/{id}`` for progress and the report. Files refused whole (not
    iCalendar, cut off, undecodable, too large, too many events) get a problem+json and store
    nothing."""
    service = ImportService(container)
    declared = request.headers.get("content-length")
    limit = container.settings.schedules.max_import_bytes
    if declared and declared.isdigit() and int(declared) > limit:
        service.schedules._me(subject)
        raise PayloadTooLarge(f"ファイルが大きすぎます(上限 {limit // 1024**2} MB)。")
    record = await service.from_upload(
        subject, filename, request.stream(), visibility=visibility, work_id=work_id
    )
    return _read(record)


@router.post("/from-attachment", status_code=202, response_model=ImportRead)
async def import_attachment(
    container: ContainerDep, subject: SubjectDep, body: ImportFromAttachment
) -> ImportRead:
    """Import a staged attachment uploaded with the shared tus uploads (large files)."""
    record = await ImportService(container).from_attachment(
        subject, body.attachment_id, visibility=body.visibility, work_id=body.work_id
    )
    return _read(record)


@router.get("", response_model=list[ImportRead])
async def list_imports(container: ContainerDep, subject: SubjectDep) -> list[ImportRead]:
    """The signed-in user's recent imports, newest first."""
    return [_read(r) for r in await ImportService(container).list(subject)]


@router.get("/{import_id}", response_model=ImportRead)
async def get_import(
    container: ContainerDep, subject: SubjectDep, import_id: ImportId
) -> ImportRead:
    """State, progress and (when done) the report: imported, updated, skipped with reasons."""
    return _read(await ImportService(container).get(subject, import_id))
