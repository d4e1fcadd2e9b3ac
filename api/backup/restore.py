"""``kura restore``: a chosen generation into an empty data folder or server set (issue 12 §3).

1. ``prepare`` (before any backend is opened): picks the generation (default the newest) and
   the newest key generation, verifies both manifests and every file and pool object against
   its SHA-256, refuses a target that holds data, then writes the keys (0600) and the records.
   Nothing is written before everything is verified. Records and a key store on MongoDB are
   restored with ``mongorestore --oplogReplay`` before this (they are not in the generation).
2. ``finish`` (with the container open): re-applies every erasure of the ledger (and of the
   restored key store) by destroying those scopes' keys and deleting their records again
   (``api.erasures.records``), restores the objects (sealed ones are
   opened with the restored keys and sealed again by the blob store, so their digests are
   right; objects of erased scopes are never written back), rebuilds the search index and
   records the restore in the audit chain.

The generation is read from a folder or an S3 bucket alike (``api.backup.stores``).
A marker ``<data_dir>/.restoring`` makes an interrupted restore resumable: run the same
command again; objects already restored are skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.audit.service import AuditLog
from api.backup.generations import (
    BackupError,
    Target,
    generations,
    pool_name,
    read_ledger,
    read_manifest,
    sha_stored,
)
from api.backup.stores import BackupStore
from api.config import Settings
from api.container import Container, blob_sealing, build_blobs
from api.keys import scopes
from api.keys.ring import KEY_SCOPES
from api.kit.faults import park
from storage.blobs.sealing import HEADER, open_stream, plain_size, span
from storage.errors import KeyDestroyed

MARKER = ".restoring"
# Objects restored at once.
RESTORE_PARALLEL = 8


@dataclass(frozen=True)
class Plan:
    generation: str
    key_generation: str
    manifest: dict[str, Any]
    resumed: bool


@dataclass(frozen=True)
class RestoreResult:
    generation: str
    key_generation: str
    objects: int
    skipped_erased: int
    erased_scopes: tuple[str, ...]


def key_store_path(settings: Settings) -> Path:
    return settings.keyring_path.with_name(f"{settings.keyring_path.name}.keys.sqlite3")


async def prepare(settings: Settings, target: Target, generation: str | None = None) -> Plan:
    await target.open()
    try:
        return await _prepare(settings, target, generation)
    finally:
        await target.close()


async def _prepare(settings: Settings, target: Target, generation: str | None) -> Plan:
    gens = await generations(target.data)
    if not gens:
        raise BackupError(f"no backup generation in {target.data.describe()}")
    gen = generation or gens[-1]
    if gen not in gens:
        raise BackupError(f"generation {gen} not found (have: {', '.join(gens)})")
    manifest = await read_manifest(target.data, gen)
    records_file = manifest["records"].get("file")
    if settings.records.backend == "sqlite" and not records_file:
        raise BackupError(
            f"generation {gen} holds no records (they were on MongoDB and dumped with "
            "mongodump): restore onto MongoDB, `mongorestore --oplogReplay` first"
        )
    if settings.records.backend != "sqlite" and records_file:
        raise BackupError(
            f"generation {gen} holds the records of the embedded stack (SQLite): restore it "
            "with KURA_RECORDS__BACKEND=sqlite, then move the records with the usual tools"
        )
    key_gens = [k for k in await generations(target.keys) if k >= gen]
    if not key_gens:
        raise BackupError(
            f"no key generation as new as {gen} in {target.keys.describe()}: without the keys "
            "the sealed objects of this generation cannot be read"
        )
    key_gen = key_gens[-1]
    key_manifest = await read_manifest(target.keys, key_gen)
    kek = key_manifest.get("kek") or {"adapter": "keyring"}
    if kek["adapter"] != settings.keys.kek:
        raise BackupError(
            f"key generation {key_gen}: its data keys are wrapped by the {kek['adapter']} KEK "
            f"({kek.get('where', '')}), but KURA_KEYS__KEK is {settings.keys.kek}; set it (and "
            "the KURA_KEYS__PKCS11_* settings of the HSM that holds the KEK) as they were"
        )

    # Verify everything before writing anything.
    # On MongoDB the records (and a key store there) come from mongorestore, done first.
    # (named by the manifest: a generation an erasure rewrote has ``records-<sha>.sqlite3``)
    records = f"generations/{gen}/{records_file}" if settings.records.backend == "sqlite" else ""
    if records and await sha_stored(target.data, records) != manifest["records"]["sha256"]:
        raise BackupError(f"generation {gen}: records copy does not match its SHA-256")
    for name, sha in key_manifest["files"].items():
        if await sha_stored(target.keys, f"generations/{key_gen}/{name}") != sha:
            raise BackupError(f"key generation {key_gen}: {name} does not match its SHA-256")
    checked: set[str] = set()
    for entry in manifest["objects"]:
        sha = str(entry["sha256"])
        if sha in checked:
            continue
        try:
            ok = await sha_stored(target.data, pool_name(sha)) == sha
        except FileNotFoundError:
            ok = False
        if not ok:
            raise BackupError(f"generation {gen}: object {entry['key']} is missing or damaged")
        checked.add(sha)

    marker = settings.data_dir / MARKER
    resumed = marker.exists()
    if not resumed:
        taken = [
            p
            for p in (settings.sqlite_path, settings.keyring_path, key_store_path(settings))
            if p.exists()
        ]
        raw = build_blobs(settings)
        await raw.open()
        try:
            async for info in raw.list(""):
                taken.append(Path(info.key))
                break
        finally:
            await raw.close()
        if taken:
            raise BackupError(
                "the restore target is not empty (found "
                + ", ".join(str(p) for p in taken)
                + "): restore into an empty data folder and bucket"
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{gen} {key_gen}\n")

    places = {
        "keyring": settings.keyring_path,
        "keys.sqlite3": key_store_path(settings),
        "audit-key": settings.audit_key_path,
        "bonds-key": settings.bonds_key_path,
    }
    for name, sha in key_manifest["files"].items():
        await _install(target.keys, f"generations/{key_gen}/{name}", sha, places[name])
    if records:
        await _install(target.data, records, manifest["records"]["sha256"], settings.sqlite_path)
    return Plan(gen, key_gen, manifest, resumed)


async def _install(store: BackupStore, name: str, sha: str, dest: Path) -> None:
    """Copy a verified file into place (0600), checking its SHA-256 again on the way."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # a copied SQLite file must not meet an old journal
        dest.with_name(dest.name + suffix).unlink(missing_ok=True)
    tmp = dest.with_name(f".{dest.name}.restore")
    digest = hashlib.sha256()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        async for block in store.stream(name):
            digest.update(block)
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    if digest.hexdigest() != sha:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"{store.describe()}/{name} changed while being restored")
    os.chmod(tmp, 0o600)
    tmp.replace(dest)


