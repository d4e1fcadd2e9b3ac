"""Rebuild the search index from the records, and report drift between records, index and blobs.

The records are the truth (style habit 5). Two registries say what else must agree with them:

- ``register_indexable(collection, doc_type, build, where=, build_batch=)``: every record of
  ``collection`` (matching ``where``, e.g. only file nodes) has one index document of
  ``doc_type``, ``build(record)``, with the same ``id`` and ``stamp`` equal to the record's
  ``version``. ``build_batch(container, records)``, when given, is used by ``reindex`` instead
  of ``build`` for documents that need more than the record (the work's acl, extracted text).
  Works are registered here; archive files register in ``api.archive.indexing``.
- ``register_blob_refs(collection, keys, prefix)``: records of ``collection`` reference the blob
  keys ``keys(record)``; every such blob must exist, and every blob under ``prefix`` must be
  referenced by some record.

``check`` reports: missing in index (a record without its document), orphaned in index (a
document without its record), stale (stamp != version), missing blobs and orphaned blobs,
failed jobs and live jobs long past their due time (``api.jobs``: no sweeper running).
Used by ``kura check`` / ``kura reindex`` and later by a periodic Celery task.

Memory: ``reindex`` streams records in batches (flat). ``check`` holds one ``id -> stamp`` map
of a document type (about 100 bytes per document) and, for blob checks, the set of referenced
keys of one collection; records themselves are streamed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.query import Condition, Record

if TYPE_CHECKING:
    from api.container import Container

DocBuilder = Callable[[Record], dict[str, Any]]
KeysOf = Callable[[Record], Iterable[str]]
BatchBuilder = Callable[["Container", list[Record]], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class Indexable:
    collection: str
    doc_type: str
    build: DocBuilder
    where: tuple[Condition, ...] = ()
    build_batch: BatchBuilder | None = None


@dataclass(frozen=True)
class BlobRefs:
    collection: str
    keys: KeysOf
    prefix: str
    # Of the objects under ``prefix``, those the collection owns (None: all of them); scoped
    # objects of every kind share the prefix ``s/``.
    owns: Callable[[str], bool] | None = None


INDEXABLE: dict[str, Indexable] = {}
BLOB_REFS: dict[str, BlobRefs] = {}


def register_indexable(
    collection: str,
    doc_type: str,
    build: DocBuilder,
    *,
    where: Sequence[Condition] = (),
    build_batch: BatchBuilder | None = None,
) -> None:
    """Declare that each record of ``collection`` matching ``where`` has the index document
    ``build(record)`` (``build_batch`` builds many at once with access to the container)."""
    INDEXABLE[collection] = Indexable(collection, doc_type, build, tuple(where), build_batch)


def unregister_indexable(collection: str) -> None:
    INDEXABLE.pop(collection, None)


def register_blob_refs(
    collection: str, keys: KeysOf, prefix: str, owns: Callable[[str], bool] | None = None
) -> None:
    """Declare that records of ``collection`` own the blobs ``keys(record)`` under ``prefix``
    (those of them ``owns`` accepts)."""
    BLOB_REFS[collection] = BlobRefs(collection, keys, prefix, owns)


def unregister_blob_refs(collection: str) -> None:
    BLOB_REFS.pop(collection, None)


def _register_defaults() -> None:
    from api.works.indexing import DOC_TYPE, work_to_doc
    from api.works.models import WORKS

    register_indexable(WORKS, DOC_TYPE, work_to_doc)
    import api.archive.indexing  # noqa: F401  (registers file nodes and content blobs)


_register_defaults()

DRIFT_KINDS = (
    "missing_in_index",
    "orphaned_in_index",
    "stale_in_index",
    "missing_blob",
    "orphaned_blob",
    # A job that gave up (its change's effect never happened), or one queued or running long
    # past its due time (no sweeper is running): see ``kura jobs``.
    "failed_job",
    "stalled_job",
)


@dataclass(frozen=True)
class Drift:
    kind: str
    ref: str  # "<collection or doc type>/<id>" or a blob key
    detail: str = ""


@dataclass
class Report:
    """What ``check`` found. ``items`` is capped at ``max_items``; ``counts`` are exact."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DRIFT_KINDS, 0))
    items: list[Drift] = field(default_factory=list)
    records_checked: int = 0
    documents_checked: int = 0
    blobs_checked: int = 0
    seconds: float = 0.0
    max_items: int = 1000

    @property
    def clean(self) -> bool:
        return not any(self.counts.values())

    def add(self, kind: str, ref: str, detail: str = "") -> None:
        self.counts[kind] += 1
        if len(self.items) < self.max_items:
            self.items.append(Drift(kind, ref, detail))

    def lines(self) -> list[str]:
        out = [
            f"records checked: {self.records_checked}, index documents: "
            f"{self.documents_checked}, blobs: {self.blobs_checked} ({self.seconds:.2f} s)"
        ]
        out += [f"{kind}: {n}" for kind, n in self.counts.items()]
        out += [f"  {d.kind} {d.ref} {d.detail}".rstrip() for d in self.items]
        if sum(self.counts.values()) > len(self.items):
            out.append(f"  ... {sum(self.counts.values()) - len(self.items)} more not listed")
        out.append("clean" if self.clean else "DRIFT")
        return out


