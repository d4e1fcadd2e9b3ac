"""``kura backup``: generations of the records, the objects and the keys (issue 12 §3).

The data target (``Settings.backup.target``, a folder, or ``backup.s3_bucket``, an S3 bucket:
``api.backup.stores``) and the key target (``keys_target`` / ``s3_keys_bucket``, default
``<target>-keys``; keys are kept apart from the data, with a shorter retention, so that
erasure wins over backups) hold::

    pool/<sha[:2]>/<sha>                     stored bytes of an object, by their SHA-256
                                             (ciphertext for sealed objects: never plain)
    generations/<gen>/records.sqlite3        consistent copy of the records (SQLite backup API)
    generations/<gen>/manifest.json          every object: key, stored sha256 and size,
                                             content type, metadata, the content digest
    generations/<gen>/summary.json           counts and bytes of the run (the operators'
                                             page reads it instead of the manifest)
    generations/<gen>/manifest.sha256        SHA-256 of manifest.json, written last
                                             (an erasure rewrites a generation without the
                                             scope's records: records-<sha>.sqlite3 and
                                             manifest-<sha>.json, which manifest.sha256
                                             then names; ``api.backup.erased``)
    erasures.jsonl                           every erasure ever made (never shrinks)
    backup.lock                              while a backup runs: who, where, since when
    <keys>/generations/<gen>/{keyring,keys.sqlite3,audit-key,bonds-key,manifest.*}

One backup writes into a target at a time (``api.backup.lock``: ``backup.lock`` in the data
and in the key target; a second run is refused at once, a dead run's lock taken over).

A generation is listed only once its ``manifest.sha256`` exists (written last, deleted first
when pruned), so an interrupted run leaves no generation; the next run removes its partial
files and finds the pool objects it had already copied (resumable, on both targets).
Objects are incremental: an object whose key, stored size and recorded digest are those of the
previous generation is not read again, and content already in the pool (one listing of the
pool per run) is not copied again; the cost of a backup after one change is one listing plus
the changed bytes.

Consistency: objects are listed once before and once after the records snapshot, so every
object a snapshot record refers to (written before its record commits) is in the generation,
unless deleted in the moment between the snapshot and the second listing (``kura scrub``
after a restore names such an object).

Records and a key store on MongoDB are not copied here (the manifests say so): dump them with
``mongodump --oplog`` beside this command (docs/operations.md); objects and the key files
are backed up the same way on every backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from api.backup.stores import BackupStore, FolderStore, bucket_store
from api.config import Settings
from api.container import Container, build_blobs
from api.keys.ring import KEY_SCOPES
from api.kit.faults import park
from storage.errors import NotFound
from storage.ports import BlobStore

FORMAT = "kura-backup/1"
KEYS_FORMAT = "kura-key-backup/1"
GEN_FORMAT = "%Y%m%dT%H%M%SZ"
SUMMARY = "summary.json"
SUMMARY_FORMAT = "kura-backup-summary/1"
CHUNK = 1 << 20
S3 = "s3://"


class BackupError(Exception):
    """A backup or restore that cannot go on (wrong target, damaged generation, non-empty
    restore target): nothing was changed that should not be."""


@dataclass(frozen=True)
class Target:
    """The data store and the key store of a backup (a folder or a bucket each)."""

    data: BackupStore
    keys: BackupStore

    @classmethod
    def of(
        cls, settings: Settings, root: Path | str | None = None, keys: Path | str | None = None
    ) -> Target:
        """From ``--to`` / ``--keys-to`` (a folder or ``s3://bucket``) or the settings."""
        b = settings.backup
        data_at: Path | str | None = root
        if data_at is None:
            data_at = f"{S3}{b.s3_bucket}" if b.s3_bucket else b.target
        if data_at is None:
            raise BackupError(
                "no backup target: pass --to (a folder or s3://bucket) or set "
                "KURA_BACKUP__TARGET or KURA_BACKUP__S3_BUCKET"
            )
        keys_at: Path | str | None = keys
        if keys_at is None:
            if isinstance(data_at, str) and data_at.startswith(S3):
                if root is None and b.s3_keys_bucket:
                    keys_at = f"{S3}{b.s3_keys_bucket}"
                else:
                    keys_at = f"{data_at}-keys"
            elif root is None and b.keys_target is not None:
                keys_at = b.keys_target
            else:
                folder = Path(data_at).resolve()
                keys_at = folder.with_name(f"{folder.name}-keys")
        data_store = _store(settings, data_at, keys=False)
        key_store = _store(settings, keys_at, keys=True)
        if isinstance(data_store, FolderStore) and isinstance(key_store, FolderStore):
            d, k = data_store.root, key_store.root
            if k == d or d in k.parents or k in d.parents:
                raise BackupError("keys must be backed up apart from the data (another folder)")
        if data_store.describe() == key_store.describe():
            raise BackupError("keys must be backed up apart from the data (another bucket)")
        return cls(data_store, key_store)

    async def open(self) -> None:
        await self.data.open()
        await self.keys.open()

    async def close(self) -> None:
        await self.data.close()
        await self.keys.close()


def _store(settings: Settings, at: Path | str, *, keys: bool) -> BackupStore:
    if isinstance(at, str) and at.startswith(S3):
        bucket = at[len(S3) :].strip("/")
        if not bucket or "/" in bucket:
            raise BackupError(f"{at}: give a bucket name (s3://bucket)")
        return bucket_store(settings, bucket)
    path = Path(at).resolve()
    if settings.data_dir.resolve() in (path, *path.parents):
        raise BackupError(f"backup target {path} is inside the data folder")
    return FolderStore(path, 0o700 if keys else None)


def pool_name(sha: str) -> str:
    return f"pool/{sha[:2]}/{sha}"


@dataclass(frozen=True)
class BackupResult:
    generation: str
    objects: int
    copied: int
    copied_bytes: int
    reused: int
    pruned: tuple[str, ...]
    pruned_keys: tuple[str, ...]
    # generation -> erased scopes whose records were removed from it now (api.backup.erased)
    erased: dict[str, list[str]] = field(default_factory=dict)
    # generation -> why its erasures could not be applied (the next run retries)
    erase_failed: dict[str, str] = field(default_factory=dict)


def list_generations(folder: Path) -> list[str]:
    """Complete generations in a folder target's ``generations`` folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "manifest.sha256").is_file()
    )


async def generations(store: BackupStore) -> list[str]:
    """Complete generations of a store (their ``manifest.sha256`` exists), oldest first."""
    names = await store.names("generations/")
    return sorted(
        n.split("/")[1] for n in names if n.count("/") == 2 and n.endswith("/manifest.sha256")
    )


def sha_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


async def sha_stored(store: BackupStore, name: str) -> str:
    digest = hashlib.sha256()
    async for block in store.stream(name):
        digest.update(block)
    return digest.hexdigest()


MANIFEST = "manifest.json"


async def manifest_name(store: BackupStore, gen: str) -> str:
    """The manifest file ``manifest.sha256`` names (``manifest.json``, or the
    ``manifest-<sha>.json`` of a generation rewritten by an erasure, ``api.backup.erased``)."""
    try:
        line = (await store.read_bytes(f"generations/{gen}/manifest.sha256")).split()
    except OSError as exc:
        raise BackupError(f"generation {gen}: manifest missing ({exc})") from exc
    name = line[1].decode() if len(line) > 1 else MANIFEST
    if "/" in name or not name.startswith("manifest"):
        raise BackupError(f"generation {gen}: manifest.sha256 names {name!r}")
    return name


async def read_manifest(store: BackupStore, gen: str) -> dict[str, Any]:
    """A generation's manifest (the file ``manifest.sha256`` names), checked against its
    recorded SHA-256."""
    try:
        name = await manifest_name(store, gen)
        recorded = (await store.read_bytes(f"generations/{gen}/manifest.sha256")).split()[0]
        raw = await store.read_bytes(f"generations/{gen}/{name}")
    except (OSError, IndexError) as exc:
        raise BackupError(f"generation {gen}: manifest missing ({exc})") from exc
    if hashlib.sha256(raw).hexdigest() != recorded.decode():
        raise BackupError(f"generation {gen}: manifest does not match its SHA-256")
    data: dict[str, Any] = json.loads(raw)
    return data


def _manifest_raw(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode()


async def _write_manifest(store: BackupStore, gen: str, data: dict[str, Any]) -> None:
    """The manifest, then its SHA-256: from that moment the generation is complete."""
    raw = _manifest_raw(data)
    await store.put_bytes(f"generations/{gen}/{MANIFEST}", raw)
    line = f"{hashlib.sha256(raw).hexdigest()}  {MANIFEST}\n".encode()
    await store.put_bytes(f"generations/{gen}/manifest.sha256", line)


async def write_manifest_as(store: BackupStore, gen: str, data: dict[str, Any]) -> str:
    """Replace a complete generation's manifest: the new one under a name of its own
    (``manifest-<sha[:16]>.json``), then ``manifest.sha256`` naming it, one atomic write that
    switches from the old complete manifest to the new one (``api.backup.erased``). Returns
    the new name; the caller deletes the old file."""
    raw = _manifest_raw(data)
    sha = hashlib.sha256(raw).hexdigest()
    name = f"manifest-{sha[:16]}.json"
    await store.put_bytes(f"generations/{gen}/{name}", raw)
    park("backup.erased_manifest")
    await store.put_bytes(f"generations/{gen}/manifest.sha256", f"{sha}  {name}\n".encode())
    return name


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
    """Write a generation into ``target``; ``BackupLocked`` at once while another backup
    writes there (``api.backup.lock``: one lock in the data target, one in the key target)."""
    from api.backup.lock import BackupLock

    stale_s = c.settings.backup.lock_stale_s
    await target.open()
    try:
        async with (
            BackupLock(target.data, c.clock, stale_s).held(),
            BackupLock(target.keys, c.clock, stale_s).held(),
        ):
            with tempfile.TemporaryDirectory(prefix="kura-backup-") as work:
                return await _backup(c, target, Path(work))
    finally:
        await target.close()


async def _partial(store: BackupStore, complete: list[str]) -> dict[str, list[str]]:
    """Files of generations that never completed (an interrupted run), by generation."""
    done = set(complete)
    out: dict[str, list[str]] = {}
    for name in await store.names("generations/"):
        gen = name.split("/")[1]
        if gen not in done:
            out.setdefault(gen, []).append(name)
    return out


async def _backup(c: Container, target: Target, work: Path) -> BackupResult:
    settings = c.settings
    now = c.clock.now()
    previous = await generations(target.data)
    key_previous = await generations(target.keys)
    # An interrupted run's files: never listed; removed now (its pool objects are reused).
    for store, done in ((target.data, previous), (target.keys, key_previous)):
        for names in (await _partial(store, done)).values():
            for name in names:
                await store.delete(name)
    base = gen = now.strftime(GEN_FORMAT)
    n = 0
    while gen in previous or gen in key_previous:
        n += 1
        gen = f"{base}-{n}"
    prev_entries: dict[str, dict[str, Any]] = {}
    if previous:
        with contextlib.suppress(BackupError):
            manifest = await read_manifest(target.data, previous[-1])
            prev_entries = {e["key"]: e for e in manifest["objects"]}
    pool = {name.rsplit("/", 1)[-1] for name in await target.data.names("pool/")}

    raw = build_blobs(settings)  # the stored bytes as they are: ciphertext stays ciphertext
    await raw.open()
    stats = {"copied": 0, "bytes": 0, "reused": 0}
    entries: dict[str, dict[str, Any]] = {}
    copy = _Copier(raw, target.data, pool, work)
    records = work / "records.sqlite3"
    try:
        await _objects(raw, copy, prev_entries, entries, stats)
        # Erasures finished before the snapshot: their records are not in it.
        erased_before = await _finished_erasures(c)
        if settings.records.backend == "sqlite":
            await asyncio.to_thread(sqlite_copy, settings.sqlite_path, records)
        await _objects(raw, copy, prev_entries, entries, stats, only_new=True)
    finally:
        await raw.close()
    if records.exists():
        records_sha = await asyncio.to_thread(sha_file, records)
        await target.data.put_file(f"generations/{gen}/records.sqlite3", records)
        records.unlink()
        record_entry: dict[str, Any] = {"file": "records.sqlite3", "sha256": records_sha}
    else:
        # Records on MongoDB are dumped with `mongodump --oplog` beside this run
        # (docs/operations.md); a restore expects them restored first.
        record_entry = {"file": None, "backend": "mongodb", "with": "mongodump --oplog"}
    await _backup_keys(c, target.keys, gen, work)
    await merge_ledger(c, target.data)
    await target.data.put_bytes(
        f"generations/{gen}/{SUMMARY}",
        json.dumps(
            {
                "format": SUMMARY_FORMAT,
                "generation": gen,
                "created_at": now.isoformat(),
                "kind": "incremental" if previous else "full",
                "previous": previous[-1] if previous else None,
                "records": record_entry.get("file") is not None,
                "objects": len(entries),
                "bytes": sum(int(e["size"]) for e in entries.values()),
                "copied": stats["copied"],
                "copied_bytes": stats["bytes"],
                "reused": stats["reused"],
            },
            sort_keys=True,
        ).encode(),
    )
    await _write_manifest(
        target.data,
        gen,
        {
            "format": FORMAT,
            "generation": gen,
            "created_at": now.isoformat(),
            "previous": previous[-1] if previous else None,
            "records": record_entry,
            "blobs_backend": settings.blobs.backend,
            "objects": [entries[k] for k in sorted(entries)],
            "erasures_applied": erased_before,
        },
    )
    policy = settings.backup
    pruned = await prune(
        target.data,
        keep_set(
            [*previous, gen],
            policy.keep_daily,
            policy.keep_weekly,
            policy.keep_monthly,
            policy.keep_last,
        ),
    )
    # The records of every erasure of the ledger, gone from the older generations too.
    from api.backup.erased import apply_erasures

    erased = await apply_erasures(c, target.data)
    await collect_pool(target.data)
    keys_gens = await generations(target.keys)
    pruned_keys = await prune(target.keys, set(keys_gens[-policy.keep_keys :]))
    return BackupResult(
        gen,
        len(entries),
        stats["copied"],
        stats["bytes"],
        stats["reused"],
        tuple(pruned),
        tuple(pruned_keys),
        erased.done,
        erased.failed,
    )


async def _finished_erasures(c: Container) -> list[str]:
    """Scopes whose erasure is ``done`` (its records gone from the live records)."""
    from api.keys.erasure import DONE, ERASURES
    from storage.query import Eq

    return sorted({str(r["id"]) async for r in c.records.scan(ERASURES, (Eq("state", DONE),))})


@dataclass
class _Copier:
    """Copies an object's stored bytes into the pool by their SHA-256 (through a local temp
    file: the name is known only once the bytes were read)."""

    raw: BlobStore
    store: BackupStore
    pool: set[str]
    work: Path

    async def __call__(self, key: str) -> tuple[str | None, int]:
        """(sha256, size) of the stored bytes, copied when new; (None, 0) if it vanished."""
        part = self.work / os.urandom(8).hex()
        digest = hashlib.sha256()
        size = 0
        try:
            # A command-line process of its own: blocking writes do not stall anyone.
            with open(part, "wb") as f:  # noqa: ASYNC230
                async for chunk in self.raw.get(key):
                    digest.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            sha = digest.hexdigest()
            if sha not in self.pool:
                await self.store.put_file(pool_name(sha), part)
                self.pool.add(sha)
                park("backup.pool_put")
            return sha, size
        except NotFound:
            return None, 0
        finally:
            part.unlink(missing_ok=True)


async def _objects(
    raw: BlobStore,
    copy: _Copier,
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
            and old["sha256"] in copy.pool
        ):
            entries[info.key] = old
            stats["reused"] += 1
            continue
        sha, size = await copy(info.key)
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


async def _backup_keys(c: Container, store: BackupStore, gen: str, work: Path) -> None:
    """The keyring (when the KEK is not in an HSM), the wrapped data keys, the audit key and
    the bonds' signing key, into the key target (0700 / 0600 on a folder); the manifest names
    the KEK's ids."""
    settings = c.settings
    files: dict[str, str] = {}
    sources: dict[str, Path] = {}
    if settings.keys.kek == "keyring":
        sources["keyring"] = settings.keyring_path
    # else the KEK never leaves its HSM: back it up with the HSM's own means (docs/operations.md)
    store_path = settings.keyring_path.with_name(f"{settings.keyring_path.name}.keys.sqlite3")
    on_sqlite = (settings.keys.store or settings.records.backend) == "sqlite"
    if on_sqlite and store_path.exists():  # on MongoDB: its own database, mongodump'd apart
        copy = work / "keys.sqlite3"
        await asyncio.to_thread(sqlite_copy, store_path, copy)
        sources["keys.sqlite3"] = copy
    for name, path in (
        ("audit-key", settings.audit_key_path),
        ("bonds-key", settings.bonds_key_path),
    ):
        if path.exists():
            sources[name] = path
    for name, path in sources.items():
        files[name] = await asyncio.to_thread(sha_file, path)
        await store.put_file(f"generations/{gen}/{name}", path)
    (work / "keys.sqlite3").unlink(missing_ok=True)
    port = c.keys.port
    kek = {"adapter": port.name, "where": port.where(), "ids": port.ids()}
    data = {"format": KEYS_FORMAT, "generation": gen, "files": files, "kek": kek}
    if not on_sqlite:
        data["key_store"] = {"backend": "mongodb", "with": "mongodump --oplog"}
    await _write_manifest(store, gen, data)