async def finish(c: Container, target: Target, plan: Plan) -> RestoreResult:
    await target.open()
    try:
        return await _finish(c, target, plan)
    finally:
        await target.close()


async def _finish(c: Container, target: Target, plan: Plan) -> RestoreResult:
    erased = {str(e["scope"]) for e in await read_ledger(target.data)}
    erased |= {str(r["id"]) async for r in c.keys.store.scan(KEY_SCOPES) if r.get("destroyed_at")}
    from api.erasures.records import erase_scope_records

    for gone in sorted(erased):
        if scopes.is_scope(gone):
            await c.keys.destroy(gone, "system:restore")
            # the records of an erased scope come back with an older generation: erase them
            # again (the index is rebuilt from the records below)
            await erase_scope_records(c, gone)
    checkpoint = getattr(c.records, "checkpoint", None)
    if erased and checkpoint is not None:
        await checkpoint()  # SQLite: the restored file's old pages of those records go too
    sealing = blob_sealing(c.settings, c.keys)
    counts = {"restored": 0, "skipped": 0}

    async def one(entry: dict[str, Any]) -> None:
        key = str(entry["key"])
        scope = scopes.scope_of_key(key)
        if scope in erased:
            counts["skipped"] += 1
            return
        if plan.resumed:
            have = await c.blobs.stat(key)
            if have is not None and entry.get("digest") and have.sha256 == entry["digest"]:
                counts["restored"] += 1
                return
        name = pool_name(str(entry["sha256"]))
        chunks: AsyncIterator[bytes]
        if scope is not None and sealing is not None:
            header = b"".join([b async for b in target.data.stream(name, 0, HEADER)])
            try:
                seal = await sealing.open_seal(header)
            except KeyDestroyed:
                counts["skipped"] += 1
                return
            plan_span = span(0, None, plain_size(int(entry["size"])))
            if plan_span is None:
                chunks = target.data.stream(name, 0, 0)
            else:
                stored = target.data.stream(name, plan_span.stored_from, plan_span.stored_to)
                chunks = open_stream(seal, plan_span, stored, 1 << 20)
        else:
            chunks = target.data.stream(name)
        info = await c.blobs.put(
            key,
            chunks,
            content_type=entry.get("content_type") or "application/octet-stream",
            metadata=dict(entry.get("metadata") or {}),
        )
        if entry.get("digest") and info.sha256 != entry["digest"]:
            raise BackupError(f"object {key}: restored content does not match its recorded SHA-256")
        counts["restored"] += 1
        park("restore.object")

    # Several objects at once: each durable put waits on its fsyncs, which overlap (the
    # recovery time of many small objects is their count times one fsync otherwise).
    todo = iter(plan.manifest["objects"])

    async def worker() -> None:
        for entry in todo:
            await one(entry)

    workers = [asyncio.create_task(worker()) for _ in range(RESTORE_PARALLEL)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    restored, skipped = counts["restored"], counts["skipped"]
    from api.consistency import reindex

    await reindex(c)
    async with c.uow() as uow:
        await AuditLog(uow.records, c.clock).record(
            "system:cli",
            "backup.restored",
            f"backups/{plan.generation}",
            detail={
                "key_generation": plan.key_generation,
                "source": target.data.describe(),
                "objects": restored,
                "skipped_erased": skipped,
                "erased_scopes": sorted(erased),
            },
        )
    (c.settings.data_dir / MARKER).unlink(missing_ok=True)
    return RestoreResult(
        plan.generation, plan.key_generation, restored, skipped, tuple(sorted(erased))
    )
