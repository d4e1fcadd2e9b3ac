"""HTTP API of file ingest (issue 3 item 3): a file's metadata with its ingest state and
extraction results, a work's ingest progress, re-ingest, and the thumbnail.

``files.read`` on the work to read, ``files.write`` to re-ingest; 404 when unreadable.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.archive.models import NODES, IngestState, NodeKind
from api.archive.nodes import Located, NodeService
from api.audit.service import AuditLog
from api.deps import ContainerDep, SubjectDep
from api.errors import Conflict, NotFoundError
from api.permissions.policy import Subject
from storage.errors import StaleVersion
from storage.query import Eq, Exists, Record
from storage.query import Query as RecordQuery

router = APIRouter(tags=["archive"])

FAILED_LIST = 100


class IngestRead(BaseModel):
    state: str
    reason: str | None = None
    note: str | None = None
    attempts: int | None = None
    started_at: str | None = None
    finished_at: str | None = None


class TypeMismatchRead(BaseModel):
    declared: str
    detected: str
    message: str


class FileRead(BaseModel):
    id: str
    work_id: str
    parent_id: str
    name: str
    path: str
    size: int = 0
    sha256: str | None = None
    content_type: str = ""
    declared_type: str = ""
    file_type: str | None = None
    type_mismatch: TypeMismatchRead | None = None
    ingest: IngestRead | None = None
    extract: dict[str, Any] | None = None
    meta: dict[str, Any] = {}
    created_at: str
    updated_at: str
    version: int


class FailedFile(BaseModel):
    id: str
    path: str
    reason: str | None = None


class WorkIngestRead(BaseModel):
    work_id: str
    counts: dict[str, int]
    mismatched: int
    failed: list[FailedFile]


def get_nodes(container: ContainerDep) -> NodeService:
    return NodeService(container)


NodesDep = Annotated[NodeService, Depends(get_nodes)]


async def _file(nodes: NodeService, subject: Subject | None, node_id: str, action: str) -> Located:
    located = await nodes.node(subject, node_id, action)
    if located.node is None or located.node.get("kind") != NodeKind.FILE:
        raise NotFoundError("ファイルが見つかりません。")
    return located


def _read(node: Record) -> FileRead:
    return FileRead.model_validate(node)


@router.get("/files/{node_id}", response_model=FileRead)
async def get_file(nodes: NodesDep, subject: SubjectDep, node_id: str) -> FileRead:
    """A file's metadata: detected type, type mismatch, ingest state, extraction results."""
    located = await _file(nodes, subject, node_id, "files.read")
    assert located.node is not None
    return _read(located.node)


@router.post("/files/{node_id}/reingest", status_code=202, response_model=FileRead)
async def reingest_file(
    container: ContainerDep, nodes: NodesDep, subject: SubjectDep, node_id: str
) -> FileRead:
    """Queue the file for extraction again (after a failure, or with a newer extractor)."""
    located = await _file(nodes, subject, node_id, "files.write")
    node = located.node
    assert node is not None
    audit = AuditLog(container.records, container.clock)
    for _ in range(5):
        # A fresh start: the recovery's count of interrupted runs starts again too.
        ingest = {
            **(node.get("ingest") or {}),
            "state": IngestState.QUEUED.value,
            "reason": None,
            "recovered": 0,
        }
        async with container.uow() as uow:
            try:
                updated = await container.records.update(
                    NODES, str(node["id"]), {"ingest": ingest}, int(node["version"])
                )
            except StaleVersion:
                updated = None
            if updated is not None:
                await audit.record(
                    subject, "files.reingested", f"nodes/{node['id']}", before=node, after=updated
                )
                uow.enqueue("ingest.file", node_id=str(node["id"]), force=True)
        if updated is not None:
            # Eager mode (tests) ran the job already: show the latest state.
            return _read(await container.records.get(NODES, str(node["id"])) or updated)
        node = (await _file(nodes, subject, node_id, "files.write")).node
        assert node is not None
    raise Conflict()


@router.get("/works/{work_id}/ingest", response_model=WorkIngestRead)
async def work_ingest(
    container: ContainerDep,
    nodes: NodesDep,
    subject: SubjectDep,
    work_id: str,
    limit: Annotated[int, Query(ge=1, le=FAILED_LIST)] = FAILED_LIST,
) -> WorkIngestRead:
    """How many files of the work are in each ingest state, and which failed (with reasons)."""
    await nodes.work(subject, work_id, "files.read")
    records = container.records
    counts = {
        state.value: await records.count(
            NODES, (Eq("work_id", work_id), Eq("ingest.state", state.value))
        )
        for state in IngestState
    }
    mismatched = await records.count(NODES, (Eq("work_id", work_id), Exists("type_mismatch")))
    page = await records.find(
        NODES,
        RecordQuery(
            where=(Eq("work_id", work_id), Eq("ingest.state", IngestState.FAILED.value)),
            limit=limit,
        ),
    )
    failed = [
        FailedFile(id=n["id"], path=n["path"], reason=(n.get("ingest") or {}).get("reason"))
        for n in page.items
    ]
    return WorkIngestRead(work_id=work_id, counts=counts, mismatched=mismatched, failed=failed)
