"""Search backends (tantivy on disk, Elasticsearch) and the rules they share.

Both adapters implement ``storage.ports.SearchIndex`` with the same semantics, so the contract
suite in ``tests/contract/test_search.py`` expects identical results from each:

- ``text`` is ``normalize()``d and split on white space into terms; every term must occur as an
  exact substring of at least one searched field (also normalised). Terms of one character match
  too.
- ``types`` / ``filters``: the keyword field must hold one of the values (any value of a list);
  an empty value tuple matches nothing. ``acl=None`` is no access filter, ``()`` matches nothing
  (unless ``member_works`` names works: then a document matches ``acl``, or its ``work_id``
  when its type is one of ``member_types``: works and files, not posts with a scope of their own).
- ``ranges``: inclusive microsecond bounds (``indexer.dates.range_bounds``).
- ``numbers``: inclusive bounds on integer fields; a document without the field never matches
  (the map filter: a work without 境界座標 is not inside any rectangle).
- sorts: relevance (score desc), title (normalised title) or a date field, each then by ``id`` in
  the same direction; documents without the date come last in both directions.
- facets: per keyword field, up to ``FACET_SIZE`` values by count desc then value, counted over
  every hit (not the page).
- highlights: computed here from the stored document, identically for every backend.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from indexer.dates import range_bounds
from indexer.documents import DATE_FIELDS, INT_FIELDS, KEYWORD_FIELDS, TEXT_FIELDS, normalize
from indexer.query import SearchQuery
from storage.errors import InvalidQuery
from storage.ports import SearchResult

FACET_SIZE = 100
SNIPPET_RADIUS = 40
MAX_SNIPPETS = 3
HIGHLIGHT_PRE = "<em>"
HIGHLIGHT_POST = "</em>"


def query_terms(text: str) -> list[str]:
    """The normalised terms of a text query, duplicates removed, order kept."""
    seen: dict[str, None] = {}
    for term in normalize(text).split():
        seen.setdefault(term, None)
    return list(seen)


def check_query(query: SearchQuery) -> tuple[str, ...]:
    """Refuse field names outside the schema; return the text fields to search."""
    fields = query.fields or TEXT_FIELDS
    bad = [f for f in fields if f not in TEXT_FIELDS]
    bad += [f for f in query.filters if f not in KEYWORD_FIELDS]
    bad += [f for f in query.facets if f not in KEYWORD_FIELDS]
    bad += [f for f in query.ranges if f not in DATE_FIELDS]
    bad += [f for f in query.numbers if f not in INT_FIELDS]
    if query.sort == "date" and query.sort_date_field not in DATE_FIELDS:
        bad.append(query.sort_date_field)
    if query.sort not in ("relevance", "title", "date"):
        bad.append(f"sort={query.sort}")
    if bad:
        raise InvalidQuery(f"unknown search field(s): {', '.join(bad)}")
    for rng in query.ranges.values():
        range_bounds(rng.gte, rng.lte)  # refuses values that are not ISO dates
    for num in query.numbers.values():
        if any(
            v is not None and (not isinstance(v, int) or isinstance(v, bool))
            for v in (num.gte, num.lte)
        ):
            raise InvalidQuery("number bounds must be integers")
    if query.limit < 0:
        raise InvalidQuery("limit must not be negative")
    return fields


def as_search_query(query: Any) -> SearchQuery:
    """``query`` itself if it is an ``indexer.query.SearchQuery``; ``InvalidQuery`` otherwise
    (the port types it ``Any`` so that storage does not depend on the indexer)."""
    if not isinstance(query, SearchQuery):
        raise InvalidQuery("search expects an indexer.query.SearchQuery")
    return query


def matches_nothing(query: SearchQuery) -> bool:
    """Whether a filter makes the result empty without asking the backend."""
    no_access = query.acl == () and not query.member_works
    return no_access or any(len(values) == 0 for values in query.filters.values())


def no_hits(query: SearchQuery) -> SearchResult:
    """The result of a query that ``matches_nothing``: no hits, every asked facet empty."""
    return SearchResult(total=0, hits=[], facets={f: {} for f in query.facets})


def check_doc(doc: dict[str, Any]) -> str:
    """The document's id; refuses documents the index cannot hold."""
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise InvalidQuery("index document without a string id")
    for name in INT_FIELDS:
        value = doc.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidQuery(f"{name} must be an integer")
    return doc_id


def keyword_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def text_value(value: Any) -> str:
    """A text field's value as one normalised string (lists joined by a newline)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return normalize("\n".join(str(v) for v in value if v is not None))
    return normalize(str(value))


def title_sort(doc: dict[str, Any]) -> str:
    """The title as sorted: normalised, control characters turned into spaces."""
    text = text_value(doc.get("title"))
    return "".join(" " if ord(ch) < 0x20 else ch for ch in text)


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict[str, Any]:
    """The payload of a cursor made by ``encode_cursor`` for the same ``kind`` of sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidQuery("malformed cursor") from exc
    if not isinstance(payload, dict) or payload.get("kind") != kind:
        raise InvalidQuery("cursor does not match the sort order")
    return payload


def sort_kind(query: SearchQuery) -> str:
    """A label of the sort a cursor belongs to."""
    field = query.sort_date_field if query.sort == "date" else query.sort
    return f"{field}:{'desc' if query.descending else 'asc'}"


def _aligned(original: str) -> tuple[str, list[int], list[int]]:
    """``normalize(original)`` built char by char, with each output char's source span.

    Half-width voiced marks (ﾞﾟ) are composed with the preceding kana as NFKC would.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(original):
        norm = normalize(ch)
        if norm in ("\u3099", "\u309a") and out:
            composed = unicodedata.normalize("NFC", out[-1] + norm)
            if len(composed) == 1:
                out[-1] = composed
                ends[-1] = i + 1
                continue
        for piece in norm:
            out.append(piece)
            starts.append(i)
            ends.append(i + 1)
    return "".join(out), starts, ends


def _snippets_for(original: str, terms: Sequence[str]) -> list[str]:
    folded, starts, ends = _aligned(original)
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = folded.find(term)
        while start >= 0:
            spans.append((starts[start], ends[start + len(term) - 1]))
            start = folded.find(term, start + len(term))
    if not spans:
        return []
    spans.sort()
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    snippets: list[str] = []
    used_until = -1
    for a, _b in merged:
        if a < used_until or len(snippets) >= MAX_SNIPPETS:
            continue
        lo, hi = max(0, a - SNIPPET_RADIUS), min(len(original), a + SNIPPET_RADIUS * 2)
        parts: list[str] = []
        pos = lo
        for ma, mb in merged:
            if mb <= lo or ma >= hi:
                continue
            ma, mb = max(ma, lo), min(mb, hi)
            parts += [original[pos:ma], HIGHLIGHT_PRE, original[ma:mb], HIGHLIGHT_POST]
            pos = mb
        parts.append(original[pos:hi])
        snippets.append("".join(parts).strip())
        used_until = hi
    return snippets


def highlights(
    doc: dict[str, Any], fields: Sequence[str], terms: Sequence[str]
) -> dict[str, list[str]]:
    """Snippets of each text field around the query terms, marked with ``<em>``."""
    result: dict[str, list[str]] = {}
    if not terms:
        return result
    for name in fields:
        value = doc.get(name)
        if value is None:
            continue
        original = "\n".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        found = _snippets_for(original, terms)
        if found:
            result[name] = found
    return result
