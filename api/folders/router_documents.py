"""HTTP API of a work's document list (seed 001 別表1-1 5(4)(7)(8)) and of the standard folder
sets (§3-4). Documents: ``files.read`` on the work (404 otherwise); templates: the orderer's
staff read, its ``master.manage`` holders and operators change (``api.folders.permissions``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.archive.download import content_disposition
from api.archive.listing import file_chunks
from api.archive.models import NODES, NodeKind
from api.archive.serve import NO_SNIFF
from api.deps import ContainerDep, SubjectDep
from api.errors import NotFoundError, ValidationFailed
from api.folders import templates as T
from api.folders.documents import DocFilters, DocumentList, csv_stream, jst_day, xlsx_file
from api.folders.router import ServiceDep, targets
from api.folders.schemas import (
    DocumentPage,
    DocumentQuery,
    DocumentRead,
    TemplateRead,
    TemplateSave,
)
from api.folders.service import FolderService
from api.kit.ids import is_id
from api.permissions.policy import OrgContext, Subject
from storage.query import Record

router = APIRouter(tags=["folders"])
Params = Annotated[DocumentQuery, Query()]


async def _filters(
    svc: FolderService, work: Record, p: DocumentQuery, limit: int | None = None
) -> DocFilters:
    folder_path = None
    if p.folder_id and p.folder_id != work["id"]:
        node = await svc.records.get(NODES, p.folder_id) if is_id(p.folder_id) else None
        if node is None or node["work_id"] != work["id"] or node["kind"] != NodeKind.FOLDER:
            raise NotFoundError("フォルダが見つかりません。")
        folder_path = str(node["path"])
    return DocFilters(
        q=p.q or None,
        doc_type=p.doc_type or None,
        folder_path=folder_path,
        date_from=p.date_from,
        date_to=p.date_to,
        sort=p.sort,
        order=p.order,
        limit=limit or p.limit,
        cursor=p.cursor,
    )


@router.get("/works/{work_id}/documents", response_model=DocumentPage)
async def list_documents(
    container: ContainerDep, svc: ServiceDep, subject: SubjectDep, work_id: str, p: Params
) -> DocumentPage:
    """The work's documents (a folder's subtree with ``folder_id``), searched by text, 書類種別
    and registration date, sorted by name, date, type or size, each with its approval
    record (5(8)) and any personal-data warning (§3-2)."""
    work = await svc.nodes.work(subject, work_id, "files.read")
    lister = DocumentList(container)
    page = await lister.page(work_id, await _filters(svc, work, p))
    stamps = await lister.approvals(page.items)
    names = await lister.uploader_names(page.items)
    items = []
    for n in page.items:
        meta = n.get("meta") or {}
        warning = meta.get("personal_data")
        items.append(
            DocumentRead(
                id=n["id"],
                work_id=n["work_id"],
                parent_id=n["parent_id"],
                name=n["name"],
                path=n["path"],
                folder=str(n["path"]).rsplit("/", 1)[0] or "/",
                size=int(n.get("size") or 0),
                content_type=str(n.get("content_type") or n.get("declared_type") or ""),
                doc_type=str(meta.get("doc_type") or ""),
                title=str(meta.get("title") or ""),
                registered_on=jst_day(str(n.get("created_at") or "")),
                created_at=str(n.get("created_at") or ""),
                created_by=n.get("created_by"),
                created_by_name=names.get(str(n.get("created_by")), ""),
                version=int(n["version"]),
                proposal_id=meta.get("proposal_id"),
                approvals=stamps.get(str(n["id"]), []),
                personal_data=warning if isinstance(warning, dict) else None,
                ingest_state=(n.get("ingest") or {}).get("state"),
            )
        )
    return DocumentPage(items=items, next_cursor=page.next_cursor)


@router.get("/works/{work_id}/documents.csv")
async def documents_csv(
    container: ContainerDep, svc: ServiceDep, subject: SubjectDep, work_id: str, p: Params
) -> StreamingResponse:
    """The list (same filters, every page) as CSV, UTF-8 with BOM for Excel (5(7))."""
    work = await svc.nodes.work(subject, work_id, "files.read")
    f = await _filters(svc, work, p)
    return StreamingResponse(
        csv_stream(DocumentList(container), work_id, f),
        media_type="text/csv; charset=utf-8",
        headers={**NO_SNIFF, "Content-Disposition": content_disposition(_name(work, "csv"))},
    )


@router.get("/works/{work_id}/documents.xlsx")
async def documents_xlsx(
    container: ContainerDep, svc: ServiceDep, subject: SubjectDep, work_id: str, p: Params
) -> StreamingResponse:
    """The list as an Excel workbook (5(7))."""
    work = await svc.nodes.work(subject, work_id, "files.read")
    path = await xlsx_file(DocumentList(container), work_id, await _filters(svc, work, p))
    return StreamingResponse(
        file_chunks(path),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={**NO_SNIFF, "Content-Disposition": content_disposition(_name(work, "xlsx"))},
    )


def _name(work: Record, ext: str) -> str:
    return f"{work.get('number') or work['id']}_書類一覧.{ext}"


# standard folder sets (§3-4) ---------------------------------------------------------------
Kind = Literal["construction", "service"]


def _org(subject: Subject | None, org_id: str | None) -> str:
    if subject is None:
        from api.errors import NotAuthenticated

        raise NotAuthenticated()
    org = org_id or subject.org_id
    if not org:
        raise ValidationFailed("発注機関を指定してください。")
    return org


async def _orderer(svc: FolderService, org_id: str) -> None:
    org = await svc.records.get("organizations", org_id) if is_id(org_id) else None
    if org is None or org.get("kind") != "orderer":
        raise NotFoundError("発注機関が見つかりません。")


@router.get("/folder-templates/{kind}", response_model=TemplateRead)
async def get_template(
    svc: ServiceDep, subject: SubjectDep, kind: Kind, org_id: str | None = None
) -> TemplateRead:
    """The folder set works of ``kind`` start with for an orderer (own by default)."""
    org = _org(subject, org_id)
    svc.container.policy.require(subject, "folders.templates.read", OrgContext(org))
    await _orderer(svc, org)
    folders, own = await svc.template(org, kind)
    return TemplateRead(
        org_id=org, kind=kind, own=own, folders=folders, delivery_targets=targets(kind)
    )


@router.put("/folder-templates/{kind}", response_model=TemplateRead)
async def save_template(
    svc: ServiceDep, subject: SubjectDep, kind: Kind, body: TemplateSave
) -> TemplateRead:
    """Replace an orderer's folder set (existing works keep their folders)."""
    org = _org(subject, body.org_id)
    svc.container.policy.require(subject, "folders.templates.manage", OrgContext(org))
    await _orderer(svc, org)
    assert subject is not None
    folders = await svc.save_template(subject, org, kind, [f.model_dump() for f in body.folders])
    return TemplateRead(
        org_id=org, kind=kind, own=True, folders=folders, delivery_targets=targets(kind)
    )


@router.delete("/folder-templates/{kind}", response_model=TemplateRead)
async def reset_template(
    svc: ServiceDep, subject: SubjectDep, kind: Kind, org_id: str | None = None
) -> TemplateRead:
    """Go back to the built-in set of §3-4."""
    org = _org(subject, org_id)
    svc.container.policy.require(subject, "folders.templates.manage", OrgContext(org))
    await _orderer(svc, org)
    assert subject is not None
    await svc.reset_template(subject, org, kind)
    return TemplateRead(
        org_id=org, kind=kind, own=False, folders=T.BUILT_IN[kind], delivery_targets=targets(kind)
    )
