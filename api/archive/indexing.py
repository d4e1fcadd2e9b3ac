"""Archive files in the search index: one document per file node (folders are not indexed).

The document carries the work's filterable fields (status, acl, category, ...) so searches
filter inside the index (issue 3 item 5: "only what the user may read, filtered inside the
index"). When those change on the work, ``index.work_files`` rebuilds the work's file
documents; their ``stamp`` stays the node's version, which is what ``kura check`` compares.

The body is the extracted text of the content's pages joined with form feeds (``\\f``), from
``derived/<sha256>/text.json``: the search API counts form feeds to give page numbers.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from api.archive.models import BLOBS, NODES, IngestState, NodeKind, content_scope, derived_key
from api.consistency import register_blob_refs, register_indexable
from api.keys import scopes
from api.works.indexing import deliverable_fields
from indexer.documents import SORT_TITLE, normalize
from storage.errors import NotFound, StaleVersion
from storage.ports import BlobStore, IndexSpec, RecordStore
from storage.query import Eq, In, Query, Record

if TYPE_CHECKING:
    from api.container import Container

DOC_TYPE = "file"
# Files whose index document must be (re)built: written with the ingest result, removed once
# indexed. Lets a burst of ingests share one index commit (see ``maybe_flush``).
PENDING = "index_pending"
PENDING_INDEXES = [IndexSpec((("work_id", 1), ("id", 1)))]
FLUSH_SECONDS = 2.0
FLUSH_BATCH = 500
_LAST_FLUSH = "_kura_files_last_index_flush"
MAX_BODY = 1_000_000
MAX_NAMES = 20_000
PAGE_BREAK = "\f"

# Top folders of an MLIT / 農水 電子納品 package, each a document class (deliverables §1).
DOC_CLASSES = frozenset(
    {
        "PHOTO",
        "DRAWINGF",
        "DRAWING",
        "MEET",
        "PLAN",
        "REPORT",
        "OTHRS",
        "REGISTER",
        "ICON",
        "BORING",
        "SURVEY",
    }
)


def doc_class_of(node: Record) -> str | None:
    """``meta.doc_class``, else the 電子納品 top folder the file lies under (any depth); None
    for a file of a package that no management XML names (rule 4: kept, but not indexed as
    a deliverable, issue 8 item 3)."""
    meta = node.get("meta") or {}
    if meta.get("role") == "unreferenced":
        return None
    if meta.get("doc_class"):
        return str(meta["doc_class"])
    for part in str(node.get("path") or "").split("/")[:-1]:
        if part.upper() in DOC_CLASSES:
            return part.upper()
    return None


def _meta_texts(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            _meta_texts(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _meta_texts(item, out)


def _date(value: Any) -> str | None:
    """An ISO date or timestamp the index accepts, else None: a package may carry impossible
    dates (2025-02-30); the validation report names them, the index skips them."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        if len(value) == 10:
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value


def file_to_doc(
    node: Record, work: Record | None, text_pages: Sequence[str] | None
) -> dict[str, Any]:
    """The index document of a file node (``indexer.documents`` schema).

    ``work`` supplies status, acl and the other work fields (None: a bare document, e.g. the
    work is gone); ``text_pages`` the extracted text per page (None or empty: no body).
    """
    meta = node.get("meta") or {}
    extract = node.get("extract") or {}
    work = work or {}
    title = str(meta.get("title") or node["name"])
    texts: list[str] = []
    _meta_texts({k: v for k, v in meta.items() if k != "title"}, texts)
    names = " ".join([str(node.get("path") or ""), str(node["name"]), *texts])[:MAX_NAMES]
    body = PAGE_BREAK.join(text_pages or ())[:MAX_BODY]
    doc: dict[str, Any] = {
        "id": node["id"],
        "type": DOC_TYPE,
        "title": title,
        SORT_TITLE: normalize(title),
        "names": names,
        "body": body or None,
        "work_id": node["work_id"],
        "parent_id": node.get("parent_id"),
        "path": node.get("path"),
        "category": work.get("category"),
        "business_type": work.get("business_type"),
        "orderer": work.get("orderer_org_id"),
        "contractor": list(work.get("contractor_org_ids") or []),
        "work_kind": work.get("kind"),
        "status": work.get("status"),
        "period_start": _date(work.get("period_start")),
        "period_end": _date(work.get("period_end")),
        "doc_class": doc_class_of(node),
        "role": meta.get("role") or None,
        "file_type": node.get("file_type") or None,
        "doc_date": _date(meta.get("doc_date")),
        "photo_date": _date(meta.get("photo_date")) or _date(extract.get("photo_date")),
        "size": int(node.get("size") or 0),
        "page": extract.get("page_count"),
        "acl": list(work.get("acl") or []),
        "created_at": node.get("created_at"),
        "updated_at": node.get("updated_at"),
        "stamp": int(node["version"]),
        **deliverable_fields(work),
    }
    return {k: v for k, v in doc.items() if v is not None and v != []}


def _bare_doc(node: Record) -> dict[str, Any]:
    """The document from the node alone (the registry's synchronous builder)."""
    return file_to_doc(node, None, None)


