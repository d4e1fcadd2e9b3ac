"""The search index on Elasticsearch / OpenSearch, through the official async client.

Text is ``normalize()``d before indexing and in queries (katakana→hiragana cannot be done in ES
without the ICU plugin). Each text field is analysed twice: kuromoji for relevance and a 1-2
character n-gram sub-field (``<field>.ng``) whose ``match_phrase`` finds exact substrings: the
n-gram tokenizer gives every gram its own position, so a phrase of a term's grams matches only
where the term occurs. Dates are ``long`` microseconds (``indexer.dates``), the same values the
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

SETTINGS: dict[str, Any] = {
    "analysis": {
        "tokenizer": {
            "kura_ngram": {"type": "ngram", "min_gram": 1, "max_gram": 2, "token_chars": []},
        },
        "analyzer": {
            "kura_ja": {
                "type": "custom",
                "tokenizer": "kuromoji_tokenizer",
                "filter": ["kuromoji_baseform", "cjk_width", "lowercase"],
            },
            "kura_ngram": {"type": "custom", "tokenizer": "kura_ngram", "filter": ["lowercase"]},
        },
    },
}


def _mappings() -> dict[str, Any]:
    props: dict[str, Any] = {"id": {"type": "keyword"}, SORT_TITLE: {"type": "keyword"}}
    for name in TEXT_FIELDS:
        props[name] = {
            "type": "text",
            "analyzer": "kura_ja",
            "fields": {"ng": {"type": "text", "analyzer": "kura_ngram"}},
        }
    for name in KEYWORD_FIELDS:
        props[name] = {"type": "keyword"}
    for name in (*DATE_FIELDS, *INT_FIELDS):
        props[name] = {"type": "long"}
    props["doc"] = {"type": "object", "enabled": False}
    return {"dynamic": False, "properties": props}


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
    """``term`` as an exact substring of the n-gram ``field``.

    ``match_phrase`` alone is exact on Elasticsearch; the term filters on each bigram are
    redundant there but keep it exact on osmem-server, whose phrase query skips grams missing
    from the field's dictionary (found by the contract suite: "道路改良" matched "…の改修").
    """
    grams = sorted({term[i : i + 2] for i in range(len(term) - 1)}) or [term]
    return {
        "bool": {
            "must": [{"match_phrase": {field: {"query": term}}}],
            "filter": [{"term": {field: gram}} for gram in grams],
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

    async def _create(self) -> None:
        es = self._es()
        exists = await self._call(es.indices.exists(index=self.index))
        if not exists:
            await self._call(
                es.indices.create(index=self.index, settings=SETTINGS, mappings=_mappings())
            )
        else:
            # fields added to the schema since the index was made (a mapping only grows;
            # documents indexed before get the new fields on ``kura reindex``)
            mappings = _mappings()
            await self._call(
                es.indices.put_mapping(index=self.index, properties=mappings["properties"])
            )

    async def open(self) -> None:
        """Create the index with its analysers and mappings if missing. Idempotent."""
        await self._create()

    async def close(self) -> None:
        """Close the HTTP connections. Idempotent."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def health(self) -> Health:
        """OK when the cluster answers within the timeout; never raises."""
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
            exact = [_exact(f"{f}.ng", term) for f in fields]
            must.append({"bool": {"should": exact, "minimum_should_match": 1}})
            should += [{"match": {f: {"query": term}}} for f in fields]
        filters: list[dict[str, Any]] = []
        for field, values in query.keyword_filters().items():
            filters.append({"terms": {field: list(values)}})
        for field, rng in query.ranges.items():
            low, high = range_bounds(rng.gte, rng.lte)
            bounds = {k: v for k, v in (("gte", low), ("lte", high)) if v is not None}
            if bounds:
                filters.append({"range": {field: bounds}})
        for field, num in query.numbers.items():
            limits = {k: v for k, v in (("gte", num.gte), ("lte", num.lte)) if v is not None}
            filters.append({"range": {field: limits}} if limits else {"exists": {"field": field}})
        if not must and not filters:
            return {"match_all": {}}
        return {"bool": {"must": must, "should": should, "filter": filters}}

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