@dataclass
class ReindexResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def reindex(container: Container, batch: int = 1000) -> ReindexResult:
    """Clear the index and rebuild every registered type from the records, streaming.

    A write committed while this runs is indexed by its own unit of work; if the scan
    overwrites it with an older state, ``check`` reports it as stale and another reindex
    (or the next write) repairs it.
    """
    started = time.perf_counter()
    result = ReindexResult()
    await container.index.clear()
    for spec in INDEXABLE.values():
        n = 0
        buf: list[Record] = []
        async for record in container.records.scan(spec.collection, spec.where, batch=batch):
            buf.append(record)
            if len(buf) >= batch:
                await container.index.upsert(await _build(container, spec, buf))
                n += len(buf)
                buf = []
        if buf:
            await container.index.upsert(await _build(container, spec, buf))
            n += len(buf)
        result.counts[spec.doc_type] = n
    await container.index.refresh()
    result.seconds = time.perf_counter() - started
    return result


async def _build(
    container: Container, spec: Indexable, records: list[Record]
) -> list[dict[str, Any]]:
    if spec.build_batch is not None:
        return await spec.build_batch(container, records)
    return [spec.build(r) for r in records]


async def check(container: Container, max_items: int = 1000, batch: int = 1000) -> Report:
    """Compare records with the index and with the blobs; never changes anything."""
    started = time.perf_counter()
    report = Report(max_items=max_items)
    for spec in INDEXABLE.values():
        stamps: dict[str, int | None] = {}
        async for doc_id, doc_stamp in container.index.scan_stamps(spec.doc_type):
            stamps[doc_id] = int(doc_stamp)
        report.documents_checked += len(stamps)
        async for record in container.records.scan(spec.collection, spec.where, batch=batch):
            report.records_checked += 1
            rid = str(record["id"])
            stamp = stamps.pop(rid, None)
            if stamp is None:
                report.add("missing_in_index", f"{spec.collection}/{rid}")
            elif stamp != int(record["version"]):
                report.add(
                    "stale_in_index",
                    f"{spec.collection}/{rid}",
                    f"record version {record['version']}, index stamp {stamp}",
                )
        for doc_id in sorted(stamps):
            report.add("orphaned_in_index", f"{spec.doc_type}/{doc_id}")
    for refs in BLOB_REFS.values():
        referenced: set[str] = set()
        async for record in container.records.scan(refs.collection, batch=batch):
            report.records_checked += 1
            for key in refs.keys(record):
                referenced.add(key)
                if await container.blobs.stat(key) is None:
                    report.add("missing_blob", key, f"{refs.collection}/{record['id']}")
        async for info in container.blobs.list(refs.prefix):
            if refs.owns is not None and not refs.owns(info.key):
                continue
            report.blobs_checked += 1
            if info.key not in referenced:
                report.add("orphaned_blob", info.key)
    await _check_jobs(container, report, batch)
    report.seconds = time.perf_counter() - started
    return report


async def _check_jobs(container: Container, report: Report, batch: int) -> None:
    from api.jobs.models import JOBS, JobState
    from api.jobs.service import OVERDUE, OVERDUE_STATES
    from api.kit.clock import to_iso
    from storage.query import Eq, In, Range

    failed = (Eq("state", JobState.FAILED.value),)
    async for job in container.records.scan(JOBS, failed, batch=batch):
        report.add("failed_job", f"{JOBS}/{job['id']}", f"{job['task']}: {job.get('last_error')}")
    horizon = to_iso(container.clock.now() - OVERDUE)
    stalled = (In("state", OVERDUE_STATES), Range("due_at", lt=horizon))
    async for job in container.records.scan(JOBS, stalled, batch=batch):
        report.add("stalled_job", f"{JOBS}/{job['id']}", f"{job['task']} {job['state']}")
