"""The search index on Elasticsearch / OpenSearch, through the official async client.

Text is ``normalize()``d before indexing and in queries (katakana→hiragana cannot be done in ES
without the ICU plugin). Each text field is analysed three times: kuromoji for relevance, and
two sub-fields for exact substrings, mirroring the embedded adapter:

- ``<field>.ch``: one token per character (a ``pattern`` tokenizer ``(?s).`` with ``group: 0``,
  white space and line breaks included), each at its own position. A query term is a
  ``match_phrase`` of its characters, which matches exactly where the term occurs: a phrase
  cannot step over the white space between words, the newline that joins list values
  (``indexer.backends.text_value``) or from one field into another.
- ``<field>.bg``: the character bigrams (``ngram`` 2-2, documents only, no positions). A term of
  two or more characters also requires each of its bigrams as a ``term`` filter: selective,
  so the phrase's positions are read for few documents only.

Why not one n-gram field with ``match_phrase`` (the first design): Lucene's ``ngram`` tokenizer
gives each gram its own position, but osmem-server (the OpenSearch-API test server) emulates it
with a single token and bleve's n-gram filter, which puts every gram of a value at one position
(osmem ``internal/engine/analysis.go``, ``translateTokenizer``); its phrase query then accepts
any gram, so "abc" matched "ab bc", "点検査" the values 点検 / 検査, "ああああ" "あああ". A
character per token has the same positions on every server. An index of an older layout (no
``_meta.kura_schema`` or a lower one) is refused until ``kura reindex`` rebuilds it.

Dates are ``long`` microseconds (``indexer.dates``), the same values the
tantivy adapter compares. No painless scripts, no scroll: title/date paging is ``search_after``
with an ``id`` keyword tie-breaker (OpenSearch-API servers do not sort on ``_id``), unbounded.
Relevance paging uses ``from`` (osmem-server returns nothing for ``search_after`` on
``_score``), so it stops at the index's ``max_result_window`` (10,000 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError

from indexer.backends import (
    FACET_SIZE,
    as_search_query,
    check_doc,
    check_query,
    decode_cursor,
    encode_cursor,
    highlights,
    keyword_values,
    matches_nothing,
    no_hits,
    query_terms,
    sort_kind,
    text_value,
    title_sort,
)
from indexer.dates import range_bounds, to_micros
from indexer.documents import DATE_FIELDS, INT_FIELDS, KEYWORD_FIELDS, SORT_TITLE, TEXT_FIELDS
from indexer.query import SearchQuery
from storage.errors import BackendUnavailable, InvalidQuery
from storage.ports import Health, SearchHit, SearchResult

SCAN_BATCH = 1000
BULK_CHUNK = 500
# The layout of the mappings below; an index of another layout is refused until reindexed.
SCHEMA_VERSION = 4  # 3: facets 発注年度・工事分野・工事業種 and map fields (issue 8 §1 item 9);
# 4: the "role" keyword field (management files hidden, issue 8 §3 item 2)
CHARS = "ch"
BIGRAMS = "bg"

SETTINGS: dict[str, Any] = {
    "analysis": {
        "tokenizer": {
            "kura_char": {"type": "pattern", "pattern": "(?s).", "group": 0},
            "kura_bigram": {"type": "ngram", "min_gram": 2, "max_gram": 2, "token_chars": []},
        },
        "analyzer": {
            "kura_ja": {
                "type": "custom",
                "tokenizer": "kuromoji_tokenizer",
                "filter": ["kuromoji_baseform", "cjk_width", "lowercase"],
            },
            "kura_char": {"type": "custom", "tokenizer": "kura_char", "filter": ["lowercase"]},
            "kura_bigram": {"type": "custom", "tokenizer": "kura_bigram", "filter": ["lowercase"]},
        },
    },
}


def _mappings() -> dict[str, Any]:
    props: dict[str, Any] = {"id": {"type": "keyword"}, SORT_TITLE: {"type": "keyword"}}
    for name in TEXT_FIELDS:
        props[name] = {
            "type": "text",
            "analyzer": "kura_ja",
            "fields": {
                CHARS: {"type": "text", "analyzer": "kura_char"},
                BIGRAMS: {"type": "text", "analyzer": "kura_bigram", "index_options": "docs"},
            },
        }
    for name in KEYWORD_FIELDS:
        props[name] = {"type": "keyword"}
    for name in (*DATE_FIELDS, *INT_FIELDS):
        props[name] = {"type": "long"}
    props["doc"] = {"type": "object", "enabled": False}
    return {"_meta": {"kura_schema": SCHEMA_VERSION}, "dynamic": False, "properties": props}


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    """The indexed form: normalised text, micros dates, and the original under ``doc``."""
    body: dict[str, Any] = {"id": check_doc(doc), SORT_TITLE: title_sort(doc), "doc": doc}
    for name in TEXT_FIELDS:
        text = text_value(doc.get(name))
        if text:
            body[name] = text
    for name in KEYWORD_FIELDS:
        values = keyword_values(doc.get(name))
        if values:
            body[name] = values
    for name in DATE_FIELDS:
        when = doc.get(name)
        if when:
            body[name] = to_micros(str(when))
    for name in INT_FIELDS:
        number = doc.get(name, 0 if name == "stamp" else None)
        if number is not None:
            body[name] = int(number)
    return body


def _exact(field: str, term: str) -> dict[str, Any]:
    """``term`` as an exact substring of text ``field``: a phrase of its characters on the
    character sub-field, narrowed first by a filter on each of its bigrams."""
    phrase = {"match_phrase": {f"{field}.{CHARS}": {"query": term}}}
    grams = sorted({term[i : i + 2] for i in range(len(term) - 1)})
    if not grams:
        return phrase
    return {
        "bool": {
            "must": [phrase],
            "filter": [{"term": {f"{field}.{BIGRAMS}": gram}} for gram in grams],
        }
    }


def _load_node_class(path: str | None) -> Any:
    if not path:
        return "httpxasync"
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


class ElasticsearchIndex:
    """``storage.ports.SearchIndex`` on one Elasticsearch/OpenSearch index."""

    name = "elasticsearch"

    def __init__(
        self,
        hosts: Sequence[str],
        index: str,
        username: str | None = None,
        password: str | None = None,
        node_class: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.hosts = list(hosts)
        self.index = index
        self.timeout_s = timeout_s
        self._auth = (username, password or "") if username else None
        self._node_class = node_class
        self._client: AsyncElasticsearch | None = None
        # Set when open() finds an index of an older layout: searches refuse until clear().
        self._stale: str | None = None

    def _es(self) -> AsyncElasticsearch:
        if self._client is None:
            self._client = AsyncElasticsearch(
                self.hosts,
                basic_auth=self._auth,
                node_class=_load_node_class(self._node_class),
                request_timeout=self.timeout_s,
                max_retries=0,
                retry_on_timeout=False,
            )
        return self._client

    async def _call(self, coro: Any) -> Any:
        """Await a client call, translating transport failures into storage errors."""
        try:
            return await coro
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise BackendUnavailable("elasticsearch", str(exc)) from exc
        except BadRequestError as exc:
            raise InvalidQuery(str(exc)) from exc
        except ApiError as exc:
            if exc.meta.status >= 500:
                raise BackendUnavailable("elasticsearch", str(exc)) from exc
            raise
        except TransportError as exc:
            raise BackendUnavailable("elasticsearch", str(exc)) from exc

    # -- lifecycle ---------------------------------------------------------------------------

    async def _create(self) -> bool:
        """Create the index if missing; True when it existed."""
        es = self._es()
        exists = await self._call(es.indices.exists(index=self.index))
        if not exists:
            await self._call(
                es.indices.create(index=self.index, settings=SETTINGS, mappings=_mappings())
            )
        self._stale = None
        return bool(exists)

    async def open(self) -> None:
        """Create the index with its analysers and mappings if missing. Idempotent. An
        existing index of an older layout is derived data: it is never migrated, searches
        answer ``BackendUnavailable`` until ``kura reindex`` rebuilds it (``clear``)."""
        if not await self._create():
            return
        resp = await self._call(self._es().indices.get_mapping(index=self.index))
        # keyed by the concrete index name (which differs when ``index`` is an alias)
        layout: dict[str, Any] = next(iter(dict(resp).values()), {})
        found = layout.get("mappings", {}).get("_meta", {}).get("kura_schema")
        if found != SCHEMA_VERSION:
            self._stale = (
                f"index {self.index} has the layout of schema {found or 1}, "
                f"not {SCHEMA_VERSION}: run `kura reindex`"
            )

    async def close(self) -> None:
        """Close the HTTP connections. Idempotent."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def health(self) -> Health:
        """OK when the cluster answers within the timeout and the index is current; never
        raises."""
        if self._stale is not None:
            return Health(ok=False, backend=self.name, detail=self._stale)
        try:
            info = await asyncio.wait_for(self._call(self._es().info()), self.timeout_s)
        except Exception as exc:
            return Health(ok=False, backend=self.name, detail=str(exc) or type(exc).__name__)
        version = info.get("version", {}).get("number", "?")
        return Health(ok=True, backend=self.name, detail=f"version {version}")

    async def drop(self) -> None:
        """Delete the whole index (tests and benchmarks only)."""
        with contextlib.suppress(NotFoundError):
            await self._call(self._es().indices.delete(index=self.index))

    # -- writes ------------------------------------------------------------------------------

    async def _bulk(self, operations: list[dict[str, Any]]) -> None:
        if not operations:
            return
        resp = await self._call(self._es().bulk(operations=operations))
        if resp.get("errors"):
            failed = [
                item
                for entry in resp["items"]
                for item in entry.values()
                if item.get("status", 200) >= 300 and item.get("status") != 404
            ]
            if failed:
                raise InvalidQuery(f"bulk indexing failed: {failed[0].get('error')}")

    async def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        """Add or replace documents by ``id`` (bulk index, chunks of 500)."""
        bodies = [_body(d) for d in docs]
        for start in range(0, len(bodies), BULK_CHUNK):
            ops: list[dict[str, Any]] = []
            for body in bodies[start : start + BULK_CHUNK]:
                ops += [{"index": {"_index": self.index, "_id": body["id"]}}, body]
            await self._bulk(ops)

    async def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; absent ids are ignored."""
        for start in range(0, len(ids), BULK_CHUNK):
            chunk = ids[start : start + BULK_CHUNK]
            await self._bulk([{"delete": {"_index": self.index, "_id": i}} for i in chunk])

    async def refresh(self) -> None:
        """Make every write so far searchable (index refresh)."""
        await self._call(self._es().indices.refresh(index=self.index))

    async def clear(self) -> None:
        """Remove every document: drop and recreate the index (no delete-by-query needed)."""
        await self.drop()
        await self._create()

    # -- queries -----------------------------------------------------------------------------

    def _query(self, query: SearchQuery, fields: Sequence[str]) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        should: list[dict[str, Any]] = []
        for term in query_terms(query.text):
            exact = [_exact(f, term) for f in fields]
            must.append({"bool": {"should": exact, "minimum_should_match": 1}})
            should += [{"match": {f: {"query": term}}} for f in fields]
        filters: list[dict[str, Any]] = []
        for field, values in query.keyword_filters().items():
            filters.append({"terms": {field: list(values)}})
        either = query.access_either()
        if either is not None:
            principals, works = either
            options: list[dict[str, Any]] = []
            if principals:
                options.append({"terms": {"acl": list(principals)}})
            if works:
                member = [
                    {"terms": {"work_id": list(works)}},
                    {"terms": {"type": list(query.member_types)}},
                ]
                options.append({"bool": {"filter": member}})
            filters.append({"bool": {"should": options, "minimum_should_match": 1}})
        for field, rng in query.ranges.items():
            low, high = range_bounds(rng.gte, rng.lte)
            bounds = {k: v for k, v in (("gte", low), ("lte", high)) if v is not None}
            if bounds:
                filters.append({"range": {field: bounds}})
        for field, num in query.numbers.items():
            limits = {k: v for k, v in (("gte", num.gte), ("lte", num.lte)) if v is not None}
            filters.append({"range": {field: limits}} if limits else {"exists": {"field": field}})
        must_not = [
            {"terms": {field: list(values)}} for field, values in query.exclude.items() if values
        ]
        if not must and not filters and not must_not:
            return {"match_all": {}}
        body: dict[str, Any] = {"must": must, "should": should, "filter": filters}
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}

    def _sort(self, query: SearchQuery) -> list[dict[str, Any]]:
        order = "desc" if query.descending else "asc"
        if query.sort == "relevance":
            return [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
        if query.sort == "title":
            return [{SORT_TITLE: {"order": order}}, {"id": {"order": order}}]
        return [
            {query.sort_date_field: {"order": order, "missing": "_last"}},
            {"id": {"order": order}},
        ]

    async def search(self, query: Any) -> SearchResult:
        """Run an ``indexer.query.SearchQuery`` (see ``indexer.backends`` for the semantics)."""
        return await self._search(as_search_query(query))

    async def _search(self, query: SearchQuery) -> SearchResult:
        if self._stale is not None:
            raise BackendUnavailable("elasticsearch", self._stale)
        fields = check_query(query)
        kind = sort_kind(query)
        payload = decode_cursor(query.cursor, kind) if query.cursor else {}
        search_after = payload.get("sa")
        offset = payload.get("o", 0)
        relevance = query.sort == "relevance"
        if query.cursor and not (
            isinstance(offset, int) if relevance else isinstance(search_after, list)
        ):
            raise InvalidQuery("malformed cursor")
        if matches_nothing(query):
            return no_hits(query)
        body: dict[str, Any] = {
            "query": self._query(query, fields),
            "sort": self._sort(query),
            "size": query.limit + 1,
            "track_total_hits": True,
            "_source": ["doc"],
        }
        if relevance and offset:
            body["from"] = offset
        elif search_after:
            body["search_after"] = search_after
        if query.facets:
            body["aggs"] = {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in query.facets}
        resp = await self._call(self._es().search(index=self.index, **body))
        raw_hits = resp["hits"]["hits"]
        next_cursor = None
        if len(raw_hits) > query.limit:
            raw_hits = raw_hits[: query.limit]
            if raw_hits:
                after = {"o": offset + len(raw_hits)} if relevance else {"sa": raw_hits[-1]["sort"]}
                next_cursor = encode_cursor({"kind": kind, **after})
        terms = query_terms(query.text) if query.highlight else []
        hits: list[SearchHit] = []
        for raw in raw_hits:
            doc = raw["_source"]["doc"]
            score = float(raw["_score"]) if raw.get("_score") is not None else 0.0
            marks = highlights(doc, fields, terms) if terms else {}
            hits.append(SearchHit(id=str(doc["id"]), score=score, doc=doc, highlights=marks))
        facets: dict[str, dict[str, int]] = {}
        for name in query.facets:
            buckets = resp.get("aggregations", {}).get(name, {}).get("buckets", [])
            pairs = sorted(
                ((str(b["key"]), int(b["doc_count"])) for b in buckets),
                key=lambda kv: (-kv[1], kv[0]),
            )
            facets[name] = dict(pairs)
        total = resp["hits"]["total"]
        count = int(total["value"] if isinstance(total, dict) else total)
        return SearchResult(total=count, hits=hits, facets=facets, next_cursor=next_cursor)

    async def scan_stamps(self, doc_type: str | None = None) -> AsyncIterator[tuple[str, int]]:
        """Every (id, stamp) in id order, by ``search_after`` pages of 1,000."""
        query: dict[str, Any] = {"match_all": {}}
        if doc_type is not None:
            query = {"bool": {"filter": [{"term": {"type": doc_type}}]}}
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": query,
                "sort": [{"id": {"order": "asc"}}],
                "size": SCAN_BATCH,
                "_source": ["id", "stamp"],
            }
            if after is not None:
                body["search_after"] = after
            resp = await self._call(self._es().search(index=self.index, **body))
            hits = resp["hits"]["hits"]
            for raw in hits:
                source = raw["_source"]
                yield str(source["id"]), int(source.get("stamp") or 0)
            if len(hits) < SCAN_BATCH:
                return
            after = hits[-1]["sort"]