async def load_pages(blobs: BlobStore, scope: str, sha256: str) -> list[str] | None:
    """The extracted pages of a content of ``scope``, or None when it was not extracted
    (yet)."""
    chunks: list[bytes] = []
    try:
        async for chunk in blobs.get(derived_key(scope, sha256, "text.json")):
            chunks.append(chunk)
    except NotFound:
        return None
    try:
        data = json.loads(b"".join(chunks))
    except ValueError:
        return None
    pages = data.get("pages") if isinstance(data, dict) else None
    return [str(p) for p in pages] if isinstance(pages, list) else None


async def file_docs(container: Container, nodes: Sequence[Record]) -> list[dict[str, Any]]:
    """Index documents of many file nodes: their works fetched once, their text loaded from
    the derived artefacts (each content once)."""
    work_ids = sorted({str(n["work_id"]) for n in nodes})
    works = {str(w["id"]): w for w in await container.records.get_many("works", work_ids)}
    pages: dict[tuple[str, str], list[str] | None] = {}
    docs = []
    for node in nodes:
        sha = node.get("sha256")
        held = (content_scope(node), str(sha))
        # Only nodes whose content had text have a ``text.json``.
        if sha and (node.get("extract") or {}).get("text") and held not in pages:
            pages[held] = await load_pages(container.blobs, *held)
        docs.append(file_to_doc(node, works.get(str(node["work_id"])), pages.get(held)))
    return docs


async def reindex_work_files(container: Container, work_id: str, batch: int = 500) -> int:
    """Rebuild the file documents of one work (after its status, acl, ... changed), streaming
    nodes in batches: memory stays flat for works of any size."""
    where = (Eq("work_id", work_id), Eq("kind", NodeKind.FILE.value))
    n = 0
    buf: list[Record] = []
    async for node in container.records.scan(NODES, where, batch=batch):
        buf.append(node)
        if len(buf) >= batch:
            await container.index.upsert(await file_docs(container, buf))
            n += len(buf)
            buf = []
    if buf:
        await container.index.upsert(await file_docs(container, buf))
        n += len(buf)
    if n:
        await container.index.refresh()
    return n


async def mark_pending(records: RecordStore, node: Record, now: str) -> None:
    """Record that ``node`` needs its index document rebuilt (call inside the unit of work
    that changed it). An existing mark is touched so a flush running now keeps it."""
    existing = await records.get(PENDING, str(node["id"]))
    if existing is None:
        await records.insert(PENDING, {"id": node["id"], "work_id": node["work_id"], "at": now})
    else:
        await records.update(PENDING, str(node["id"]), {"at": now}, int(existing["version"]))


async def flush_pending(container: Container, work_id: str | None = None) -> int:
    """Index every pending file (of one work, or all) with one commit per batch; returns how
    many documents were written."""
    records = container.records
    where = (Eq("work_id", work_id),) if work_id else ()
    total = 0
    while True:
        page = await records.find(PENDING, Query(where=where, limit=FLUSH_BATCH))
        if not page.items:
            break
        nodes = await records.get_many(NODES, [str(p["id"]) for p in page.items])
        docs = await file_docs(container, [n for n in nodes if n.get("kind") == NodeKind.FILE])
        await container.index.upsert(docs)
        await container.index.refresh()
        setattr(container, _LAST_FLUSH, time.monotonic())
        total += len(docs)
        for mark in page.items:
            # A mark touched again meanwhile stays: the next flush indexes the newer state.
            with contextlib.suppress(StaleVersion, NotFound):
                await records.delete(PENDING, str(mark["id"]), int(mark["version"]))
        if len(page.items) < FLUSH_BATCH:
            break
    return total


async def maybe_flush(container: Container, work_id: str) -> int:
    """Flush the work's pending documents unless more of its files are about to finish.

    One index commit costs ~75 ms on the embedded index, more than extracting a typical file,
    so a burst shares commits: flush when no other file of the work is queued or processing
    (the last one of an import), when ``FLUSH_BATCH`` are pending, or when this process last
    flushed ``FLUSH_SECONDS`` ago (search lags an import by at most about that)."""
    if time.monotonic() - float(getattr(container, _LAST_FLUSH, 0.0)) >= FLUSH_SECONDS:
        return await flush_pending(container, work_id)
    busy = await container.records.count(
        NODES,
        (
            Eq("work_id", work_id),
            In("ingest.state", (IngestState.QUEUED.value, IngestState.PROCESSING.value)),
        ),
    )
    if busy == 0:
        return await flush_pending(container, work_id)
    pending = await container.records.count(PENDING, (Eq("work_id", work_id),))
    if pending >= FLUSH_BATCH:
        return await flush_pending(container, work_id)
    return 0


def _blob_keys(record: Record) -> list[str]:
    return [str(record["key"])]


def register() -> None:
    """Hook file nodes into ``kura reindex`` / ``kura check``, and content blobs into the blob
    check. Called on import."""
    register_indexable(
        NODES,
        DOC_TYPE,
        _bare_doc,
        where=(Eq("kind", NodeKind.FILE.value),),
        build_batch=file_docs,
    )
    register_blob_refs(BLOBS, _blob_keys, scopes.PREFIX, scopes.in_area("objects"))


register()
