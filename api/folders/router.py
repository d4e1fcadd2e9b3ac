"""HTTP API of a work's document folders (seed 001 別表1-1 5(1)-(3), §3-4): the folder tree with
types, targets and counts; create, rename, move, re-type and delete folders; move documents;
file the decided proposals. ``files.read`` to read, ``files.write`` / ``files.delete`` to change
(404 when the work is unreadable, 409 when it is completed or archived: read-only).

The first read of a running work's empty tree by someone who may write there makes the work's
folder set from its orderer's template (§3-4 "a work starts with a folder set per kind"):
once, recorded and audited, so a set someone deleted is not made again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.archive.models import NODES
from api.deps import ContainerDep, SubjectDep
from api.errors import NotFoundError
from api.folders import filing
from api.folders import templates as T
from api.folders.schemas import (
    FilingRead,
    FolderCreate,
    FolderRead,
    FoldersRead,
    MoveRequest,
    NodeUpdate,
)
from api.folders.service import FOLDER_STATE, FolderService
from api.kit.clock import to_iso
from api.permissions.policy import Subject
from storage.query import Eq, Record
from storage.query import Query as RecordQuery

router = APIRouter(tags=["folders"])
RUNNING = ("registered", "in_progress")


def get_service(container: ContainerDep) -> FolderService:
    return FolderService(container)


ServiceDep = Annotated[FolderService, Depends(get_service)]


def targets(kind: str) -> list[dict[str, str]]:
    return [{"value": v, "label": T.DELIVERY_LABELS[v]} for v in T.DELIVERY_TARGETS[kind]]


async def _may_write(svc: FolderService, subject: Subject | None, work: Record) -> bool:
    ctx = await svc.nodes.works.context(subject, work)
    return work.get("status") in RUNNING and svc.container.policy.can(subject, "files.write", ctx)


@router.get("/works/{work_id}/folders", response_model=FoldersRead)
async def list_folders(svc: ServiceDep, subject: SubjectDep, work_id: str) -> FoldersRead:
    """Every folder in path order with its 書類種別, package target and file counts."""
    work = await svc.nodes.work(subject, work_id, "files.read")
    can_write = await _may_write(svc, subject, work)
    state = await svc.seeded(work_id)
    if state is None and can_write and subject is not None:
        empty = not (
            await svc.records.find(NODES, RecordQuery(where=(Eq("work_id", work_id),), limit=1))
        ).items
        if empty:
            await svc.seed(subject, work)
            state = await svc.seeded(work_id)
    folders, root_files, total = await svc.folders(work_id)
    kind = str(work.get("kind") or "construction")
    template, _ = await svc.template(work.get("orderer_org_id"), kind)
    doc_types = sorted({str(i["doc_type"]) for _, i in T.flatten(template) if i["doc_type"]})
    doc_types += sorted({f.doc_type for f in folders if f.doc_type} - set(doc_types))
    filing_state = (state or {}).get("filing")
    return FoldersRead(
        work_id=work_id,
        kind=kind,
        seeded_at=(state or {}).get("seeded_at"),
        folders=[FolderRead.model_validate(f, from_attributes=True) for f in folders],
        root_files=root_files,
        total_files=total,
        can_write=can_write,
        delivery_targets=targets(kind),
        doc_types=doc_types,
        filing=FilingRead.model_validate(filing_state) if filing_state else None,
    )


@router.post("/works/{work_id}/folders/seed", status_code=201)
async def seed_folders(svc: ServiceDep, subject: SubjectDep, work_id: str) -> dict[str, int]:
    """Make the work's folder set now (folders that exist are kept); once per work."""
    work = await svc.nodes.work(subject, work_id, "files.write")
    assert subject is not None
    return {"folders": await svc.seed(subject, work)}


@router.post("/works/{work_id}/folders", status_code=201, response_model=FolderRead)
async def create_folder(
    svc: ServiceDep, subject: SubjectDep, work_id: str, body: FolderCreate
) -> FolderRead:
    node = await svc.create(
        subject, work_id, body.parent_id, body.name, body.doc_type, body.delivery
    )
    return _folder_read(node)


