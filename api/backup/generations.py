"""``kura backup``: generations of the records, the objects and the keys (issue 12 §3).

Layout of the data target (``Settings.backup.target``) and the key target (``keys_target``,
default ``<target>-keys``; keys are kept apart from the data, with a shorter retention, so
that erasure wins over backups)::

    <target>/pool/<sha[:2]>/<sha>                 stored bytes of an object, by their SHA-256
                                                  (ciphertext for sealed objects: never plain)
    <target>/generations/<gen>/records.sqlite3    consistent copy of the records (SQLite backup API)
    <target>/generations/<gen>/manifest.json      every object: key, stored sha256 and size,
                                                  content type, metadata, the content digest
    <target>/generations/<gen>/manifest.sha256    SHA-256 of manifest.json
    <target>/erasures.jsonl                       every erasure ever made (never shrinks)
    <keys>/generations/<gen>/{keyring,keys.sqlite3,audit-key,bonds-key,manifest.json}

A generation is written under ``.tmp-<gen>`` and renamed when complete, so an interrupted run
leaves no generation (the next run starts again and finds the pool objects already there).
Objects are incremental: an object whose key, stored size and recorded digest are those of the
previous generation is not read again, and content already in the pool is not copied again;
the cost of a backup after one change is one listing plus the changed bytes.

Consistency: objects are listed once before and once after the records snapshot, so every
object a snapshot record refers to (written before its record commits) is in the generation,
unless deleted in the moment between the snapshot and the second listing (``kura scrub``
after a restore names such an object).

Records on MongoDB are not copied here: use ``mongodump --oplog`` beside this command (see
docs/operations.md); objects and keys are backed up the same way on every backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from api.config import Settings
from api.container import Container, build_blobs
from api.keys.ring import KEY_SCOPES
from storage.ports import BlobStore

FORMAT = "kura-backup/1"
KEYS_FORMAT = "kura-key-backup/1"
GEN_FORMAT = "%Y%m%dT%H%M%SZ"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on (wrong target, damaged generation, non-empty
    restore target): nothing was changed that should not be."""


@dataclass(frozen=True)
class Target:
    root: Path
    keys_root: Path

    @classmethod
    def of(cls, settings: Settings, root: Path | None = None, keys: Path | None = None) -> Target:
        data = root or settings.backup.target
        if data is None:
            raise BackupError("no backup target: pass --to or set KURA_BACKUP__TARGET")
        data = data.resolve()
        key_root = keys or settings.backup.keys_target or data.with_name(f"{data.name}-keys")
        key_root = key_root.resolve()
        for path in (data, key_root):
            if settings.data_dir.resolve() in (path, *path.parents):
                raise BackupError(f"backup target {path} is inside the data folder")
        if key_root == data or data in key_root.parents:
            raise BackupError("keys must be backed up apart from the data (another folder)")
        return cls(data, key_root)

    @property
    def generations(self) -> Path:
        return self.root / "generations"

    @property
    def key_generations(self) -> Path:
        return self.keys_root / "generations"

    @property
    def ledger(self) -> Path:
        return self.root / "erasures.jsonl"

    def pool(self, sha: str) -> Path:
        return self.root / "pool" / sha[:2] / sha


@dataclass(frozen=True)
class BackupResult:
    generation: str
    objects: int
    copied: int
    copied_bytes: int
    reused: int
    pruned: tuple[str, ...]
    pruned_keys: tuple[str, ...]


def list_generations(folder: Path) -> list[str]:
    """Complete generations, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any]:
    """A generation's manifest, checked against its recorded SHA-256."""
    path = folder / "manifest.json"
    try:
        raw = path.read_bytes()
        recorded = (folder / "manifest.sha256").read_text().split()[0]
    except (OSError, IndexError) as exc:
        raise BackupError(f"generation {folder.name}: manifest missing ({exc})") from exc
    if hashlib.sha256(raw).hexdigest() != recorded:
        raise BackupError(f"generation {folder.name}: manifest does not match its SHA-256")
    data: dict[str, Any] = json.loads(raw)
    return data


