"""Request and response models of the archive search API (``/api/v1/search``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from indexer.documents import MICRO

Keyword = Annotated[str, Field(min_length=1, max_length=100)]
DateText = Annotated[str, Field(max_length=40)]

SortName = Literal["relevance", "date", "title"]
DateField = Literal[
    "updated_at", "created_at", "period_start", "period_end", "doc_date", "photo_date"
]

# Facets counted on every search (issue 3 item 5), in display order.
FACET_FIELDS: tuple[str, ...] = (
    "category",
    "business_type",
    "doc_class",
    "orderer",
    "contractor",
    "work_kind",
    "status",
    "file_type",
    # from the work's 電子納品 package (issue 8 item 9)
    "fiscal_year",
    "work_field",
    "work_industry",
)
# Keyword filters that are not counted as facets.
FILTER_FIELDS: tuple[str, ...] = (*FACET_FIELDS, "municipality_code")
BBox = Annotated[
    str,
    Field(
        max_length=100,
        pattern=r"^\s*-?\d+(\.\d+)?\s*(,\s*-?\d+(\.\d+)?\s*){3}$",
        description="西,南,東,北 (decimal degrees, e.g. 132.45,34.38,132.47,34.40)",
    ),
]


class SearchParams(BaseModel):
    """Query parameters. Keyword filters repeat (``?status=archived&status=completed``); date
    bounds accept Western and 和暦 notations (``api.search.dates``)."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, Field(max_length=200)] | None = None
    type: Literal["work", "file", "post", "reply", "proposal"] | None = None
    category: list[Keyword] = []
    business_type: list[Keyword] = []
    doc_class: list[Keyword] = []
    orderer: list[Keyword] = []
    contractor: list[Keyword] = []
    work_kind: list[Keyword] = []
    status: list[Keyword] = []
    file_type: list[Keyword] = []
    fiscal_year: list[Keyword] = []
    work_field: list[Keyword] = []
    work_industry: list[Keyword] = []
    municipality_code: list[Keyword] = []
    # works (and their files) whose package's 境界座標 overlaps this rectangle
    bbox: BBox | None = None
    # A 電子納品 package's management files (its XML, DTDs, stylesheets) are left out unless
    # asked for (issue 8 §3 item 2).
    management: bool = False
    period_from: DateText | None = None
    period_to: DateText | None = None
    doc_from: DateText | None = None
    doc_to: DateText | None = None
    photo_from: DateText | None = None
    photo_to: DateText | None = None
    sort: SortName | None = None  # default: relevance with a text query, else date
    date_field: DateField = "updated_at"  # what sort=date orders by
    order: Literal["asc", "desc"] | None = None  # default: desc (title: asc)
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str, Field(max_length=2000)] | None = None


class PageHighlightRead(BaseModel):
    page: int  # 1-based page of a file; 0 for posts and replies (no pages)
    snippet: str  # HTML-escaped, matches in <mark>


class SearchHitRead(BaseModel):
    id: str
    type: str
    title: str | None = None
    score: float = 0.0
    work_id: str | None = None
    parent_id: str | None = None
    path: str | None = None
    number: str | None = None
    category: str | None = None
    business_type: str | None = None
    doc_class: str | None = None
    orderer: str | None = None
    contractor: list[str] = []
    work_kind: str | None = None
    status: str | None = None
    file_type: str | None = None
    fiscal_year: str | None = None
    work_field: str | None = None
    work_industry: str | None = None
    municipality_code: list[str] = []
    address: str | None = None  # a work's location (the map names its municipality by it)
    bbox: list[float] | None = None  # 西, 南, 東, 北 of the work's package (decimal degrees)
    period_start: str | None = None
    period_end: str | None = None
    doc_date: str | None = None
    photo_date: str | None = None
    size: int | None = None
    updated_at: str | None = None
    role: str | None = None  # the file's role in its 電子納品 package (photo, management, …)
    work_title: str | None = None  # a file's work, by name (issue 8 §3 item 2)
    work_number: str | None = None
    thumbnail_url: str | None = None
    title_highlight: str | None = None  # HTML-escaped, matches in <mark>
    highlights: list[PageHighlightRead] = []


class FacetBucket(BaseModel):
    value: str
    count: int
    label: str | None = None  # organization names for orderer / contractor


class SearchResponse(BaseModel):
    hits: list[SearchHitRead]
    total: int
    facets: dict[str, list[FacetBucket]]  # on the first page (no cursor) only; later pages: {}
    next_cursor: str | None = None
    sort: SortName
    order: Literal["asc", "desc"]
    notice: str | None = None  # Japanese, e.g. when relevance paging stops at 10,000


def hit_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored document's fields that a hit shows (lists kept for ``contractor``)."""
    out = {name: doc.get(name) for name in SearchHitRead.model_fields if name in doc}
    contractor = doc.get("contractor")
    if isinstance(contractor, str):
        out["contractor"] = [contractor]
    codes = doc.get("municipality_code")
    if isinstance(codes, str):
        out["municipality_code"] = [codes]
    corners = [doc.get(f"bbox_{k}") for k in ("west", "south", "east", "north")]
    if all(isinstance(c, int) for c in corners):
        out["bbox"] = [int(c) / MICRO for c in corners if isinstance(c, int)]
    names = ("orderer", "category", "business_type", "doc_class", "status", "file_type")
    for name in (*names, "fiscal_year", "work_field", "work_industry"):
        value = out.get(name)
        if isinstance(value, list):
            out[name] = str(value[0]) if value else None
    return out
