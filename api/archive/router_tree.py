"""HTTP API of the archive trees (issue 3 item 6): folder pages, node details with
breadcrumbs, the folder outline and metadata trees. ``files.read`` on the work; 404 otherwise."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.archive.nodes import NodeService, SortKey
from api.archive.tree import MAX_PAGE, Order, TreeService
from api.deps import ContainerDep, SubjectDep
from api.kit.pagination import CursorPage
from storage.query import Record

router = APIRouter(tags=["archive"])


def get_tree(container: ContainerDep) -> TreeService:
    return TreeService(NodeService(container))


TreeDep = Annotated[TreeService, Depends(get_tree)]
Cursor = Annotated[str, Field(max_length=2000)]
MetaKey = Annotated[str, Query(max_length=64)]


class IngestRead(BaseModel):
    state: str
    reason: str | None = None


class NodeRead(BaseModel):
    id: str
    work_id: str
    parent_id: str
    kind: str
    name: str
    path: str
    depth: int
    size: int = 0
    sha256: str | None = None
    content_type: str = ""
    declared_type: str = ""
    ingest: IngestRead | None = None
    meta: dict[str, Any] = {}
    created_at: str
    updated_at: str
    version: int


class Crumb(BaseModel):
    id: str
    name: str
    path: str


class NodeDetail(NodeRead):
    breadcrumbs: list[Crumb]


class OutlineFolderRead(BaseModel):
    id: str
    parent_id: str
    name: str
    path: str
    depth: int
    files: int
    size: int
    total_files: int
    total_size: int


class OutlineRead(BaseModel):
    work_id: str
    folders: list[OutlineFolderRead]
    files: int
    size: int
    total_files: int
    total_size: int
    truncated: bool


class MetaGroupRead(BaseModel):
    value: str | None
    files: int
    size: int


class MetaTreeRead(BaseModel):
    key: str
    groups: list[MetaGroupRead]
    truncated: bool


def node_read(record: Record) -> NodeRead:
    return NodeRead.model_validate(record)


class PageParams(BaseModel):
    sort: SortKey = "name"
    order: Order = "asc"
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    cursor: Cursor | None = None


Paging = Annotated[PageParams, Query()]


def _page(items: list[Record], cursor: str | None) -> CursorPage[NodeRead]:
    return CursorPage[NodeRead](items=[node_read(r) for r in items], next_cursor=cursor)


@router.get("/works/{work_id}/tree", response_model=CursorPage[NodeRead])
async def work_tree(
    tree: TreeDep, subject: SubjectDep, work_id: str, p: Paging
) -> CursorPage[NodeRead]:
    """The root's children, folders first; ``limit`` at most 1000, keyset ``cursor``."""
    page = await tree.work_children(subject, work_id, p.sort, p.order, p.limit, p.cursor)
    return _page(page.items, page.next_cursor)


@router.get("/nodes/{node_id}/children", response_model=CursorPage[NodeRead])
async def node_children(
    tree: TreeDep, subject: SubjectDep, node_id: str, p: Paging
) -> CursorPage[NodeRead]:
    page = await tree.node_children(subject, node_id, p.sort, p.order, p.limit, p.cursor)
    return _page(page.items, page.next_cursor)


@router.get("/nodes/{node_id}", response_model=NodeDetail)
async def node_detail(tree: TreeDep, subject: SubjectDep, node_id: str) -> NodeDetail:
    node, crumbs = await tree.detail(subject, node_id)
    return NodeDetail.model_validate(
        {
            **node,
            "breadcrumbs": [{"id": c["id"], "name": c["name"], "path": c["path"]} for c in crumbs],
        }
    )


@router.get("/works/{work_id}/outline", response_model=OutlineRead)
async def work_outline(tree: TreeDep, subject: SubjectDep, work_id: str) -> OutlineRead:
    """Every folder with direct and total file counts and sizes (bounded: ``truncated``)."""
    outline = await tree.outline(subject, work_id)
    return OutlineRead.model_validate(outline, from_attributes=True)


@router.get("/works/{work_id}/tree-by", response_model=MetaTreeRead)
async def work_tree_by(
    tree: TreeDep, subject: SubjectDep, work_id: str, key: MetaKey = "doc_class"
) -> MetaTreeRead:
    """Files grouped by ``node.meta.<key>`` (e.g. 書類区分 ``doc_class``) with counts."""
    result = await tree.by_meta(subject, work_id, key)
    return MetaTreeRead.model_validate(result, from_attributes=True)


@router.get("/works/{work_id}/tree-by/files", response_model=CursorPage[NodeRead])
async def work_tree_by_files(
    tree: TreeDep,
    subject: SubjectDep,
    work_id: str,
    key: MetaKey = "doc_class",
    value: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> CursorPage[NodeRead]:
    """The files of one group (``value``; omitted: files without the key), by name."""
    page = await tree.by_meta_files(subject, work_id, key, value, limit, cursor)
    return _page(page.items, page.next_cursor)
