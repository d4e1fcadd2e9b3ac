"""The embedded search index: tantivy on disk (the default backend).

Text fields are indexed over ``normalize()``d text twice:

- ``<field>``: overlapping character bigrams, made in Python and joined by spaces
  (``"道路改良"`` -> ``"道路 路改 改良"``) so tantivy's whitespace tokenizer gives them
  sequential positions. A query term of n >= 2 characters is a phrase of its n - 1 bigrams
  (one term for n == 2): consecutive bigram positions spell exactly the term, so every exact
  substring is found and nothing else. White space never occurs inside a query term, so the
  text is cut at white space and the pieces joined by a one-character filler token (it can
  never equal a two-character bigram), which keeps bigrams of different pieces from ever
  standing side by side.
- ``<field>__1``: each character a term (frequencies, no positions), for one-character terms.
- ``_all`` and ``_all__1``: the same over every text field at once (joined at a filler, so no
  term spans two fields). A search of all fields (the usual one) is then a single phrase; a
  union of per-field phrases is evaluated by tantivy in blocks of 4,096 documents around each
  candidate, 3-4x slower at p95. The copy costs index size and indexing time (see the bench).

tantivy's own n-gram tokenizer gives every gram position 0, which makes phrase queries inexact;
one term per character with positions was exact but slow at 1M documents (the postings of common
characters are huge), hence bigrams (measured in ``bench/bench_search.py``).

Sorting and cursors: tantivy sorts by a single fast field and cannot range-filter a text field
through its Python API except via the query parser. Each sortable value is therefore stored as a
hex key (``hex(value) || hex(id)``) in a raw fast field: hex keeps byte order, the id makes keys
unique, and a parser range ``{key TO *}`` resumes after the last hit (search_after semantics,
past 10,000 hits at constant cost). Relevance paging uses an offset into the same ranking.

Filters (keywords, acl, types, date ranges) are non-scoring clauses (``const_score_query``)
of one conjunction with the text: tantivy intersects them led by the rarest clause, so phrase
positions are only read for documents that pass the filters. Each search walks the matches as
few times as it can: facets and the total come from one aggregation, the page from one search.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import tantivy

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

CHAR_ANALYZER = "kura_char"
BIGRAM_ANALYZER = "kura_bigram"
FILLER = "_"
# every text field at once (a search of all fields is then one phrase, not a union of three)
ALL_TEXT = "_all"
DOC_FIELD = "_doc"
ID_KEY = "_id_k"
HEAP_BYTES = 100_000_000
SCAN_BATCH = 1000
_DATE_OFFSET = 1 << 62
TOTAL_AGG = "_total"

log = logging.getLogger("kura.index")


def _date_key(field: str) -> str:
    return f"{field}__k"


def _unigram(field: str) -> str:
    return f"{field}__1"


def bigrams(text: str) -> str:
    """``text`` (already normalised) as space-separated overlapping character bigrams, white
    space runs replaced by one ``FILLER`` token (see the module docstring)."""
    pieces = []
    for piece in text.split():
        if len(piece) > 1:
            pieces.append(" ".join([piece[i : i + 2] for i in range(len(piece) - 1)]))
    return f" {FILLER} ".join(pieces)


def _build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field(ID_KEY, fast=True, tokenizer_name="raw")
    for name in (*TEXT_FIELDS, ALL_TEXT):
        sb.add_text_field(name, tokenizer_name=BIGRAM_ANALYZER, index_option="position")
        sb.add_text_field(_unigram(name), tokenizer_name=CHAR_ANALYZER, index_option="freq")
    for name in KEYWORD_FIELDS:
        sb.add_text_field(name, fast=True, tokenizer_name="raw")
    for name in DATE_FIELDS:
        sb.add_integer_field(name, indexed=True, fast=True)
        sb.add_text_field(_date_key(name), fast=True, tokenizer_name="raw")
    for name in INT_FIELDS:
        if name != "id":
            sb.add_integer_field(name, stored=name == "stamp", indexed=True, fast=True)
    sb.add_text_field(SORT_TITLE, fast=True, tokenizer_name="raw")
    sb.add_bytes_field(DOC_FIELD, stored=True)
    return sb.build()


def _to_document(doc: dict[str, Any]) -> tantivy.Document:
    doc_id = check_doc(doc)
    id_hex = doc_id.encode().hex()
    out = tantivy.Document()
    out.add_text("id", doc_id)
    out.add_text(ID_KEY, id_hex)
    texts: list[str] = []
    all_pairs: list[str] = []
    for name in TEXT_FIELDS:
        text = text_value(doc.get(name))
        if text:
            texts.append(text)
            out.add_text(_unigram(name), text)
            pairs = bigrams(text)
            if pairs:
                all_pairs.append(pairs)
                out.add_text(name, pairs)
    if texts:
        # fields joined at a white space / FILLER, so no term can span two of them
        out.add_text(_unigram(ALL_TEXT), "\n".join(texts))
        if all_pairs:
            out.add_text(ALL_TEXT, f" {FILLER} ".join(all_pairs))
    for name in KEYWORD_FIELDS:
        for keyword in keyword_values(doc.get(name)):
            out.add_text(name, keyword)
    for name in DATE_FIELDS:
        when = doc.get(name)
        if when:
            micros = to_micros(str(when))
            out.add_integer(name, micros)
            out.add_text(_date_key(name), f"{micros + _DATE_OFFSET:016x}{id_hex}")
    for name in INT_FIELDS:
        value = doc.get(name)
        if value is None and name == "stamp":
            value = 0  # every document has a stamp: the facet aggregation counts them
        if value is not None:
            out.add_integer(name, int(value))
    out.add_text(SORT_TITLE, f"{title_sort(doc).encode().hex()}00{id_hex}")
    out.add_bytes(DOC_FIELD, json.dumps(doc, ensure_ascii=False).encode())
    return out


def _text_query(schema: tantivy.Schema, field: str, term: str) -> tantivy.Query:
    """Documents whose ``field`` holds ``term`` (normalised, no white space) as a substring."""
    if len(term) == 1:
        return tantivy.Query.term_query(schema, _unigram(field), term)
    if len(term) == 2:
        return tantivy.Query.term_query(schema, field, term)
    return tantivy.Query.phrase_query(
        schema, field, [term[i : i + 2] for i in range(len(term) - 1)]
    )


def _count(found: tantivy.SearchResult) -> int:
    return int(getattr(found, "count", 0) or 0)


class TantivyIndex:
    """``storage.ports.SearchIndex`` over a tantivy index folder shared by several processes.

    On the embedded default the API, the Celery worker and CLI commands (``kura reindex``,
    ``kura check``) each open the same folder, and tantivy allows one ``IndexWriter`` per folder
    (a lock file). So ``open()`` takes no writer: a write (``upsert``/``delete``/``clear``) takes
    it lazily, waiting with backoff up to ``lock_timeout_s`` while another process holds it, and
    ``refresh()`` commits and releases it. Writes of one process between two refreshes share one
    writer (a reindex keeps it across its batches; the others wait). Searches reload the reader
    whenever ``meta.json`` (the committed state) differs from what was last loaded, so commits
    by another process show at the next search.

    Every call runs in a worker thread (``asyncio.to_thread``); a lock serialises writes.
    """

    name = "tantivy"

    def __init__(
        self, path: Path, *, lock_timeout_s: float = 10.0, heap_bytes: int = HEAP_BYTES
    ) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self._heap_bytes = heap_bytes
        self._schema = _build_schema()
        self._index: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        # meta.json as last loaded by this process's reader (tantivy rewrites it atomically
        # on every commit; reading ~10 kB costs a few microseconds, a reload ~0.2 ms)
        self._meta: bytes | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def _open(self) -> None:
        with self._lock:
            if self._index is not None:
                return
            self.path.mkdir(parents=True, exist_ok=True)
            for attempt in range(3):
                try:
                    index = tantivy.Index(self._schema, path=str(self.path))
                    break
                except ValueError as exc:
                    if "schema does not match" in str(exc):
                        # derived data: an older layout (e.g. before the bigram fields) is
                        # rebuilt from the records, never migrated
                        raise BackendUnavailable(
                            "tantivy",
                            f"{self.path} holds an index of an older schema: "
                            "delete the folder and run `kura reindex`",
                        ) from exc
                    # another process may be creating the folder's first meta.json right now
                    if attempt == 2:
                        raise
                    time.sleep(0.05)
            chars = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex("(?s).")).build()
            index.register_tokenizer(CHAR_ANALYZER, chars)
            pairs = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
            index.register_tokenizer(BIGRAM_ANALYZER, pairs)
            self._meta = self._read_meta()
            index.reload()
            self._index = index

    async def open(self) -> None:
        """Create or open the index folder and a reader (no writer is taken). Idempotent."""
        try:
            await asyncio.to_thread(self._open)
        except (OSError, ValueError) as exc:
            raise BackendUnavailable("tantivy", str(exc)) from exc

    def _close(self) -> None:
        with self._lock:
            try:
                if self._writer is not None:
                    self._writer.commit()
            finally:
                self._release_writer()
                self._index = None
                self._meta = None

    async def close(self) -> None:
        """Commit pending writes and release the writer (its lock file). Idempotent."""
        try:
            await asyncio.to_thread(self._close)
        except ValueError as exc:
            raise BackendUnavailable("tantivy", str(exc)) from exc

    async def health(self) -> Health:
        """OK when the index is open and a searcher answers; never raises."""
        try:
            count = await asyncio.to_thread(lambda: self._searcher().num_docs)
        except Exception as exc:
            return Health(ok=False, backend=self.name, detail=str(exc))
        return Health(ok=True, backend=self.name, detail=f"{count} documents")

    def _require(self) -> tantivy.Index:
        if self._index is None:
            raise BackendUnavailable("tantivy", "index not open")
        return self._index

    # -- reader ------------------------------------------------------------------------------

    def _read_meta(self) -> bytes | None:
        try:
            return (self.path / "meta.json").read_bytes()
        except FileNotFoundError:
            return None

    def _reload(self, index: tantivy.Index, force: bool = False) -> None:
        """Reload the reader when the committed state changed (in any process) since the last
        load. The meta bytes are read before reloading, so a commit racing the reload only
        causes one more reload next time, never a missed one."""
        meta = self._read_meta()
        if not force and meta == self._meta:
            return
        with self._reload_lock:
            if not force and meta == self._meta:
                return
            try:
                index.reload()
            except ValueError as exc:
                raise BackendUnavailable("tantivy", f"reload failed: {exc}") from exc
            self._meta = meta

    def _searcher(self) -> tantivy.Searcher:
        index = self._require()
        self._reload(index)
        return index.searcher()

    # -- writer ------------------------------------------------------------------------------

    def _acquire_writer(self) -> tantivy.IndexWriter:
        """The process's writer, taken now if not held. Caller holds ``self._lock``.

        tantivy answers LockBusy at once while another process (or instance) holds the
        folder's writer lock; retry with backoff until ``lock_timeout_s``, then give up with
        ``BackendUnavailable`` (the unit of work logs it and ``kura reindex`` repairs drift).
        """
        if self._writer is not None:
            return self._writer
        index = self._require()
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                self._writer = index.writer(self._heap_bytes)
                return self._writer
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise BackendUnavailable("tantivy", str(exc)) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BackendUnavailable(
                        "tantivy", "index is locked by another process"
                    ) from exc
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.1)

    def _release_writer(self) -> None:
        """Drop the writer after its merges finish, which frees the folder's lock file.
        Uncommitted writes are discarded. Caller holds ``self._lock``."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.wait_merging_threads()
        except (RuntimeError, ValueError):
            # a failed background merge loses nothing committed; the lock goes with the object
            log.warning("tantivy merge failed while releasing the writer", exc_info=True)
        del writer

    def _commit_and_release(self) -> None:
        """Commit the held writer (if any) and release it, also when the commit fails."""
        if self._writer is None:
            return
        try:
            self._writer.commit()
        except ValueError as exc:
            raise BackendUnavailable("tantivy", f"commit failed: {exc}") from exc
        finally:
            self._release_writer()

    # -- writes ------------------------------------------------------------------------------

    def _upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        prepared = [(check_doc(d), _to_document(d)) for d in docs]
        with self._lock:
            writer = self._acquire_writer()
            for doc_id, document in prepared:
                writer.delete_documents_by_term("id", doc_id)
                writer.add_document(document)

    async def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        """Add or replace documents by ``id`` (delete by term, then add; visible on refresh).

        Takes the index's writer until the next ``refresh()``; raises ``BackendUnavailable``
        when another process keeps it longer than ``lock_timeout_s``."""
        if docs:
            await asyncio.to_thread(self._upsert, docs)

    def _delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            writer = self._acquire_writer()
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)

    async def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; absent ids are ignored. Takes the writer like ``upsert``."""
        if ids:
            await asyncio.to_thread(self._delete, ids)

    def _refresh(self) -> None:
        with self._lock:
            index = self._require()
            self._commit_and_release()
        self._reload(index, force=True)

    async def refresh(self) -> None:
        """Commit this process's pending writes, release the writer so another process can
        write, and reload the searcher (which then also sees other processes' commits)."""
        await asyncio.to_thread(self._refresh)

    def _clear(self) -> None:
        with self._lock:
            index = self._require()
            writer = self._acquire_writer()
            writer.delete_all_documents()
            self._commit_and_release()
        self._reload(index, force=True)

    async def clear(self) -> None:
        """Remove every document, commit and release the writer."""
        await asyncio.to_thread(self._clear)

    # -- queries -----------------------------------------------------------------------------

    def _base_query(self, query: SearchQuery, fields: Sequence[str]) -> tantivy.Query:
        schema = self._schema
        must: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if set(fields) == set(TEXT_FIELDS):
            # one phrase over the combined field: a union of per-field phrases is evaluated in
            # blocks of 4,096 documents around each candidate, several times slower
            fields = (ALL_TEXT,)
        for term in query_terms(query.text):
            if len(fields) == 1:
                must.append((tantivy.Occur.Must, _text_query(schema, fields[0], term)))
                continue
            alternatives: list[tuple[tantivy.Occur, tantivy.Query]] = []
            for field in fields:
                alternatives.append((tantivy.Occur.Should, _text_query(schema, field, term)))
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(alternatives)))
        for field, values in query.keyword_filters().items():
            if len(values) == 1:
                # a posting list the intersection can skip through (a term set is first
                # collected into a bit set of the whole segment)
                sub = tantivy.Query.term_query(schema, field, values[0])
            else:
                sub = tantivy.Query.term_set_query(schema, field, list(values))
            must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(sub, 0.0)))
        either = query.access_either()
        if either is not None:
            principals, works = either
            options = []
            if principals:
                options.append(
                    (
                        tantivy.Occur.Should,
                        tantivy.Query.term_set_query(schema, "acl", list(principals)),
                    )
                )
            if works:
                member = tantivy.Query.boolean_query(
                    [
                        (
                            tantivy.Occur.Must,
                            tantivy.Query.term_set_query(schema, "work_id", list(works)),
                        ),
                        (
                            tantivy.Occur.Must,
                            tantivy.Query.term_set_query(schema, "type", list(query.member_types)),
                        ),
                    ]
                )
                options.append((tantivy.Occur.Should, member))
            sub = tantivy.Query.boolean_query(options)
            must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(sub, 0.0)))
        for field, rng in query.ranges.items():
            low, high = range_bounds(rng.gte, rng.lte)
            if low is None and high is None:
                continue
            sub = tantivy.Query.range_query(
                schema, field, tantivy.FieldType.Integer, lower_bound=low, upper_bound=high
            )
            must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(sub, 0.0)))
        for field, num in query.numbers.items():
            sub = tantivy.Query.range_query(
                schema,
                field,
                tantivy.FieldType.Integer,
                lower_bound=num.gte if num.gte is not None else -(1 << 62),
                upper_bound=num.lte if num.lte is not None else 1 << 62,
            )
            must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(sub, 0.0)))
        for field, values in query.exclude.items():
            if values:
                sub = tantivy.Query.term_set_query(schema, field, list(values))
                must.append((tantivy.Occur.MustNot, sub))
        if not must:
            return tantivy.Query.all_query()
        if all(occur == tantivy.Occur.MustNot for occur, _ in must):
            must.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(must)

    def _after(self, field: str, key: str, descending: bool) -> tantivy.Query:
        index = self._require()
        if not all(c in "0123456789abcdef" for c in key):
            raise InvalidQuery("malformed cursor")
        text = f"{field}:{{* TO {key}}}" if descending else f"{field}:{{{key} TO *}}"
        return index.parse_query(text)

    def _keyed_page(
        self,
        searcher: tantivy.Searcher,
        base: tantivy.Query,
        field: str,
        after: str | None,
        limit: int,
        descending: bool,
        extra: tantivy.Query | None = None,
    ) -> list[tuple[str, tantivy.DocAddress]]:
        parts = [(tantivy.Occur.Must, base)]
        if extra is not None:
            parts.append((tantivy.Occur.Must, extra))
        if after is not None:
            parts.append((tantivy.Occur.Must, self._after(field, after, descending)))
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        found = searcher.search(
            tantivy.Query.boolean_query(parts),
            limit,
            count=False,
            order_by_field=field,
            order=order,
        )
        return [(str(key), addr) for key, addr in found.hits]

    def _search(self, query: SearchQuery) -> SearchResult:
        fields = check_query(query)
        kind = sort_kind(query)
        payload = decode_cursor(query.cursor, kind) if query.cursor else {}
        if matches_nothing(query):
            return no_hits(query)
        searcher = self._searcher()
        base = self._base_query(query, fields)
        # each pass walks every match: the total comes with the facets or the ranked page
        # when one of them is asked for, else from a count of its own
        total: int | None = None
        facets: dict[str, dict[str, int]] = {}
        if query.facets:
            total, facets = self._facets(searcher, base, query.facets)
        want = query.limit + 1
        # (score, address) in page order, and the cursor payload after each hit
        rows: list[tuple[float, tantivy.DocAddress, dict[str, Any]]] = []
        if query.sort == "relevance":
            offset = int(payload.get("o", 0))
            found = searcher.search(base, want, count=total is None, offset=offset)
            total = _count(found) if total is None else total
            for i, (score, addr) in enumerate(found.hits):
                rows.append((float(score), addr, {"kind": kind, "o": offset + i + 1}))
        else:
            if total is None:
                total = _count(searcher.search(base, 1, count=True))
            field = SORT_TITLE if query.sort == "title" else _date_key(query.sort_date_field)
            if "m" not in payload:
                has_key = tantivy.Query.exists_query(field)
                keyed = self._keyed_page(
                    searcher, base, field, payload.get("k"), want, query.descending, has_key
                )
                rows += [(0.0, addr, {"kind": kind, "k": key}) for key, addr in keyed]
            if len(rows) < want and query.sort == "date":
                missing = tantivy.Query.boolean_query(
                    [
                        (tantivy.Occur.Must, tantivy.Query.all_query()),
                        (tantivy.Occur.MustNot, tantivy.Query.exists_query(field)),
                    ]
                )
                rest = self._keyed_page(
                    searcher,
                    base,
                    ID_KEY,
                    payload.get("m"),
                    want - len(rows),
                    query.descending,
                    missing,
                )
                rows += [(0.0, addr, {"kind": kind, "m": key}) for key, addr in rest]
        next_cursor = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            next_cursor = encode_cursor(rows[-1][2]) if rows else None
        terms = query_terms(query.text) if query.highlight else []
        hits: list[SearchHit] = []
        for score, addr, _ in rows:
            stored = searcher.doc(addr)[DOC_FIELD][0]
            doc = json.loads(bytes(stored))
            marks = highlights(doc, fields, terms) if terms else {}
            hits.append(SearchHit(id=doc["id"], score=score, doc=doc, highlights=marks))
        return SearchResult(total=total, hits=hits, facets=facets, next_cursor=next_cursor)

    def _facets(
        self, searcher: tantivy.Searcher, base: tantivy.Query, names: Sequence[str]
    ) -> tuple[int, dict[str, dict[str, int]]]:
        """The number of matches and the facet counts, from one aggregation pass."""
        spec: dict[str, Any] = {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in names}
        spec[TOTAL_AGG] = {"value_count": {"field": "stamp"}}
        result = searcher.aggregate(base, spec)
        total = int(result.get(TOTAL_AGG, {}).get("value") or 0)
        facets: dict[str, dict[str, int]] = {}
        for name in names:
            buckets = result.get(name, {}).get("buckets", [])
            pairs = sorted(
                ((str(b["key"]), int(b["doc_count"])) for b in buckets),
                key=lambda kv: (-kv[1], kv[0]),
            )
            facets[name] = dict(pairs)
        return total, facets

    async def search(self, query: Any) -> SearchResult:
        """Run an ``indexer.query.SearchQuery`` (see ``indexer.backends`` for the semantics)."""
        checked = as_search_query(query)
        try:
            return await asyncio.to_thread(self._search, checked)
        except ValueError as exc:
            raise InvalidQuery(str(exc)) from exc

    def _stamp_batch(self, doc_type: str | None, after: str | None) -> list[tuple[str, str, int]]:
        searcher = self._searcher()
        base = tantivy.Query.all_query()
        if doc_type is not None:
            base = tantivy.Query.term_query(self._schema, "type", doc_type)
        page = self._keyed_page(searcher, base, ID_KEY, after, SCAN_BATCH, False)
        if not page:
            return []
        stamps = searcher.fast_field_values("stamp", [addr for _, addr in page])
        return [
            (key, bytes.fromhex(key).decode(), int(stamp or 0))
            for (key, _), stamp in zip(page, stamps, strict=True)
        ]

    async def scan_stamps(self, doc_type: str | None = None) -> AsyncIterator[tuple[str, int]]:
        """Every (id, stamp) in id order, read from fast fields in batches of 1,000."""
        after: str | None = None
        while True:
            batch = await asyncio.to_thread(self._stamp_batch, doc_type, after)
            for _, doc_id, stamp in batch:
                yield doc_id, stamp
            if len(batch) < SCAN_BATCH:
                return
            after = batch[-1][0]