async def merge_ledger(c: Container, store: BackupStore) -> None:
    """Add every destroyed scope of the key store to the erasure ledger of the target."""
    ledger = await read_ledger(store)
    known = {e["scope"] for e in ledger}
    new = [
        {
            "scope": record["id"],
            "destroyed_at": record["destroyed_at"],
            "by": record.get("destroyed_by"),
            "keys": record.get("destroyed_keys") or [],
        }
        async for record in c.keys.store.scan(KEY_SCOPES)
        if record.get("destroyed_at") and record["id"] not in known
    ]
    if new:
        await _write_ledger(store, [*ledger, *new])


LEDGER = "erasures.jsonl"


def _ledger_lines(entries: Iterable[dict[str, Any]]) -> bytes:
    return "".join(
        json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries
    ).encode()


def _parse_ledger(raw: bytes) -> list[dict[str, Any]]:
    out = []
    for line in raw.decode("utf-8").splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


async def read_ledger(store: BackupStore) -> list[dict[str, Any]]:
    try:
        return _parse_ledger(await store.read_bytes(LEDGER))
    except FileNotFoundError:
        return []


async def _write_ledger(store: BackupStore, entries: list[dict[str, Any]]) -> None:
    if isinstance(store, FolderStore):
        # Appended in place (``append_ledger``): an erasure recorded meanwhile is never lost.
        path = store.path(LEDGER)
        have = {e["scope"] for e in _parse_ledger(path.read_bytes())} if path.exists() else set()
        for entry in entries:
            if entry["scope"] not in have:
                append_ledger(path, entry)
        return
    await store.put_bytes(LEDGER, _ledger_lines(entries))


