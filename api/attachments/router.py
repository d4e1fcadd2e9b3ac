"""``/api/v1/attachments``: upload (tus creation or one small multipart POST), read the record,
download the content or thumbnail, delete a staged one. Linking to a post, proposal and so on
happens in that module's own request; reading a linked attachment asks that module."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel

from api.archive.cas import ContentStore
from api.archive.models import content_scope, derived_key
from api.archive.serve import NO_SNIFF, ensure_not_erased, serve_content
from api.attachments.service import ATTACHMENTS, AttachmentService
from api.deps import ContainerDep, SubjectDep
from api.errors import Conflict, NotFoundError
from api.uploads.router import ServiceDep, create_upload_response, tus_options
from api.uploads.tus import TusRoute

router = APIRouter(prefix="/attachments", tags=["attachments"])
# tus creation speaks the tus protocol (Tus-Resumable on every answer), like /works/{id}/uploads.
tus_router = APIRouter(prefix="/attachments", tags=["attachments"], route_class=TusRoute)
AttachmentId = Annotated[str, Path(max_length=64)]


class AttachmentRead(BaseModel):
    id: str
    state: str
    name: str
    size: int
    content_type: str = ""
    declared_type: str = ""
    file_type: str | None = None
    sha256: str
    work_id: str | None = None
    parent: str | None = None
    order: int | None = None
    owner_id: str
    created_at: str
    ingest: dict[str, Any] | None = None
    extract: dict[str, Any] | None = None
    type_mismatch: str | None = None


def service(container: ContainerDep) -> AttachmentService:
    return AttachmentService(container)


AttachmentsDep = Annotated[AttachmentService, Depends(service)]


@tus_router.options("/uploads", status_code=204)
async def attachment_upload_options(uploads: ServiceDep) -> Response:
    return tus_options(uploads)


@tus_router.post("/uploads", status_code=201)
async def create_attachment_upload(
    request: Request, uploads: ServiceDep, subject: SubjectDep
) -> Response:
    """tus creation of an attachment (then ``PATCH /uploads/{id}`` as for any upload).
    ``Upload-Metadata``: ``filename`` (required), ``filetype``, ``work_id`` (the work the
    attachment is for; without it, the uploader's organization). When the last byte arrives
    the attachment exists, staged, and the upload's HEAD names it (``Kura-Attachment-Id``)."""
    return await create_upload_response(
        request,
        uploads,
        subject,
        lambda length, meta: uploads.create_attachment(subject, length, meta),
    )


@router.get("/{attachment_id}", response_model=AttachmentRead)
async def get_attachment(
    attachment_id: AttachmentId, attachments: AttachmentsDep, subject: SubjectDep
) -> AttachmentRead:
    """The attachment's record (its owner while staged; then whoever may read its parent)."""
    return AttachmentRead.model_validate(await attachments.readable(subject, attachment_id))


@router.get("/{attachment_id}/content")
@router.head("/{attachment_id}/content", include_in_schema=False)
async def attachment_content(
    request: Request,
    attachment_id: AttachmentId,
    attachments: AttachmentsDep,
    subject: SubjectDep,
    disposition: str = "attachment",
) -> Response:
    """The bytes, with ranges and validators like any file download."""
    record = await attachments.readable(subject, attachment_id)
    cas: ContentStore = attachments.cas
    scope = content_scope(record)
    await ensure_not_erased(attachments.container.keys, scope)
    blob = await cas.get(scope, str(record["sha256"]))
    return serve_content(
        request,
        cas,
        blob,
        record=record,
        disposition=disposition,
    )


@router.get("/{attachment_id}/thumbnail")
async def attachment_thumbnail(
    attachment_id: AttachmentId, attachments: AttachmentsDep, subject: SubjectDep
) -> Response:
    """The JPEG thumbnail made by ingest; 404 when there is none (yet)."""
    record = await attachments.readable(subject, attachment_id)
    blobs = attachments.container.blobs
    key = derived_key(content_scope(record), str(record["sha256"]), "thumb.jpg")
    if await blobs.stat(key) is None:
        raise NotFoundError("サムネイルはまだありません。")
    data = b"".join([chunk async for chunk in blobs.get(key)])
    return Response(
        data,
        media_type="image/jpeg",
        headers={**NO_SNIFF, "Cache-Control": "private, max-age=86400"},
    )


@router.delete("/{attachment_id}", status_code=204)
async def delete_attachment(
    attachment_id: AttachmentId, attachments: AttachmentsDep, subject: SubjectDep
) -> Response:
    """Remove a staged attachment (its owner). A linked one is removed by editing its parent."""
    record = await attachments.readable(subject, attachment_id)
    if record.get("state") != "staged":
        raise Conflict("添付済みのファイルは、添付先の編集で外してください。")
    async with attachments.container.uow() as uow:
        current = await uow.records.get(ATTACHMENTS, attachment_id)
        if current is None:
            raise NotFoundError()
        await attachments.release(uow, current)
    return Response(status_code=204)
