"""Archive search (issue 3 item 5): one query over works and their files, search-first.

- Access is filtered inside the index: the organization-wide principals of
  ``principals_for(subject)`` (``None`` for operators) OR the works the subject reads as a
  member now, read from the store per query (``member_works``; issue 7 item 9: stored
  ``user:`` principals lag behind membership changes), so hits, totals and facet counts only
  ever count what the subject may read.
- Text: the adapters ``normalize()`` the query (NFKC, width, case, katakana→hiragana) and match
  every term as an exact substring (any 2+ characters are always found).
- Dates: ``period_from``/``period_to`` select works whose period overlaps the range
  (``period_end >= from`` and ``period_start <= to``); ``doc_*`` and ``photo_*`` bound
  ``doc_date`` and ``photo_date``. Inputs may be 和暦 (``api.search.dates``).
- Sorts: relevance (default with a query), date (default without one; ``date_field``), title.
  Date and title pages resume with search_after keys on both adapters and reach every hit.
  Relevance pages are offsets into one ranking: Elasticsearch refuses ``from + size`` past its
  ``max_result_window`` (10,000), so relevance paging stops at ``relevance_reach()`` (9,999:
  the adapters read one hit ahead) on every backend alike, and the response carries a
  Japanese notice suggesting a date sort.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from api.errors import ValidationFailed
from api.master.business_types import BUSINESS_TYPES
from api.permissions.policy import Policy, Subject
from api.search.dates import DateInputError, date_bound
from api.search.highlight import page_highlights, snippet, title_highlight
from api.search.principals import scoped
from api.search.schemas import (
    FACET_FIELDS,
    FILTER_FIELDS,
    FacetBucket,
    PageHighlightRead,
    SearchHitRead,
    SearchParams,
    SearchResponse,
    hit_fields,
)
from api.works.access import member_works, org_wide
from indexer.backends import decode_cursor, query_terms, sort_kind
from indexer.documents import MICRO
from indexer.query import DateRange, IntRange, SearchQuery
from storage.ports import RecordStore, SearchHit, SearchIndex
from storage.query import Record

MAX_RELEVANCE_WINDOW = 10_000


def relevance_reach() -> int:
    """How many relevance-ranked hits can be paged: adapters read one hit past each page to
    know whether another follows, and Elasticsearch refuses ``from + size`` beyond the window."""
    return MAX_RELEVANCE_WINDOW - 1


EXPORT_CAP = 100_000
EXPORT_PAGE = 1_000
ORGS = "organizations"
IMAGE_TYPES = frozenset({"jpeg", "jpg", "png", "gif", "tif", "tiff", "bmp", "webp", "image"})
# A 電子納品 package's XML, DTDs and stylesheets (``meta.role``, api/deliverables/package.py).
MANAGEMENT_ROLE = "management"


def relevance_notice(total: int) -> str:
    return (
        f"関連度順で表示できるのは先頭{relevance_reach():,}件までです（該当{total:,}件）。"
        "すべての結果を順に見るには、日付順または名称順に並べ替えてください。"
    )


def export_notice(cap: int) -> str:
    return (
        f"該当件数が{cap:,}件を超えたため、先頭{cap:,}件のみ出力しました。"
        "条件を絞り込んでください。"
    )


def is_image(doc: dict[str, Any]) -> bool:
    value = str(doc.get("file_type") or "").lower()
    return value.startswith("image/") or value in IMAGE_TYPES


@dataclass
class ExportRun:
    """State of one export: how many rows went out and the notice once the cap is reached."""

    total: int = 0
    rows: int = 0
    notice: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # organization names by id
    business_types: dict[str, str] = field(default_factory=dict)  # 業種 names by code


class SearchService:
    def __init__(self, index: SearchIndex, records: RecordStore, policy: Policy) -> None:
        self.index = index
        self.records = records
        self.policy = policy

    # query building ------------------------------------------------------------------------
    def query(
        self,
        subject: Subject | None,
        p: SearchParams,
        *,
        facets: bool = True,
        member_works: tuple[str, ...] = (),
    ) -> SearchQuery:
        """The index query for ``p`` as ``subject`` sees it (401 for anonymous callers).
        ``member_works``: the works the subject reads as a member now (``access``)."""
        self.policy.require(subject, "works.list")
        assert subject is not None
        text = (p.q or "").strip()
        sort = p.sort or ("relevance" if text else "date")
        if sort == "relevance" and not text:
            sort = "date"  # nothing to rank by
        descending = (p.order or ("asc" if sort == "title" else "desc")) == "desc"
        filters: dict[str, tuple[str, ...]] = {}
        for name in FILTER_FIELDS:
            values = getattr(p, name)
            if values:
                filters[name] = tuple(values)
        ranges: dict[str, DateRange] = {}
        period_from = _bound(p.period_from, "period_from", upper=False)
        period_to = _bound(p.period_to, "period_to", upper=True)
        if period_from:
            ranges["period_end"] = DateRange(gte=period_from)
        if period_to:
            ranges["period_start"] = DateRange(lte=period_to)
        for field_name, lo, hi in (
            ("doc_date", "doc_from", "doc_to"),
            ("photo_date", "photo_from", "photo_to"),
        ):
            gte = _bound(getattr(p, lo), lo, upper=False)
            lte = _bound(getattr(p, hi), hi, upper=True)
            if gte or lte:
                ranges[field_name] = DateRange(gte=gte, lte=lte)
        for name, rng in ranges.items():
            if rng.gte and rng.lte and rng.gte > rng.lte:
                raise ValidationFailed(f"{name} の範囲の開始日が終了日より後です。", param=name)
        return SearchQuery(
            text=text,
            types=(p.type,) if p.type else (),
            filters=filters,
            exclude={} if p.management else {"role": (MANAGEMENT_ROLE,)},
            ranges=ranges,
            numbers=bbox_filter(p.bbox),
            acl=org_wide(subject),
            member_works=member_works,
            sort=sort,
            sort_date_field=p.date_field,
            descending=descending,
            # Facets describe the whole result, not a page: counted on the first page only
            # (about 40% of a query's cost at 300k documents).
            facets=FACET_FIELDS if facets and not p.cursor else (),
            limit=p.limit,
            cursor=p.cursor,
        )

    # search --------------------------------------------------------------------------------
    async def access(self, subject: Subject | None) -> tuple[str, ...]:
        """The works ``subject`` reads as a member right now, from the record store: the
        index filter never trusts ``user:`` principals stored in documents, which lag behind
        membership changes until their re-index (issue 7 item 9)."""
        self.policy.require(subject, "works.list")
        assert subject is not None
        if subject.is_operator:
            return ()
        return await member_works(self.records, self.policy, subject)

    async def search(self, subject: Subject | None, p: SearchParams) -> SearchResponse:
        query = self.query(subject, p, member_works=await self.access(subject))
        assert subject is not None
        # Modules' principals (the board's scopes) join the acl; see api.search.principals.
        query = await scoped(self.records, subject, query)
        offset = 0
        if query.sort == "relevance" and query.cursor:
            raw = decode_cursor(query.cursor, sort_kind(query)).get("o", 0)
            offset = raw if isinstance(raw, int) else 0
        if query.sort == "relevance":
            # Relevance pages stop at the window (see the module docstring).
            query = replace(query, limit=max(0, min(query.limit, relevance_reach() - offset)))
        result = await self.index.search(query)
        next_cursor = result.next_cursor
        notice = None
        if query.sort == "relevance":
            if offset + len(result.hits) >= relevance_reach():
                next_cursor = None
            if result.total > relevance_reach():
                notice = relevance_notice(result.total)
        labels = await self.org_labels(result.facets, result.hits)
        labels.update(await self.business_type_labels(result.facets, result.hits))
        works = await self.work_names(result.hits)
        facets = {
            name: [
                FacetBucket(value=value, count=count, label=labels.get(value))
                for value, count in result.facets.get(name, {}).items()
            ]
            for name in query.facets
        }
        return SearchResponse(
            hits=[with_work(self.hit(h, query.text), works) for h in result.hits],
            total=result.total,
            facets=facets,
            next_cursor=next_cursor,
            sort=query.sort,
            order="desc" if query.descending else "asc",
            notice=notice,
        )

    @staticmethod
    def hit(hit: SearchHit, text: str) -> SearchHitRead:
        doc = hit.doc
        read = SearchHitRead(**hit_fields(doc), score=hit.score)
        if doc.get("type") == "file" and is_image(doc):
            read.thumbnail_url = f"/api/v1/files/{hit.id}/thumbnail"
        if text:
            if read.title:
                read.title_highlight = title_highlight(read.title, text)
            body = doc.get("body")
            if doc.get("type") == "file" and isinstance(body, str):
                read.highlights = [
                    PageHighlightRead(page=h.page, snippet=h.snippet)
                    for h in page_highlights(body, text)
                ]
            elif doc.get("type") in ("post", "reply") and isinstance(body, str):
                # Posts and replies: their text and attachments' text, no pages (page 0).
                found = snippet(body, query_terms(text))
                if found is not None:
                    read.highlights = [PageHighlightRead(page=0, snippet=found)]
        return read

    async def business_type_labels(
        self, facets: dict[str, dict[str, int]], hits: list[SearchHit]
    ) -> dict[str, str]:
        """業種 names for the codes shown (issue 8 §3 item 1: labels, not codes)."""
        codes = set(facets.get("business_type", {}))
        for h in hits:
            codes.update(_values(h.doc.get("business_type")))
        if not codes:
            return {}
        seed = dict(BUSINESS_TYPES)
        found = {
            str(r["id"]): str(r.get("name") or "")
            for r in await self.records.get_many("business_types", sorted(codes))
        }
        return {c: found.get(c) or seed.get(c, c) for c in codes}

    async def work_names(self, hits: list[SearchHit]) -> dict[str, Record]:
        """The works of the file hits shown, by id (one batch read): a hit names its work."""
        ids = sorted({str(h.doc["work_id"]) for h in hits if h.doc.get("work_id")})
        if not ids:
            return {}
        return {str(w["id"]): w for w in await self.records.get_many("works", ids)}

    async def org_labels(
        self, facets: dict[str, dict[str, int]], hits: list[SearchHit]
    ) -> dict[str, str]:
        """Organization names for the orderer/contractor ids shown (one batch read)."""
        ids: set[str] = set()
        for name in ("orderer", "contractor"):
            ids.update(facets.get(name, {}))
        for h in hits:
            ids.update(_values(h.doc.get("orderer")) + _values(h.doc.get("contractor")))
        if not ids:
            return {}
        orgs = await self.records.get_many(ORGS, sorted(ids))
        return {str(o["id"]): str(o.get("name") or o["id"]) for o in orgs}

    # export --------------------------------------------------------------------------------
    async def rows(
        self, subject: Subject | None, p: SearchParams, run: ExportRun, cap: int | None = None
    ) -> AsyncIterator[SearchHitRead]:
        """Every hit in the requested order, up to ``cap`` rows (relevance: up to the window),
        page by page; ``run`` gets the total and, when rows were left out, the notice."""
        mine = await self.access(subject)
        query = replace(
            self.query(subject, p, facets=False, member_works=mine), cursor=None, limit=EXPORT_PAGE
        )
        assert subject is not None
        query = await scoped(self.records, subject, query)
        cap = EXPORT_CAP if cap is None else cap
        limit = min(cap, relevance_reach()) if query.sort == "relevance" else cap
        cursor: str | None = None
        first = True
        while True:
            page_query = replace(query, cursor=cursor, limit=min(EXPORT_PAGE, limit - run.rows))
            result = await self.index.search(page_query)
            if first:
                run.total = result.total
                first = False
            run.labels.update(await self.org_labels({}, result.hits))
            run.business_types.update(await self.business_type_labels({}, result.hits))
            works = await self.work_names(result.hits)
            for h in result.hits:
                yield with_work(self.hit(h, ""), works)
                run.rows += 1
            cursor = result.next_cursor
            if cursor is None or not result.hits:
                break
            if run.rows >= limit:
                break
        if run.total > run.rows:
            run.notice = (
                relevance_notice(run.total)
                if query.sort == "relevance" and run.rows >= relevance_reach()
                else export_notice(limit)
            )


def with_work(read: SearchHitRead, works: dict[str, Record]) -> SearchHitRead:
    """A file hit with its work's title and number (a work hit is its own)."""
    work = works.get(str(read.work_id)) if read.type == "file" else None
    if work is not None:
        read.work_title = str(work.get("title") or "") or None
        read.work_number = str(work.get("number") or "") or None
    return read


def bbox_filter(text: str | None) -> dict[str, IntRange]:
    """The map filter (issue 8 item 9): ``"西,南,東,北"`` in decimal degrees selects the
    works (and their files) whose package rectangle (INDEX 境界座標, §1.4 and rule 16)
    overlaps it: package west <= east, package east >= west, and the same for latitude.
    Works without 境界座標 are not on the map and never match."""
    if text is None:
        return {}
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as exc:  # the schema's pattern makes this rare
        raise ValidationFailed(
            "bbox は「西,南,東,北」の4つの数値で指定してください。", param="bbox"
        ) from exc
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValidationFailed(
            "bbox の範囲が正しくありません（西≦東、南≦北、経度±180・緯度±90以内）。",
            param="bbox",
        )
    return {
        "bbox_west": IntRange(lte=round(east * MICRO)),
        "bbox_east": IntRange(gte=round(west * MICRO)),
        "bbox_south": IntRange(lte=round(north * MICRO)),
        "bbox_north": IntRange(gte=round(south * MICRO)),
    }


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _bound(value: str | None, param: str, *, upper: bool) -> str | None:
    try:
        return date_bound(value, upper=upper)
    except DateInputError as exc:
        raise ValidationFailed(f"{param}: {exc}", param=param) from exc
