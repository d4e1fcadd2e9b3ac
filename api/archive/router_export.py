"""HTTP API for getting files out (issue 3 item 7): single downloads with ranges, thumbnails,
the streamed ZIP export and the CSV / Excel listings. ``files.read`` on the work; 404 else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.archive.cas import ContentStore
from api.archive.download import content_disposition, etag_of, plan
from api.archive.export import ExportService
from api.archive.listing import csv_stream, file_chunks, xlsx_file
from api.archive.models import content_scope, derived_key
from api.archive.router_tree import get_tree
from api.archive.serve import NO_SNIFF as _NO_SNIFF
from api.archive.serve import ensure_not_erased, serve_content
from api.archive.tree import TreeService
from api.deps import ContainerDep, SubjectDep
from api.errors import NotFoundError

router = APIRouter(tags=["archive"])

TreeDep = Annotated[TreeService, Depends(get_tree)]


class ExportRequest(BaseModel):
    """Nothing: the whole work; ``folder_id``: one folder; ``node_ids``: a selection."""

    node_ids: list[str] | None = Field(default=None, max_length=10_000)
    folder_id: str | None = None
    compress: bool = False


def _cas(tree: TreeService) -> ContentStore:
    return tree.nodes.cas


async def _download(
    request: Request, tree: TreeService, subject: SubjectDep, node_id: str, disposition: str
) -> Response:
    node, _ = await tree.file(subject, node_id)
    cas = _cas(tree)
    scope = content_scope(node)
    await ensure_not_erased(tree.nodes.container.keys, scope)
    blob = await cas.get(scope, str(node["sha256"]))
    return serve_content(
        request,
        cas,
        blob,
        record=node,
        disposition=disposition,
    )


@router.get("/files/{node_id}/content")
@router.head("/files/{node_id}/content", include_in_schema=False)
async def file_content(
    request: Request,
    tree: TreeDep,
    subject: SubjectDep,
    node_id: str,
    disposition: str = "attachment",
) -> Response:
    """The file's bytes: ETag (SHA-256), If-None-Match → 304, one byte range → 206
    (several ranges: the whole file with 200; unsatisfiable: 416), RFC 6266 file name.
    ``disposition=inline`` shows PDFs, images and plain text in the browser."""
    return await _download(request, tree, subject, node_id, disposition)


@router.get("/files/{node_id}/thumbnail")
@router.head("/files/{node_id}/thumbnail", include_in_schema=False)
async def file_thumbnail(
    request: Request, tree: TreeDep, subject: SubjectDep, node_id: str
) -> Response:
    """The JPEG thumbnail made by ingest (``s/<scope>/derived/<sha>/thumb.jpg``); 404 if
    none."""
    node, _ = await tree.file(subject, node_id)
    blobs = tree.nodes.container.blobs
    key = derived_key(content_scope(node), str(node["sha256"]), "thumb.jpg")
    info = await blobs.stat(key)
    if info is None:
        raise NotFoundError("サムネイルはまだありません。")
    etag = etag_of(str(node["sha256"]), "-thumb")
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400", **_NO_SNIFF}
    if plan(info.size, etag, None, request.headers.get("if-none-match"), None).status == 304:
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(info.size)
    if request.method == "HEAD":
        return Response(headers=headers, media_type="image/jpeg")
    return StreamingResponse(blobs.get(key), headers=headers, media_type="image/jpeg")


@router.post("/works/{work_id}/export")
async def export_zip(
    tree: TreeDep, subject: SubjectDep, work_id: str, body: ExportRequest | None = None
) -> StreamingResponse:
    """A streamed ZIP (zip64, UTF-8 names) of the selection, a folder or the whole work,
    folder structure and names kept (seed 001 別表1-1 6). Audited as ``files.exported``."""
    body = body or ExportRequest()
    service = ExportService(tree.nodes)
    export = await service.prepare(
        subject, work_id, body.node_ids, body.folder_id, compress=body.compress
    )
    return StreamingResponse(
        service.stream(export),
        media_type="application/zip",
        headers={**_NO_SNIFF, "Content-Disposition": content_disposition(export.filename)},
    )


async def _listing_work(tree: TreeService, subject: SubjectDep, work_id: str) -> str:
    work = await tree.nodes.work(subject, work_id, "files.read")
    return str(work["id"])


@router.get("/works/{work_id}/listing.csv")
async def listing_csv(
    container: ContainerDep, tree: TreeDep, subject: SubjectDep, work_id: str
) -> StreamingResponse:
    """Every folder and file: path, name, size, type, SHA-256, dates, ingest state,
    書類区分 and 表題 (seed 001 別表1-1 5(7)); UTF-8 with BOM for Excel."""
    wid = await _listing_work(tree, subject, work_id)
    return StreamingResponse(
        csv_stream(container.records, wid),
        media_type="text/csv; charset=utf-8",
        headers={**_NO_SNIFF, "Content-Disposition": content_disposition(f"{wid}_files.csv")},
    )


@router.get("/works/{work_id}/listing.xlsx")
async def listing_xlsx(
    container: ContainerDep, tree: TreeDep, subject: SubjectDep, work_id: str
) -> StreamingResponse:
    """The same listing as an Excel workbook (written in constant-memory mode)."""
    wid = await _listing_work(tree, subject, work_id)
    path = await xlsx_file(container.records, wid)
    return StreamingResponse(
        file_chunks(path),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={**_NO_SNIFF, "Content-Disposition": content_disposition(f"{wid}_files.xlsx")},
    )
