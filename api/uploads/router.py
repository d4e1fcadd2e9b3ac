"""tus 1.0.0 endpoints: ``/works/{work_id}/uploads`` creates, ``/uploads/{upload_id}`` is the
upload URL (HEAD, PATCH, DELETE, OPTIONS). Bodies stream straight into the blob port.

Status codes follow the tus 1.0.0 protocol: 201 on creation with ``Location``; 204 for PATCH,
DELETE and OPTIONS; 200 for HEAD with ``Cache-Control: no-store``; 409 wrong offset, 410
expired, 412 other protocol version, 413 too large, 415 wrong Content-Type, 460 checksum.
``router`` also carries the plain multipart endpoint (``api.uploads.multipart``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.requests import ClientDisconnect

from api.deps import ContainerDep, SubjectDep
from api.errors import BadRequest
from api.kit.clock import from_iso
from api.permissions.policy import Subject
from api.uploads.multipart import router as multipart_router
from api.uploads.schemas import UploadState
from api.uploads.service import Progress, UploadService
from api.uploads.tus import (
    CHECKSUM_ALGORITHMS,
    OFFSET_OCTET_STREAM,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusRoute,
    UnsupportedMediaType,
    encode_metadata,
    http_date,
    parse_checksum,
    parse_int_header,
    parse_metadata,
    tus_headers,
)
from storage.query import Record

tus_router = APIRouter(tags=["uploads"], route_class=TusRoute)

IDLE_TIMEOUT_S = 60.0


def get_service(container: ContainerDep) -> UploadService:
    return UploadService(container)


ServiceDep = Annotated[UploadService, Depends(get_service)]


def tus_options(service: UploadService) -> Response:
    return Response(
        status_code=204,
        headers=tus_headers(
            **{
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": TUS_EXTENSIONS,
                "Tus-Max-Size": str(service.limits.max_upload_bytes),
                "Tus-Checksum-Algorithm": CHECKSUM_ALGORITHMS,
            }
        ),
    )


def _progress_headers(progress: Progress) -> dict[str, str]:
    headers = tus_headers(**{"Upload-Offset": str(progress.offset)})
    record = progress.record
    if record["state"] == UploadState.OPEN and record.get("expires_at"):
        headers["Upload-Expires"] = http_date(from_iso(str(record["expires_at"])))
    if record.get("attachment_id"):
        # An attachment upload names what it became, so the client can link it.
        headers["Kura-Attachment-Id"] = str(record["attachment_id"])
    if record.get("node_id"):
        # A finished file upload names its node (a folder upload's INDEX_C.XML → its package
        # folder, checked like a ZIP's; issue 8 §2).
        headers["Kura-Node-Id"] = str(record["node_id"])
    return headers


def _is_offset_stream(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == OFFSET_OCTET_STREAM


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives. A body that stalls for ``IDLE_TIMEOUT_S`` counts as a
    dropped connection (tus 1.0.0 advises ~30 s socket timeouts): the bytes so far are kept
    and the upload is free for the client's next request.

    One timeout per request, armed while a chunk is awaited and off while the caller has it
    (an ``asyncio.wait_for`` per chunk made a task per chunk: 4 % of the event loop's time
    on an upload, which receives 4,000 chunks per GiB)."""
    stream = request.stream().__aiter__()
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(None) as idle:
            while True:
                idle.reschedule(loop.time() + IDLE_TIMEOUT_S)
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    return
                idle.reschedule(None)  # never fires while the caller works on the chunk
                if chunk:
                    yield chunk
    except TimeoutError:
        raise ClientDisconnect() from None


@tus_router.options("/works/{work_id}/uploads", status_code=204)
async def creation_options(service: ServiceDep, work_id: str) -> Response:
    return tus_options(service)


CreateFn = Callable[[int, dict[str, str]], Awaitable[Record]]