def _folder_read(node: Record) -> FolderRead:
    meta = node.get("meta") or {}
    return FolderRead(
        id=node["id"],
        parent_id=node["parent_id"],
        name=node["name"],
        path=node["path"],
        depth=int(node.get("depth") or 1),
        doc_type=str(meta.get("doc_type") or ""),
        doc_type_set=bool(meta.get("doc_type_set")),
        delivery=str(meta.get("delivery") or ""),
        version=int(node["version"]),
        files=0,
        total_files=0,
    )


@router.patch("/folders/{node_id}", response_model=FolderRead)
async def update_folder(
    svc: ServiceDep, subject: SubjectDep, node_id: str, body: NodeUpdate
) -> FolderRead:
    """Rename, move (``move`` with ``parent_id``), re-type or map a folder."""
    node = await _update(svc, subject, node_id, body)
    return _folder_read(node)


@router.patch("/documents/{node_id}")
async def update_document(
    svc: ServiceDep, subject: SubjectDep, node_id: str, body: NodeUpdate
) -> dict[str, object]:
    """Rename or move one document."""
    node = await _update(svc, subject, node_id, body)
    return {"id": node["id"], "path": node["path"], "version": node["version"]}


async def _update(
    svc: FolderService, subject: Subject | None, node_id: str, body: NodeUpdate
) -> Record:
    fields = body.model_fields_set
    return await svc.update(
        subject,
        node_id,
        body.version,
        name=body.name if "name" in fields else None,
        parent_id=body.parent_id,
        move=body.move,
        doc_type=body.doc_type if "doc_type" in fields else None,
        delivery=body.delivery if "delivery" in fields else None,
    )


@router.delete("/folders/{node_id}")
async def delete_folder(
    svc: ServiceDep,
    subject: SubjectDep,
    node_id: str,
    version: Annotated[int, Query(ge=1)],
    recursive: bool = False,
) -> dict[str, int]:
    """Delete a folder; with its contents only when ``recursive`` (confirmed by the user)."""
    return await svc.delete(subject, node_id, version, recursive)


@router.delete("/documents/{node_id}", status_code=204)
async def delete_document(
    svc: ServiceDep, subject: SubjectDep, node_id: str, version: Annotated[int, Query(ge=1)]
) -> None:
    """Delete one document (``files.delete``; a legal hold refuses). Its content goes when its
    last reference goes."""
    located = await svc.nodes.node(subject, node_id, "files.delete")
    if located.node is None or located.node["kind"] != "file":
        raise NotFoundError("ファイルが見つかりません。")
    await svc.nodes.delete(subject, node_id, version)


@router.post("/works/{work_id}/documents/move")
async def move_documents(
    svc: ServiceDep, subject: SubjectDep, work_id: str, body: MoveRequest
) -> dict[str, object]:
    """Move documents and folders into a folder (``target_id`` null: the root); all or none."""
    moved = await svc.move_many(subject, work_id, body.node_ids, body.target_id)
    return {"moved": [{"id": n["id"], "path": n["path"]} for n in moved]}


@router.post("/works/{work_id}/folders/file-proposals", status_code=202)
async def file_proposals(
    container: ContainerDep, svc: ServiceDep, subject: SubjectDep, work_id: str
) -> FilingRead:
    """Print every decided proposal not filed yet into the 打合せ簿 folder (a job)."""
    work = await svc.nodes.work(subject, work_id, "files.write")
    assert subject is not None
    now = to_iso(container.clock.now())
    queued = {"state": "queued", "at": now, "counts": {}}
    async with container.uow() as uow:
        state = await container.records.get(FOLDER_STATE, work_id)
        if state is None:
            await container.records.insert(
                FOLDER_STATE, {"id": work_id, "work_id": work_id, "filing": queued}
            )
        else:
            await container.records.update(
                FOLDER_STATE, work_id, {"filing": queued}, state["version"]
            )
        uow.enqueue(filing.TASK, work_id=str(work["id"]), actor=subject.user_id)
    state = await container.records.get(FOLDER_STATE, work_id)
    return FilingRead.model_validate((state or {}).get("filing") or queued)