def _write_manifest(folder: Path, data: dict[str, Any]) -> None:
    raw = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode()
    (folder / "manifest.json").write_bytes(raw)
    (folder / "manifest.sha256").write_text(f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n")


def _fsync_tree(folder: Path) -> None:
    for path in [*folder.rglob("*"), folder]:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


# -- selection of generations to keep -----------------------------------------------------


def keep_set(
    generations: Iterable[str], daily: int, weekly: int, monthly: int, last: int = 1
) -> set[str]:
    """The generations a 7 daily / 4 weekly / 12 monthly policy keeps: the newest of each of
    the last ``daily`` days, ``weekly`` ISO weeks and ``monthly`` months that have one, and
    the ``last`` newest of all (several backups a day)."""
    ordered = sorted(generations, reverse=True)
    keep: set[str] = set(ordered[: max(1, last)])
    rules = (
        (daily, lambda d: d.strftime("%Y-%m-%d")),
        (weekly, lambda d: f"{d.isocalendar()[0]:04d}-W{d.isocalendar()[1]:02d}"),
        (monthly, lambda d: d.strftime("%Y-%m")),
    )
    for count, bucket in rules:
        seen: set[str] = set()
        for gen in ordered:
            when = datetime.strptime(gen[:16], GEN_FORMAT)
            b = bucket(when)
            if b in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(b)
            keep.add(gen)
    return keep


# -- backup -------------------------------------------------------------------------------


async def backup(c: Container, target: Target) -> BackupResult:
    settings = c.settings
    if settings.records.backend != "sqlite":
        raise BackupError(
            "records are on MongoDB: back them up with `mongodump --oplog` (docs/operations.md)"
        )
    if (settings.keys.store or settings.records.backend) != "sqlite":
        raise BackupError(
            "the wrapped data keys are on MongoDB: back up their database with "
            "`mongodump --oplog` apart from the data (docs/operations.md)"
        )
    now = c.clock.now()
    base = gen = now.strftime(GEN_FORMAT)
    n = 0
    while (target.generations / gen).exists() or (target.key_generations / gen).exists():
        n += 1
        gen = f"{base}-{n}"
    previous = list_generations(target.generations)
    prev_entries: dict[str, dict[str, Any]] = {}
    if previous:
        with contextlib.suppress(BackupError):
            manifest = read_manifest(target.generations / previous[-1])
            prev_entries = {e["key"]: e for e in manifest["objects"]}

    target.generations.mkdir(parents=True, exist_ok=True)
    tmp = target.generations / f".tmp-{gen}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    raw = build_blobs(settings)  # the stored bytes as they are: ciphertext stays ciphertext
    await raw.open()
    stats = {"copied": 0, "bytes": 0, "reused": 0}
    entries: dict[str, dict[str, Any]] = {}
    try:
        await _objects(raw, target, prev_entries, entries, stats)
        await asyncio.to_thread(sqlite_copy, settings.sqlite_path, tmp / "records.sqlite3")
        await _objects(raw, target, prev_entries, entries, stats, only_new=True)
    finally:
        await raw.close()
    records_sha = await asyncio.to_thread(sha_file, tmp / "records.sqlite3")
    _write_manifest(
        tmp,
        {
            "format": FORMAT,
            "generation": gen,
            "created_at": now.isoformat(),
            "previous": previous[-1] if previous else None,
            "records": {"file": "records.sqlite3", "sha256": records_sha},
            "blobs_backend": settings.blobs.backend,
            "objects": [entries[k] for k in sorted(entries)],
        },
    )
    await asyncio.to_thread(_fsync_tree, tmp)
    await _backup_keys(c, target, gen)
    await merge_ledger(c, target)
    tmp.rename(target.generations / gen)
    policy = settings.backup
    pruned = prune(
        target.generations,
        keep_set(
            list_generations(target.generations),
            policy.keep_daily,
            policy.keep_weekly,
            policy.keep_monthly,
            policy.keep_last,
        ),
    )
    collect_pool(target)
    keys_gens = list_generations(target.key_generations)
    pruned_keys = prune(target.key_generations, set(keys_gens[-settings.backup.keep_keys :]))
    return BackupResult(
        gen,
        len(entries),
        stats["copied"],
        stats["bytes"],
        stats["reused"],
        tuple(pruned),
        tuple(pruned_keys),
    )


async def _objects(
    raw: BlobStore,
    target: Target,
    prev: dict[str, dict[str, Any]],
    entries: dict[str, dict[str, Any]],
    stats: dict[str, int],
    only_new: bool = False,
) -> None:
    async for listed in raw.list(""):
        if only_new and listed.key in entries:
            continue
        info = await raw.stat(listed.key)
        if info is None:
            continue  # deleted meanwhile
        old = prev.get(info.key)
        if (
            old is not None
            and old["size"] == info.size
            and info.sha256 is not None
            and old.get("digest") == info.sha256
            and target.pool(old["sha256"]).exists()
        ):
            entries[info.key] = old
            stats["reused"] += 1
            continue
        sha, size = await _copy_in(raw, info.key, target)
        if sha is None:
            continue
        stats["copied"] += 1
        stats["bytes"] += size
        entries[info.key] = {
            "key": info.key,
            "sha256": sha,
            "size": size,
            "digest": info.sha256,
            "content_type": info.content_type,
            "metadata": info.metadata,
        }


async def _copy_in(raw: BlobStore, key: str, target: Target) -> tuple[str | None, int]:
    """Copy an object's stored bytes into the pool; (None, 0) if it vanished meanwhile."""
    from storage.errors import NotFound

    pool_tmp = target.root / "pool" / ".tmp"
    pool_tmp.mkdir(parents=True, exist_ok=True)
    part = pool_tmp / os.urandom(8).hex()
    digest = hashlib.sha256()
    size = 0
    try:
        # A command-line process of its own: blocking writes do not stall anyone.
        with open(part, "wb") as f:  # noqa: ASYNC230
            async for chunk in raw.get(key):
                digest.update(chunk)
                size += len(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        sha = digest.hexdigest()
        final = target.pool(sha)
        if final.exists():
            part.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            part.rename(final)
            return sha, size
        return sha, size
    except NotFound:
        part.unlink(missing_ok=True)
        return None, 0
    finally:
        part.unlink(missing_ok=True)


async def _backup_keys(c: Container, target: Target, gen: str) -> None:
    """The keyring (when the KEK is not in an HSM), the wrapped data keys, the audit key and
    the bonds' signing key, into the key target (0700); the manifest names the KEK's ids."""
    settings = c.settings
    target.key_generations.mkdir(parents=True, exist_ok=True)
    os.chmod(target.keys_root, 0o700)
    tmp = target.key_generations / f".tmp-{gen}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=0o700)
    files: dict[str, str] = {}
    if settings.keys.kek == "keyring":
        shutil.copyfile(settings.keyring_path, tmp / "keyring")
        files["keyring"] = sha_file(tmp / "keyring")
    # else the KEK never leaves its HSM: back it up with the HSM's own means (docs/operations.md)
    store_path = settings.keyring_path.with_name(f"{settings.keyring_path.name}.keys.sqlite3")
    if store_path.exists():  # on SQLite (``backup`` refused a key store on MongoDB)
        await asyncio.to_thread(sqlite_copy, store_path, tmp / "keys.sqlite3")
        files["keys.sqlite3"] = sha_file(tmp / "keys.sqlite3")
    for name, path in (
        ("audit-key", settings.audit_key_path),
        ("bonds-key", settings.bonds_key_path),
    ):
        if path.exists():
            shutil.copyfile(path, tmp / name)
            files[name] = sha_file(tmp / name)
    for name in files:
        os.chmod(tmp / name, 0o600)
    kek = {"adapter": c.keys.port.name, "where": c.keys.port.where(), "ids": c.keys.port.ids()}
    _write_manifest(tmp, {"format": KEYS_FORMAT, "generation": gen, "files": files, "kek": kek})
    await asyncio.to_thread(_fsync_tree, tmp)
    tmp.rename(target.key_generations / gen)


async def merge_ledger(c: Container, target: Target) -> None:
    """Add every destroyed scope of the key store to the erasure ledger of the target."""
    known = {e["scope"] for e in read_ledger(target.ledger)}
    async for record in c.keys.store.scan(KEY_SCOPES):
        if record.get("destroyed_at") and record["id"] not in known:
            append_ledger(
                target.ledger,
                {
                    "scope": record["id"],
                    "destroyed_at": record["destroyed_at"],
                    "by": record.get("destroyed_by"),
                    "keys": record.get("destroyed_keys") or [],
                },
            )


def read_ledger(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def append_ledger(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def prune(folder: Path, keep: set[str]) -> list[str]:
    gone = [g for g in list_generations(folder) if g not in keep]
    for gen in gone:
        shutil.rmtree(folder / gen)
    return gone


def collect_pool(target: Target) -> int:
    """Delete pool objects no remaining generation refers to."""
    used: set[str] = set()
    for gen in list_generations(target.generations):
        try:
            manifest = read_manifest(target.generations / gen)
        except BackupError:
            return 0  # never delete content while a manifest cannot be read
        used.update(e["sha256"] for e in manifest["objects"])
    removed = 0
    pool = target.root / "pool"
    if not pool.is_dir():
        return 0
    for sub in pool.iterdir():
        if not sub.is_dir() or sub.name.startswith("."):
            continue
        for path in sub.iterdir():
            if path.name not in used:
                path.unlink()
                removed += 1
    return removed
