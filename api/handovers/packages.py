"""Generated 電子納品 packages (seed 001 §4): made by a job from the work (``collect`` →
``builder``), written as a ZIP, checked by the same validator as ``kura validate`` (§2.2 rules,
profile from the 要領: MLIT or 農水), kept in the blob store with the report.

``handover_packages`` records: ``queued`` → ``running`` → ``done`` (with ``counts`` of the
findings, ``notes`` of the generation, the ZIP's key, size and SHA-256) or ``failed`` (with the
reason). A package can be handed over only when it is done and has no error: neither an E
finding nor an E note (``blocking``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from api.archive.cas import ContentStore
from api.archive.zipstream import ZipWriter
from api.audit.service import AuditLog
from api.container import Container
from api.errors import KuraError
from api.handovers import collect
from api.handovers.builder import Built, build
from api.handovers.config import work_config
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import Subject
from indexer.extract.deliverable import WorkExpect, ZipTree, validate_tree
from storage.ports import IndexSpec
from storage.query import Eq, Query, Record

log = logging.getLogger("kura.handovers")

PACKAGES = "handover_packages"
PACKAGE_INDEXES = [IndexSpec((("work_id", 1), ("created_at", 1)))]
GENERATE_TASK = "handovers.generate"
MAX_FINDINGS = 500


def blob_key(record: Record) -> str:
    """Where a generated package is kept: the work's collaboration data (erased with it)."""
    return f"{scopes.prefix(scopes.collab(str(record['work_id'])))}handover/{record['id']}.zip"


def blocking(record: Record) -> int:
    """Errors that keep the package from being handed over: E findings and E notes."""
    counts = record.get("counts") or {}
    notes = [n for n in record.get("notes") or [] if n.get("level") == "E"]
    return int(counts.get("E", 0)) + len(notes)


async def request(container: Container, subject: Subject, work: Record) -> Record:
    """Queue a package of the work (permission is the caller's)."""
    now = to_iso(container.clock.now())
    record: Record = {
        "id": new_id(),
        "work_id": work["id"],
        "state": "queued",
        "requested_by": subject.user_id,
        "created_at": now,
    }
    async with container.uow() as uow:
        stored = await container.records.insert(PACKAGES, record)
        await AuditLog(container.records, container.clock).record(
            subject, "handovers.package_requested", f"{PACKAGES}/{record['id']}", after=stored
        )
        uow.enqueue(GENERATE_TASK, package_id=record["id"])
    return stored


async def latest(container: Container, work_id: str, limit: int = 10) -> list[Record]:
    page = await container.records.find(
        PACKAGES,
        Query(where=(Eq("work_id", work_id),), sort=(("created_at", -1), ("id", -1)), limit=limit),
    )
    return page.items


async def _save(container: Container, package_id: str, changes: Record) -> Record:
    current = await container.records.get(PACKAGES, package_id)
    assert current is not None
    return await container.records.update(PACKAGES, package_id, changes, current["version"])


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write_zip(container: Container, built: Built, path: Path) -> None:
    """The entries as a ZIP file (streamed from the content store, STORED: the documents are
    mostly PDF and JPEG already compressed)."""
    cas = ContentStore(container.records, container.blobs, container.clock)
    writer = ZipWriter()
    async with await anyio.open_file(path, "wb") as out:
        for entry in built.entries:
            if entry.is_dir:
                await out.write(writer.directory(entry.path + "/"))
                continue
            if entry.data is not None:
                chunks, size = _once(entry.data), len(entry.data)
            else:
                blob = await cas.get(entry.scope, str(entry.sha256))
                chunks, size = cas.open(blob), int(blob["size"])
            async for chunk in writer.file(entry.path, chunks, size):
                await out.write(chunk)
        await out.write(writer.finish())


def _validate(path: Path, expect: WorkExpect) -> Any:
    with zipfile.ZipFile(path) as zf:
        return validate_tree(ZipTree(zf), None, expect=expect)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as f:
        while chunk := await f.read(1 << 20):
            yield chunk


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def run(container: Container, package_id: str) -> Record | None:
    """The job: build, write, check and keep the package. Idempotent: a finished package is
    left as it is. A failure is recorded on the package, never retried blindly."""
    record = await container.records.get(PACKAGES, package_id)
    if record is None or record.get("state") in ("done", "failed"):
        return record
    await _save(
        container, package_id, {"state": "running", "started_at": to_iso(container.clock.now())}
    )
    work = await container.records.get("works", str(record["work_id"]))
    tmp = container.settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"handover-{package_id}.zip"
    try:
        if work is None:
            raise KuraError("案件が見つかりません。")
        config = await work_config(container, work)
        info = await collect.work_info(container, work, config)
        folders = await collect.mapped_folders(container, str(work["id"]))
        proposals = await collect.decided_proposals(container, str(work["id"]))
        built = build(info, folders, proposals)
        await write_zip(container, built, path)
        org = await container.records.get("organizations", str(work.get("orderer_org_id") or ""))
        expect = WorkExpect(
            title=work.get("title"),
            number=work.get("number"),
            orderer_name=(org or {}).get("name"),
            orderer_code=(org or {}).get("code"),
        )
        report = await asyncio.to_thread(_validate, path, expect)
        sha = await asyncio.to_thread(_sha256, path)
        size = path.stat().st_size
        key = blob_key(record)
        await container.blobs.put(key, _file_chunks(path), content_type="application/zip")
        changes: Record = {
            "state": "done",
            "finished_at": to_iso(container.clock.now()),
            "blob_key": key,
            "size": size,
            "sha256": sha,
            "standard": info.standard,
            "index_kind": info.kind,
            "profile": report.profile,
            "edition": report.edition,
            "counts": report.counts,
            "findings": [f.to_dict() for f in report.findings[:MAX_FINDINGS]],
            "notes": [n.to_dict() for n in built.notes],
            "files": sum(1 for e in built.entries if not e.is_dir),
            "folders": built.folders,
            "proposals": len(proposals),
            "config": {k: v for k, v in config.items() if k not in ("chosen", "version")},
        }
        async with container.uow():
            stored = await _save(container, package_id, changes)
            await AuditLog(container.records, container.clock).record(
                "system:handovers",
                "handovers.package_generated",
                f"{PACKAGES}/{package_id}",
                after={"counts": report.counts, "sha256": sha, "size": size},
                detail={"work_id": work["id"], "blocking": blocking(stored)},
            )
        return stored
    except Exception as exc:
        detail = (
            exc.detail if isinstance(exc, KuraError) else "電子納品データを作成できませんでした。"
        )
        if not isinstance(exc, KuraError):
            log.exception("package %s failed", package_id)
        return await _save(
            container,
            package_id,
            {"state": "failed", "error": detail, "finished_at": to_iso(container.clock.now())},
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def summary(record: Record) -> dict[str, Any]:
    """The package as lists show it (no findings)."""
    keys = (
        "id",
        "work_id",
        "state",
        "created_at",
        "finished_at",
        "requested_by",
        "size",
        "sha256",
        "standard",
        "profile",
        "edition",
        "index_kind",
        "counts",
        "files",
        "folders",
        "proposals",
        "error",
    )
    out = {k: record.get(k) for k in keys}
    out["blocking"] = blocking(record) if record.get("state") == "done" else None
    out["notes"] = record.get("notes") or []
    return out
