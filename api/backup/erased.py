"""Erasures applied to the records of existing backup generations (issue 12 §1 last bullet:
records that hold sensitive text are "erased with" the scope's key; §2: "nothing kept that
should be erased"; seed 001 §3-6: 契約終了後、情報共有システム上の全てのデータを消去; 別表3
12(2): 削除したデータは再現できない).

A generation's objects are sealed (ciphertext: unreadable once the scope's key is destroyed
and the key generations have rotated), but its ``records`` snapshot is a plain SQLite file:
post bodies, proposal fields, bond contents, user names. So when an erasure finishes, and
again in every ``kura backup`` (for any ledger entry not applied yet), every complete data
generation of the configured target whose manifest does not list the scope under
``erasures_applied`` is rewritten:

1. its records file is copied to a local temp folder and checked against its SHA-256;
2. the copy is opened as a ``SqliteRecordStore`` and ``erase_scope_records`` (the one set of
   erasure rules, ``api.erasures.records``) runs on it for each pending scope, with a container
   built on that store: the live key ring and clock, and a blob store, index and job queue
   that do nothing (the backup's objects are sealed, its index is rebuilt at a restore);
3. the copy is compacted into a new file (``VACUUM INTO``: only live pages are written, so no
   deleted text lingers in free pages or a journal) named by its SHA-256
   (``records-<sha[:16]>.sqlite3``) and put into the generation beside the old one;
4. a new manifest (same objects; the new records file and SHA-256; the scopes added to
   ``erasures_applied``) is put as ``manifest-<sha[:16]>.json``;
5. ``manifest.sha256`` is replaced by the line ``<sha>  manifest-<sha[:16]>.json``: this
   one atomic write (a rename in a folder, one PUT on S3) is the commit;
6. the old records file and the old manifest are deleted.

Why a new manifest name rather than ``manifest.json`` then ``manifest.sha256`` in place: a
crash between those two writes would leave a listed generation whose manifest does not match
its SHA-256 (damaged). With the order above, a crash before step 5 leaves the old complete
generation (plus unreferenced new files, removed by the next rewrite of that generation), a
crash after it the new complete one (plus the old files, removed likewise). ``read_manifest``
reads the manifest named in ``manifest.sha256``.

The rewrite is idempotent and resumable (``erasures_applied`` on each generation) and holds
the target's backup lock (``api.backup.lock``), so a concurrent ``kura backup`` or prune never
races it; the erasure job that finds the lock taken leaves the work to the next ``kura backup``
(which applies every ledger entry not applied yet, under its own lock). A restore re-applies
the whole ledger as before (harmless twice).

Records on MongoDB are not in the generations (``mongodump --oplog`` beside ``kura backup``):
those dumps are outside Kura; docs/operations.md says how an operator handles them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.backup.generations import (
    BackupError,
    Target,
    generations,
    manifest_name,
    merge_ledger,
    read_ledger,
    read_manifest,
    sha_file,
    write_manifest_as,
)
from api.backup.stores import BackupStore
from api.container import Container
from api.keys import scopes
from api.kit.faults import park
from storage.errors import NotFound, StorageError
from storage.ports import AppendState, BlobInfo, Checksum, Health, SearchResult

log = logging.getLogger("kura.backup")

APPLIED = "erasures_applied"


# -- ports that do nothing (the generation's objects are sealed; its index is rebuilt) -------


class _Idle:
    """The life cycle of a port that does nothing (the null adapters below)."""

    name = "none"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def health(self) -> Health:
        return Health(True, "none")


class _NoBlobs(_Idle):
    async def put(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        raise NotImplementedError("a backup generation's objects are never written")

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> list[BlobInfo]:
        raise NotImplementedError("a backup generation's objects are never written")

    async def get(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        raise NotFound(key)
        yield b""  # pragma: no cover

    async def stat(self, key: str) -> BlobInfo | None:
        return None

    async def delete(self, key: str) -> None:
        return None

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        return
        yield  # pragma: no cover

    async def append_open(self, handle: str) -> AppendState:
        raise NotImplementedError("no uploads into a backup generation")

    async def append(
        self,
        handle: str,
        chunks: AsyncIterator[bytes],
        *,
        offset: int,
        checksum: Checksum | None = None,
        limit: int | None = None,
    ) -> AppendState:
        raise NotImplementedError("no uploads into a backup generation")

    async def append_finish(
        self,
        handle: str,
        key: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        raise NotImplementedError("no uploads into a backup generation")

    async def append_abort(self, handle: str) -> None:
        return None

    async def append_handles(self) -> AsyncIterator[str]:
        return
        yield  # pragma: no cover


class _NoIndex(_Idle):
    async def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        return None

    async def delete(self, ids: Sequence[str]) -> None:
        return None

    async def refresh(self) -> None:
        return None

    async def search(self, query: Any) -> SearchResult:
        return SearchResult(0, [])

    async def scan_stamps(self, doc_type: str | None = None) -> AsyncIterator[tuple[str, int]]:
        return
        yield  # pragma: no cover

    async def clear(self) -> None:
        return None


class _NoJobs(_Idle):
    async def enqueue(self, task: str, **kwargs: Any) -> str:
        return ""

    async def send(self, task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        return None

    async def waiting(self) -> dict[str, int] | None:
        return None


# -- one generation ----------------------------------------------------------------------------


def records_name(sha: str) -> str:
    return f"records-{sha[:16]}.sqlite3"


def compact(source: Path, dest: Path) -> None:
    """``VACUUM INTO``: a new file holding only the live pages (no free page, no journal)."""
    conn = sqlite3.connect(source, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM INTO ?", (str(dest),))
    finally:
        conn.close()


async def erase_in_copy(c: Container, path: Path, pending: Sequence[str]) -> dict[str, Any]:
    """Run the erasure rules of ``pending`` scopes on the SQLite file ``path`` (in place)."""
    from api.erasures.records import erase_scope_records
    from storage.records.sqlite import SqliteRecordStore

    store = SqliteRecordStore(path)
    copy = Container(
        c.settings,
        records=store,
        blobs=_NoBlobs(),
        index=_NoIndex(),
        jobs=_NoJobs(),
        clock=c.clock,
        keys=c.keys,
    )
    counts: dict[str, Any] = {}
    await store.open()
    try:
        for scope in pending:
            counts[scope] = await erase_scope_records(copy, scope)
        await store.checkpoint()
    finally:
        await store.close()
    return counts


async def _tidy(store: BackupStore, gen: str, keep: set[str]) -> None:
    """Delete the files of a complete generation that its manifest does not name (what a
    rewrite interrupted before or after its commit left)."""
    for name in await store.names(f"generations/{gen}/"):
        base = name.rsplit("/", 1)[-1]
        if base in keep:
            continue
        if (base.startswith("records") and base.endswith(".sqlite3")) or (
            base.startswith("manifest") and base.endswith(".json")
        ):
            await store.delete(name)


async def rewrite_generation(
    c: Container, store: BackupStore, gen: str, scope_list: Sequence[str], work: Path
) -> list[str]:
    """Apply the erasures of ``scope_list`` not yet applied to generation ``gen`` (see the
    module docstring for the order of the writes); returns the scopes applied now."""
    manifest = await read_manifest(store, gen)
    current = str(await manifest_name(store, gen))
    entry = dict(manifest.get("records") or {})
    old_file = entry.get("file")
    keep = {"manifest.sha256", "summary.json", current}
    if old_file:
        keep.add(str(old_file))
    await _tidy(store, gen, keep)
    if not old_file:
        return []  # records on MongoDB: not in the generation (mongodump, outside Kura)
    applied = [str(s) for s in manifest.get(APPLIED) or ()]
    pending = sorted({s for s in scope_list if scopes.is_scope(s)} - set(applied))
    if not pending:
        return []
    source = work / f"{gen}.sqlite3"
    digest = hashlib.sha256()
    with open(source, "wb") as f:  # noqa: ASYNC230 (a backup run, or the erasure job)
        async for block in store.stream(f"generations/{gen}/{old_file}"):
            digest.update(block)
            f.write(block)
    if digest.hexdigest() != entry.get("sha256"):
        source.unlink(missing_ok=True)
        raise BackupError(f"generation {gen}: records copy does not match its SHA-256")
    compacted = work / f"{gen}.compact.sqlite3"
    try:
        await erase_in_copy(c, source, pending)
        compacted.unlink(missing_ok=True)
        await asyncio.to_thread(compact, source, compacted)
        sha = await asyncio.to_thread(sha_file, compacted)
        new_file = records_name(sha)
        if new_file != old_file:
            await store.put_file(f"generations/{gen}/{new_file}", compacted)
    finally:
        for p in (source, compacted):
            for suffix in ("", "-wal", "-shm", "-journal"):
                p.with_name(p.name + suffix).unlink(missing_ok=True)
    manifest["records"] = {**entry, "file": new_file, "sha256": sha}
    manifest[APPLIED] = sorted({*applied, *pending})
    name = await write_manifest_as(store, gen, manifest)
    park("backup.erased_switched")
    for gone in {str(old_file), current} - {new_file, name}:
        await store.delete(f"generations/{gen}/{gone}")
    return pending


@dataclass
class Applied:
    """What one pass did: the scopes applied now, by generation; the generations it could not
    rewrite, with the reason (left as they were; the next pass retries them)."""

    done: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


async def apply_erasures(
    c: Container, store: BackupStore, scope_list: Sequence[str] | None = None
) -> Applied:
    """Apply every erasure of the target's ledger (or ``scope_list``) to every complete
    generation not yet showing it; the caller holds the target's backup lock. A generation
    that cannot be rewritten (damaged, unreachable) is logged and left for the next pass; the
    others go on."""
    if scope_list is None:
        scope_list = [str(e["scope"]) for e in await read_ledger(store)]
    out = Applied()
    if not scope_list:
        return out
    with tempfile.TemporaryDirectory(prefix="kura-backup-erase-") as work:
        for gen in await generations(store):
            try:
                applied = await rewrite_generation(c, store, gen, scope_list, Path(work))
            except (BackupError, OSError, StorageError, sqlite3.Error) as exc:
                out.failed[gen] = str(exc)
                log.error(
                    "backup generation %s in %s: erasures not applied (retried by the next "
                    "`kura backup`): %s",
                    gen,
                    store.describe(),
                    exc,
                )
                continue
            if applied:
                out.done[gen] = applied
                log.info("erasure of %s applied to backup generation %s", applied, gen)
    return out


async def erase_from_backups(c: Container) -> Applied:
    """The erasure job's step (after ``note_erasure``): every ledger entry (and every scope the
    key store shows destroyed) not yet applied, applied to every generation of the configured
    data target, under its backup lock.
    ``BackupLocked`` while a backup or prune runs there (the next ``kura backup`` applies
    it)."""
    from api.backup.lock import BackupLock

    settings = c.settings
    if settings.backup.target is None and not settings.backup.s3_bucket:
        return Applied()
    target = Target.of(settings)
    await target.data.open()
    try:
        async with BackupLock(target.data, c.clock, settings.backup.lock_stale_s).held():
            # every destroyed scope of the key store, also one whose ledger entry failed
            await merge_ledger(c, target.data)
            return await apply_erasures(c, target.data)
    finally:
        with contextlib.suppress(Exception):
            await target.data.close()


async def for_erasure(c: Container, scope: str) -> Applied | None:
    """``erase_from_backups`` for the job ``erasures.backups`` and ``kura keys erase``: a
    refusal (a backup holds the target) or a failure is logged, never raised; the next
    ``kura backup`` applies what is left. None when nothing was tried."""
    from api.backup.lock import BackupLocked

    try:
        applied = await erase_from_backups(c)
    except BackupLocked as exc:
        log.warning(
            "erasure of %s: the backup generations are not rewritten now (%s); the next "
            "`kura backup` removes its records from them",
            scope,
            exc,
        )
        return None
    except Exception:
        log.exception(
            "erasure of %s: removing its records from the backup generations failed; the "
            "next `kura backup` retries",
            scope,
        )
        return None
    for gen, why in applied.failed.items():
        log.error(
            "erasure of %s: backup generation %s not rewritten (the next `kura backup` "
            "retries): %s",
            scope,
            gen,
            why,
        )
    return applied
