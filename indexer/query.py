"""A pure, backend-neutral search request. Backends translate it (ES DSL / tantivy query)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SortKey = Literal["relevance", "title", "date"]


@dataclass(frozen=True)
class DateRange:
    gte: str | None = None  # ISO date or fixed-width timestamp, inclusive
    lte: str | None = None  # inclusive; a bare date means through the end of that day


@dataclass(frozen=True)
class IntRange:
    """Inclusive bounds on an integer field (``indexer.documents.INT_FIELDS``)."""

    gte: int | None = None
    lte: int | None = None


@dataclass(frozen=True)
class SearchQuery:
    """``text`` is matched over ``fields`` (all text fields by default): every term must
    occur; exact substrings of two or more characters always match. ``acl=None`` means no
    access filter (operators, internal jobs); an empty tuple matches nothing."""

    text: str = ""
    fields: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Keyword values a document must not carry (e.g. ``{"role": ("management",)}``: the
    # package's XML, DTDs and stylesheets stay out of a search unless asked for).
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: dict[str, DateRange] = field(default_factory=dict)
    numbers: dict[str, IntRange] = field(default_factory=dict)
    acl: tuple[str, ...] | None = ()
    # Works whose every document is readable besides what ``acl`` grants: the subject's
    # memberships read from the record store at query time, so adding or removing a member
    # takes effect at once, before the documents' own ``acl`` is rebuilt (issue 7 item 9).
    # Only with ``acl`` not None; a document matches ``acl`` OR ``work_id in member_works``.
    member_works: tuple[str, ...] = ()
    # The document types membership opens: works and their files. Types with a finer access of
    # their own (posts with a visibility scope, proposals) match only by ``acl``.
    member_types: tuple[str, ...] = ("work", "file")
    sort: SortKey = "relevance"
    sort_date_field: str = "updated_at"
    descending: bool = True
    facets: tuple[str, ...] = ()
    limit: int = 20
    cursor: str | None = None
    highlight: bool = False

    def keyword_filters(self) -> dict[str, tuple[str, ...]]:
        """Every keyword-field condition (each field: any of its values): ``filters`` plus the
        document types and, unless ``acl`` is None or ``access_either`` applies, the access
        principals."""
        conditions = dict(self.filters)
        if self.types:
            conditions["type"] = self.types
        if self.acl is not None and not self.member_works:
            conditions["acl"] = self.acl
        return conditions

    def access_either(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """``(acl principals, member works)`` when access is "either" (see ``member_works``):
        the backend adds one clause matching ``acl`` in the first OR (``work_id`` in the second
        AND ``type`` in ``member_types``). None when ``keyword_filters`` already holds the whole
        access filter."""
        if self.acl is None or not self.member_works:
            return None
        return self.acl, self.member_works
