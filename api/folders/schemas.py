"""Request and response models of the folders API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.text import Text

RefId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
DocType = Annotated[str, Text(50, required=False)]
Delivery = Literal["", "PLAN", "MEET", "PHOTO", "OTHRS", "DRAWINGF", "REPORT", "DRAWING"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FolderCreate(_Strict):
    parent_id: RefId | None = None  # None or the work id: the root
    name: Annotated[str, Text(255)]
    doc_type: DocType | None = None
    delivery: Delivery | None = None


class NodeUpdate(_Strict):
    """Rename (``name``), move (``move`` true with ``parent_id``; null is the root), re-type
    a folder (``doc_type``; empty: inherit) or map it (``delivery``)."""

    version: int = Field(ge=1)
    name: Annotated[str, Text(255)] | None = None
    move: bool = False
    parent_id: RefId | None = None
    doc_type: DocType | None = None
    delivery: Delivery | None = None


class MoveRequest(_Strict):
    node_ids: Annotated[list[RefId], Field(min_length=1, max_length=1000)]
    target_id: RefId | None = None


class FolderRead(BaseModel):
    id: str
    parent_id: str
    name: str
    path: str
    depth: int
    doc_type: str
    doc_type_set: bool
    delivery: str
    version: int
    files: int
    total_files: int


class FilingRead(BaseModel):
    state: str
    at: str | None = None
    counts: dict[str, int] = {}
    detail: str | None = None


class FoldersRead(BaseModel):
    work_id: str
    kind: str
    seeded_at: str | None
    folders: list[FolderRead]
    root_files: int
    total_files: int
    can_write: bool
    delivery_targets: list[dict[str, str]]
    doc_types: list[str]
    filing: FilingRead | None = None


class StampRead(BaseModel):
    role: str
    user_id: str
    name: str
    date: str
    note: str


class DocumentRead(BaseModel):
    id: str
    work_id: str
    parent_id: str
    name: str
    path: str
    folder: str
    size: int = 0
    content_type: str = ""
    doc_type: str = ""
    title: str = ""
    registered_on: str
    created_at: str
    created_by: str | None = None
    created_by_name: str = ""
    version: int
    proposal_id: str | None = None
    approvals: list[StampRead] = []
    personal_data: dict[str, Any] | None = None
    ingest_state: str | None = None


class DocumentPage(BaseModel):
    items: list[DocumentRead]
    next_cursor: str | None = None


class DocumentQuery(_Strict):
    q: Annotated[str, Text(100, required=False)] | None = None
    doc_type: DocType | None = None
    folder_id: RefId | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: Literal["name", "date", "type", "size"] = "name"
    order: Literal["asc", "desc"] = "asc"
    limit: int = Field(default=100, ge=1, le=500)
    cursor: Annotated[str, Field(max_length=2000)] | None = None


class TemplateFolder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(255)]
    doc_type: DocType = ""
    delivery: Delivery = ""
    children: list[TemplateFolder] = []


class TemplateSave(_Strict):
    org_id: RefId | None = None
    folders: Annotated[list[TemplateFolder], Field(max_length=200)]


class TemplateRead(BaseModel):
    org_id: str | None
    kind: str
    own: bool
    folders: list[dict[str, Any]]
    delivery_targets: list[dict[str, str]]
