"""HTTP API of imports: every unpacked ZIP and ``kura import`` run, with its state, its
reason in Japanese, counts, findings, the source file and the 電子納品 check (issue 7 item 15).

Readers of the work (``files.read``) see its imports; anyone else gets 404 (the work's
existence is not revealed), anonymous 401.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.archive.cas import ContentStore
from api.archive.download import content_disposition
from api.archive.nodes import NodeService
from api.deliverables import imports
from api.deliverables.sources import source_file
from api.deps import ContainerDep, SubjectDep
from api.errors import NotFoundError
from api.keys import scopes
from api.kit.ids import is_id

router = APIRouter(tags=["deliverables"])

ImportState = Literal["queued", "running", "done", "rejected", "failed", "interrupted"]


class ImportSource(BaseModel):
    kind: Literal["upload", "cli"]
    name: str  # the uploaded ZIP's path in the work, or the name given to kura import
    node_id: str | None = None
    upload_id: str | None = None


class ImportCounts(BaseModel):
    files: int | None = None  # files in the input
    created: int
    replaced: int
    skipped: int  # identical content already there
    folders: int
    bytes: int


class ImportActor(BaseModel):
    id: str | None = None
    name: str | None = None  # None for system actors (kura import without --as)


class ImportRead(BaseModel):
    """One import: its state, the reason in Japanese, counts, findings and the 電子納品
    check (``package``: deliverable id, root folder, profile, counts of E/W/N)."""

    id: str
    work_id: str
    state: ImportState
    reason: str | None = None
    source: ImportSource
    target: str | None = None
    counts: ImportCounts
    findings_count: dict[str, int]
    package: dict[str, Any] | None = None
    # the uploaded ZIP kept as the import's source (GET /imports/{id}/source), issue 8 §2
    source_file: dict[str, Any] | None = None
    actor: ImportActor
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    findings: list[dict[str, Any]] | None = None  # only on GET /imports/{id}


class ImportPage(BaseModel):
    items: list[ImportRead]
    next_cursor: str | None = None


@router.get(
    "/works/{work_id}/imports", response_model=ImportPage, response_model_exclude_none=False
)
async def list_imports(
    container: ContainerDep,
    subject: SubjectDep,
    work_id: str,
    upload_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """A work's imports, newest first (``upload_id``: the one an upload started)."""
    await NodeService(container).work(subject, work_id, "files.read")
    page = await imports.list_for_work(
        container.records, work_id, upload_id=upload_id, limit=limit, cursor=cursor
    )
    names = await imports.actor_names(container.records, page.items)
    return {
        "items": [imports.to_read(r, names, findings=False) for r in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/imports/{import_id}/source")
async def import_source(
    container: ContainerDep, subject: SubjectDep, import_id: str
) -> StreamingResponse:
    """The uploaded ZIP of an import, kept as its source (not as a document of the work)."""
    container.policy.require(subject, "works.list")
    record = await container.records.get(imports.IMPORTS, import_id) if is_id(import_id) else None
    if record is None:
        raise NotFoundError("取り込みの記録が見つかりません。")
    await NodeService(container).work(subject, str(record["work_id"]), "files.read")
    kept = source_file(record)
    if kept is None:
        raise NotFoundError("この取り込みの元のZIPは保存されていません。")
    scope = str(kept.get("scope") or scopes.archive(str(record["work_id"])))
    cas = ContentStore(container.records, container.blobs, container.clock)
    blob = await cas.lookup(scope, str(kept["sha256"]))
    if blob is None:
        raise NotFoundError("この取り込みの元のZIPは保存されていません。")
    return StreamingResponse(
        container.blobs.get(str(blob["key"])),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(str(kept["name"])),
            "Content-Length": str(blob["size"]),
        },
    )


@router.get("/imports/{import_id}", response_model=ImportRead)
async def get_import(
    container: ContainerDep, subject: SubjectDep, import_id: str
) -> dict[str, Any]:
    """One import with its findings (up to 200)."""
    container.policy.require(subject, "works.list")
    record = await container.records.get(imports.IMPORTS, import_id) if is_id(import_id) else None
    if record is None:
        raise NotFoundError("取り込みの記録が見つかりません。")
    await NodeService(container).work(subject, str(record["work_id"]), "files.read")
    names = await imports.actor_names(container.records, [record])
    return imports.to_read(record, names, findings=True)