async def create_upload_response(
    request: Request, service: UploadService, subject: Subject | None, create: CreateFn
) -> Response:
    """tus creation (and creation-with-upload when the POST carries an offset stream), for
    any landing place: ``create(length, metadata)`` makes the upload record."""
    if request.headers.get("upload-defer-length") is not None:
        raise BadRequest("Upload-Length を指定してください（長さの後送りには対応していません）。")
    length = parse_int_header(request, "Upload-Length")
    assert length is not None
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    with_body = _is_offset_stream(request)
    checksum = parse_checksum(request.headers.get("upload-checksum")) if with_body else None
    record = await create(length, metadata)
    upload_id = str(record["id"])
    location = str(request.url_for("upload_head", upload_id=upload_id))
    progress = Progress(record, 0)
    if with_body and int(request.headers.get("content-length") or 1) > 0:
        try:
            progress = await service.append(
                subject,
                upload_id,
                0,
                _body(request),
                checksum=checksum,
                content_length=parse_int_header(request, "Content-Length", required=False),
            )
        except ClientDisconnect:
            return Response(status_code=400)
    elif length == 0:
        progress = await service.progress(subject, upload_id)
    headers = _progress_headers(progress)
    headers["Location"] = location
    return Response(status_code=201, headers=headers)


@tus_router.post("/works/{work_id}/uploads", status_code=201)
async def create_upload(
    request: Request, service: ServiceDep, subject: SubjectDep, work_id: str
) -> Response:
    """tus creation (and creation-with-upload when the POST carries an offset stream)."""
    return await create_upload_response(
        request,
        service,
        subject,
        lambda length, meta: service.create(subject, work_id, length, meta),
    )


@tus_router.options("/uploads/{upload_id}", status_code=204)
async def upload_options(service: ServiceDep, upload_id: str) -> Response:
    return tus_options(service)


@tus_router.head("/uploads/{upload_id}", name="upload_head")
async def upload_head(service: ServiceDep, subject: SubjectDep, upload_id: str) -> Response:
    """The durable offset (from the blob port), length and metadata; never cached."""
    progress = await service.progress(subject, upload_id)
    record = progress.record
    headers = _progress_headers(progress)
    headers["Upload-Length"] = str(record["length"])
    headers["Cache-Control"] = "no-store"
    if record.get("metadata"):
        headers["Upload-Metadata"] = encode_metadata(dict(record["metadata"]))
    return Response(status_code=200, headers=headers)


@tus_router.patch("/uploads/{upload_id}", status_code=204)
async def upload_patch(
    request: Request, service: ServiceDep, subject: SubjectDep, upload_id: str
) -> Response:
    """Append the body at ``Upload-Offset``, streamed; bytes of a cut request are kept."""
    if not _is_offset_stream(request):
        raise UnsupportedMediaType()
    offset = parse_int_header(request, "Upload-Offset")
    assert offset is not None
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    content_length = parse_int_header(request, "Content-Length", required=False)
    try:
        progress = await service.append(
            subject,
            upload_id,
            offset,
            _body(request),
            checksum=checksum,
            content_length=content_length,
        )
    except ClientDisconnect:
        # Nobody reads this answer; the received bytes are durable and HEAD reports them.
        return Response(status_code=400)
    return Response(status_code=204, headers=_progress_headers(progress))


@tus_router.delete("/uploads/{upload_id}", status_code=204)
async def upload_delete(service: ServiceDep, subject: SubjectDep, upload_id: str) -> Response:
    """tus termination: the upload and its received bytes are discarded."""
    await service.terminate(subject, upload_id)
    return Response(status_code=204, headers=tus_headers())


@tus_router.post("/uploads/{upload_id}")
async def upload_override(
    request: Request, service: ServiceDep, subject: SubjectDep, upload_id: str
) -> Response:
    """``X-HTTP-Method-Override`` for clients that can only send POST (tus 1.0.0 core)."""
    method = request.headers.get("x-http-method-override", "").strip().upper()
    if method == "PATCH":
        return await upload_patch(request, service, subject, upload_id)
    if method == "DELETE":
        return await upload_delete(service, subject, upload_id)
    if method == "HEAD":
        return await upload_head(service, subject, upload_id)
    return Response(status_code=405, headers=tus_headers(Allow="HEAD, PATCH, DELETE, OPTIONS"))


router = APIRouter()
router.include_router(tus_router)
router.include_router(multipart_router)
