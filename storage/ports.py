"""The ports every backend adapter implements. Services depend on these, never on a vendor SDK.

Each port has two real adapters chosen by settings (embedded default first) and one contract
test suite in ``tests/contract`` that runs against every adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from storage.query import Condition, Page, Query, Record


@dataclass(frozen=True)
class IndexSpec:
    """A secondary index on a collection. ``fields`` are dotted paths with a direction."""

    fields: tuple[tuple[str, int], ...]
    unique: bool = False


@dataclass(frozen=True)
class Health:
    ok: bool
    backend: str
    detail: str = ""


@runtime_checkable
class RecordStore(Protocol):
    """Documents in named collections, each with a string ``id`` and an integer ``version``.

    Values are JSON types; datetimes are fixed-width ISO strings made by ``api.kit.clock``.
    ``version`` starts at 1 on insert and grows by one on each update; an update or delete
    carrying another version raises ``StaleVersion`` and changes nothing.
    """

    name: str

    async def open(self) -> None:
        """Connect and prepare (create files, tables). Idempotent."""

    async def close(self) -> None:
        """Release connections. Idempotent."""

    async def health(self) -> Health:
        """Whether the backend answers now; never raises."""

    async def ensure_indexes(self, collection: str, specs: Sequence[IndexSpec]) -> None:
        """Create the secondary indexes if missing. Idempotent."""

    async def insert(self, collection: str, record: Record) -> Record:
        """Store a new record (``id`` required; ``version`` set to 1). ``DuplicateKey`` if the
        id or a unique index value exists. Returns the stored record."""

    async def insert_many(self, collection: str, records: Sequence[Record]) -> int:
        """Bulk insert for imports and benchmarks; all or nothing. Returns the count."""

    async def get(self, collection: str, record_id: str) -> Record | None:
        """The record with this id, or None."""

    async def get_many(self, collection: str, ids: Sequence[str]) -> list[Record]:
        """The records with these ids that exist, in no particular order."""

    async def update(
        self, collection: str, record_id: str, changes: Record, expected_version: int
    ) -> Record:
        """Set top-level fields (a value of None removes the field) if the stored version equals
        ``expected_version``; bump the version. ``NotFound`` or ``StaleVersion`` otherwise."""

    async def replace(self, collection: str, record: Record, expected_version: int) -> Record:
        """Replace the whole record under the same optimistic check as ``update``."""

    async def delete(self, collection: str, record_id: str, expected_version: int | None) -> None:
        """Remove the record; with a version, only if it is current. ``NotFound`` if absent."""

    async def find(self, collection: str, query: Query) -> Page:
        """One keyset page of records matching all conditions, in ``query.full_sort`` order."""

    async def count(self, collection: str, where: Sequence[Condition] = ()) -> int:
        """How many records match."""

    def scan(
        self, collection: str, where: Sequence[Condition] = (), batch: int = 1000
    ) -> AsyncIterator[Record]:
        """Every matching record in id order, fetched in batches (for reindex and checks)."""

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """All writes inside commit together or not at all. Nesting joins the outer one."""

    async def drop_collection(self, collection: str) -> None:
        """Remove a whole collection (tests and benchmarks only)."""


# The largest object ``BlobStore.put_many`` takes.
PUT_MANY_MAX = 1 << 20

# Digests an append request may carry (tus checksum extension: sha1 is mandatory).
ChecksumAlgorithm = Literal["sha1", "sha256"]
CHECKSUM_SIZES: dict[str, int] = {"sha1": 20, "sha256": 32}


@dataclass(frozen=True)
class Checksum:
    """The digest of one append request's bytes, as the client computed it."""

    algorithm: ChecksumAlgorithm
    digest: bytes


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str | None = None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class BlobStore(Protocol):
    """Objects by key, streamed in and out in chunks; never a whole file in memory.

    Keys are relative slash-separated paths of safe characters (``[A-Za-z0-9._/-]``, no ``..``).
    A put is atomic: a reader sees the old object, the new one, or none, never a partial one.
    """

    name: str

    async def open(self) -> None:
        """Create the bucket or root folder if missing. Idempotent."""

    async def close(self) -> None:
        """Release connections. Idempotent."""

    async def health(self) -> Health:
        """Whether the backend answers now; never raises."""

    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        """Stream ``chunks`` into ``key`` (replacing it atomically); returns size and SHA-256."""

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> list[BlobInfo]:
        """Store several small objects (at most 1 MiB each) given whole (``(key, bytes)``,
        e.g. an import of many tiny files), in order, with the default content type and no
        metadata. Each is atomic like ``put`` and all are durable when this returns; the
        adapter may share one sync among them. After an error any of them may exist: the
        caller deletes the keys it no longer wants."""

    def get(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Stream the bytes ``[start, end)`` of the object; ``NotFound`` if absent."""

    async def stat(self, key: str) -> BlobInfo | None:
        """Size, type and metadata, or None if absent."""

    async def delete(self, key: str) -> None:
        """Remove the object; absent is not an error."""

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every object under a prefix, in key order."""

    # -- resumable appends (tus uploads): bytes arrive in many requests, maybe over days --

    async def append_open(self, handle: str) -> AppendState:
        """Create the append target ``handle`` (``[A-Za-z0-9_-]{1,64}``) if missing and return
        how many bytes are durably stored; after a restart this is where the client resumes."""

    async def append(
        self,
        handle: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        checksum: Checksum | None = None,
        limit: int | None = None,
    ) -> AppendState:
        """Append the bytes of ``chunks`` at ``offset``, which must equal the stored size
        (``OffsetMismatch`` otherwise, nothing written). Bytes are durable (fsynced, or sent as
        an S3 part) when this returns. If ``chunks`` raises (dropped connection), the bytes
        received so far are kept durably and the error propagates. With ``checksum`` (the
        SHA-1 or SHA-256 of this request's bytes) nothing is kept unless the digest matches
        (``ChecksumMismatch``). More than ``limit`` total bytes raises ``SizeExceeded`` and
        keeps nothing of this request."""

    async def append_finish(
        self,
        handle: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        """Turn the appended bytes into object ``key`` atomically and return its size and
        SHA-256 (computed while appending, or by re-reading after a restart). The handle is
        gone afterwards."""

    async def append_abort(self, handle: str) -> None:
        """Discard an append target and everything staged for it; absent is not an error."""

    def append_handles(self) -> AsyncIterator[str]:
        """Every open append handle (for expiry sweeps and ``kura check``)."""


@dataclass(frozen=True)
class AppendState:
    handle: str
    size: int


@dataclass(frozen=True)
class SearchHit:
    id: str
    score: float
    doc: dict[str, Any]
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SearchResult:
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    next_cursor: str | None = None


@runtime_checkable
class SearchIndex(Protocol):
    """The full-text index. Documents follow ``indexer.documents.SCHEMA``; queries are
    ``indexer.query.SearchQuery``. Writes become visible after ``refresh()``."""

    name: str

    async def open(self) -> None:
        """Create the index with its schema/mappings if missing. Idempotent."""

    async def close(self) -> None:
        """Release resources. Idempotent."""

    async def health(self) -> Health:
        """Whether the backend answers now; never raises."""

    async def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        """Add or replace documents by ``id``."""

    async def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; absent ids are ignored."""

    async def refresh(self) -> None:
        """Make every write so far visible to searches."""

    async def search(self, query: Any) -> SearchResult:
        """Run an ``indexer.query.SearchQuery``."""

    def scan_stamps(self, doc_type: str | None = None) -> AsyncIterator[tuple[str, int]]:
        """Every (id, version stamp) pair in the index, for drift checks and reindex."""

    async def clear(self) -> None:
        """Remove every document (reindex from scratch, tests)."""


@runtime_checkable
class JobQueue(Protocol):
    """Enqueue named tasks (``"package.verb"``) with JSON arguments; the worker runs them."""

    name: str

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        """Send a task untracked; returns its id. Jobs a change needs go through the unit of
        work instead (``uow.enqueue``: recorded with the change, delivery durable)."""

    async def send(self, task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        """Send a recorded job: ``job_id`` is the task id and rides in the message, so the
        worker reports the job's progress on its record. ``BackendUnavailable`` when the
        broker is down (the record stays ``queued`` and is sent later)."""

    async def waiting(self) -> dict[str, int] | None:
        """Messages waiting in each queue, not yet taken by a worker; None when the broker
        cannot tell. An empty queue tells the sweeper that a job still ``sent`` is lost."""

    async def health(self) -> Health:
        """Whether the broker answers now; never raises."""
