"""``kura restore``: a chosen generation into an empty data folder or server set (issue 12 §3).

1. ``prepare`` (before any backend is opened): picks the generation (default the newest) and
   the newest key generation, verifies both manifests and every file and pool object against
   its SHA-256, refuses a target that holds data, then writes the keys (0600) and the records.
   Nothing is written before everything is verified.
2. ``finish`` (with the container open): re-applies every erasure of the ledger (and of the
   restored key store) by destroying those scopes' keys, restores the objects (sealed ones are
   opened with the restored keys and sealed again by the blob store, so their digests are
   right; objects of erased scopes are never written back), rebuilds the search index and
   records the restore in the audit chain.

A marker ``<data_dir>/.restoring`` makes an interrupted restore resumable: run the same
command again; objects already restored are skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.audit.service import AuditLog
from api.backup.generations import (
    CHUNK,
    BackupError,
    Target,
    list_generations,
    read_ledger,
    read_manifest,
    sha_file,
)
from api.config import Settings
from api.container import Container, blob_sealing, build_blobs
from api.keys import scopes
from api.keys.ring import KEY_SCOPES
from storage.blobs.sealing import HEADER, open_stream, plain_size, span
from storage.errors import KeyDestroyed

MARKER = ".restoring"


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
    gens = list_generations(target.generations)
    if not gens:
        raise BackupError(f"no backup generation in {target.generations}")
    gen = generation or gens[-1]
    if gen not in gens:
        raise BackupError(f"generation {gen} not found (have: {', '.join(gens)})")
    folder = target.generations / gen
    manifest = read_manifest(folder)
    if settings.records.backend != "sqlite":
        raise BackupError("records are on MongoDB: restore them with `mongorestore --oplogReplay`")
    key_gens = [k for k in list_generations(target.key_generations) if k >= gen]
    if not key_gens:
        raise BackupError(
            f"no key generation as new as {gen} in {target.key_generations}: without the keys "
            "the sealed objects of this generation cannot be read"
        )
    key_gen = key_gens[-1]
    key_folder = target.key_generations / key_gen
    key_manifest = read_manifest(key_folder)
    kek = key_manifest.get("kek") or {"adapter": "keyring"}
    if kek["adapter"] != settings.keys.kek:
        raise BackupError(
            f"key generation {key_gen}: its data keys are wrapped by the {kek['adapter']} KEK "
            f"({kek.get('where', '')}), but KURA_KEYS__KEK is {settings.keys.kek}; set it (and "
            "the KURA_KEYS__PKCS11_* settings of the HSM that holds the KEK) as they were"
        )

    def verify() -> None:
        if sha_file(folder / "records.sqlite3") != manifest["records"]["sha256"]:
            raise BackupError(f"generation {gen}: records copy does not match its SHA-256")
        for name, sha in key_manifest["files"].items():
            if sha_file(key_folder / name) != sha:
                raise BackupError(f"key generation {key_gen}: {name} does not match its SHA-256")
        for entry in manifest["objects"]:
            path = target.pool(entry["sha256"])
            if not path.exists() or sha_file(path) != entry["sha256"]:
                raise BackupError(f"generation {gen}: object {entry['key']} is missing or damaged")

    await asyncio.to_thread(verify)

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

    def write_files() -> None:
        places = {
            "keyring": settings.keyring_path,
            "keys.sqlite3": key_store_path(settings),
            "audit-key": settings.audit_key_path,
            "bonds-key": settings.bonds_key_path,
        }
        for name in key_manifest["files"]:
            _install(key_folder / name, places[name], 0o600)
        _install(folder / "records.sqlite3", settings.sqlite_path, 0o600)

    await asyncio.to_thread(write_files)
    return Plan(gen, key_gen, manifest, resumed)


def _install(source: Path, dest: Path, mode: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # a copied SQLite file must not meet an old journal
        dest.with_name(dest.name + suffix).unlink(missing_ok=True)
    tmp = dest.with_name(f".{dest.name}.restore")
    shutil.copyfile(source, tmp)
    os.chmod(tmp, mode)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.replace(dest)


async def _file(path: Path, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:  # noqa: ASYNC230 (a command-line process of its own)
        f.seek(start)
        left = (end if end is not None else os.fstat(f.fileno()).st_size) - start
        while left > 0:
            block = f.read(min(CHUNK, left))
            if not block:
                break
            left -= len(block)
            yield block


async def finish(c: Container, target: Target, plan: Plan) -> RestoreResult:
    erased = {str(e["scope"]) for e in read_ledger(target.ledger)}
    erased |= {str(r["id"]) async for r in c.keys.store.scan(KEY_SCOPES) if r.get("destroyed_at")}
    for gone in sorted(erased):
        if scopes.is_scope(gone):
            await c.keys.destroy(gone, "system:restore")
    sealing = blob_sealing(c.settings, c.keys)
    restored = skipped = 0
    for entry in plan.manifest["objects"]:
        key = str(entry["key"])
        scope = scopes.scope_of_key(key)
        if scope in erased:
            skipped += 1
            continue
        if plan.resumed:
            have = await c.blobs.stat(key)
            if have is not None and entry.get("digest") and have.sha256 == entry["digest"]:
                restored += 1
                continue
        path = target.pool(str(entry["sha256"]))
        chunks: AsyncIterator[bytes]
        if scope is not None and sealing is not None:
            with open(path, "rb") as f:  # noqa: ASYNC230
                header = f.read(HEADER)
            try:
                seal = await sealing.open_seal(header)
            except KeyDestroyed:
                skipped += 1
                continue
            plan_span = span(0, None, plain_size(int(entry["size"])))
            if plan_span is None:
                chunks = _file(path, 0, 0)
            else:
                stored = _file(path, plan_span.stored_from, plan_span.stored_to)
                chunks = open_stream(seal, plan_span, stored, CHUNK)
        else:
            chunks = _file(path)
        await c.blobs.put(
            key,
            chunks,
            content_type=entry.get("content_type") or "application/octet-stream",
            metadata=dict(entry.get("metadata") or {}),
        )
        restored += 1
    from api.consistency import reindex

    await reindex(c)
    async with c.uow() as uow:
        await AuditLog(uow.records, c.clock).record(
            "system:cli",
            "backup.restored",
            f"backups/{plan.generation}",
            detail={
                "key_generation": plan.key_generation,
                "objects": restored,
                "skipped_erased": skipped,
                "erased_scopes": sorted(erased),
            },
        )
    (c.settings.data_dir / MARKER).unlink(missing_ok=True)
    return RestoreResult(
        plan.generation, plan.key_generation, restored, skipped, tuple(sorted(erased))
    )