async def note_erasure(settings: Settings, entry: dict[str, Any]) -> None:
    """Record an erasure in the ledger of the configured backup target (folder or bucket),
    so a restore of an older generation re-applies it."""
    if settings.backup.target is None and not settings.backup.s3_bucket:
        return
    target = Target.of(settings)
    await target.data.open()
    try:
        ledger = await read_ledger(target.data)
        if all(e.get("scope") != entry["scope"] for e in ledger):
            await _write_ledger(target.data, [*ledger, entry])
    finally:
        await target.data.close()


def append_ledger(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


async def prune(store: BackupStore, keep: set[str]) -> list[str]:
    """Delete the complete generations not in ``keep``: the manifest's SHA-256 first, so a
    generation half deleted is never listed."""
    gone = [g for g in await generations(store) if g not in keep]
    for gen in gone:
        await store.delete(f"generations/{gen}/manifest.sha256")
        for name in await store.names(f"generations/{gen}/"):
            await store.delete(name)
    return gone


async def collect_pool(store: BackupStore) -> int:
    """Delete pool objects no remaining generation refers to."""
    used: set[str] = set()
    for gen in await generations(store):
        try:
            manifest = await read_manifest(store, gen)
        except BackupError:
            return 0  # never delete content while a manifest cannot be read
        used.update(e["sha256"] for e in manifest["objects"])
    removed = 0
    for name in await store.names("pool/"):
        if name.rsplit("/", 1)[-1] not in used:
            await store.delete(name)
            removed += 1
    return removed
