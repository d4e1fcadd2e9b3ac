"""Erasure of a scope (issue 12 §1 last bullet, §2; seed 001 §3-6, 別表3 12(1)(2); seed 003
受託者向け情報セキュリティ遵守事項 3(3): 引渡し後はデータの消去又は暗号鍵を削除する等の対応により、
保存した機密データが復元困難となる措置を講じること).

``erase`` runs these steps, each recorded on the scope's ``erasures`` record (id: the scope)
before the next starts, so an erasure interrupted anywhere finishes on the next run (the CLI,
the job ``erasures.finish`` sent again by the job sweeper, or the hourly ``erasures.run_due``
beat, which resumes every unfinished one without a live job) and is never half-applied from a
user's point of view. ``erase`` runs every step in the calling process (the CLI, the beat,
disposal, the hand-over); the API runs steps 1-2 in the request (``destroy_key``, answering
once the scope is unreadable) and steps 3-5 in the job (``finish``):

1. ``running``: a work under legal hold (for ``o-`` scopes: any work the organization orders)
   is refused (409 ``legal_hold``) before anything is touched. From this mark on the scope
   takes no new data (``api.keys.fence``). Not checked again once the key is gone: an
   erasure that destroyed the key always finishes.
2. ``key_destroyed``: the scope's data keys are destroyed (``ScopeKeyRing.destroy``, in
   milliseconds): from that moment nothing the scope ever stored can be decrypted, wherever a
   copy lies (the blob store, a backup generation of the data, a disk taken away), because the
   only wrapped copies of the keys are gone from the key store. Reading a file answers 410.
3. ``records_erased``: every record of the scope goes in one unit of work (all or none;
   ``api.erasures.records``: posts, proposals, nodes, bonds, invoices, …).
4. the search documents whose record is gone are removed (``sweep_index``, both backends).
5. ``done``: the scope's objects and open uploads are deleted (and any record a write admitted
   just before the fence committed since step 3), the erasure is audited
   (``keys.destroyed``: counts, never content) in the same unit as the ``done`` mark, and the
   backups' erasure ledger names the scope (a restore re-applies steps 2-4). With a backup
   target configured, the ``done`` mark commits with the job ``erasures.backups``, which
   removes the scope's records from the records file of every data backup generation
   (``api.backup.erased``; in the worker, never in a request; ``kura keys erase`` runs it in
   its own process; what it cannot do the next ``kura backup`` does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.keys import scopes
from api.keys.ring import Destroyed
from api.kit.clock import to_iso
from api.kit.faults import park
from api.works.lifecycle import LegalHoldActive
from api.works.models import WORKS
from storage.query import Eq, Record

if TYPE_CHECKING:
    from api.container import Container

ERASURES = "erasures"
# States of an ``erasures`` record, in order; ``scheduled`` is set by the planner (a date).
SCHEDULED = "scheduled"
RUNNING = "running"
KEY_DESTROYED = "key_destroyed"
RECORDS_ERASED = "records_erased"
DONE = "done"
UNFINISHED = (RUNNING, KEY_DESTROYED, RECORDS_ERASED)


@dataclass(frozen=True)
class Erased:
    destroyed: Destroyed
    objects: int
    uploads: int
    reason: str = ""
    event_seq: int = 0  # the audit event ``keys.destroyed`` (its keyed hash signs the erasure)
    event_hash: str = ""
    records: dict[str, int] = field(default_factory=dict)
    index: int = 0


# What a person calls each kind of scope (people see names, never the scope's id).
PART_NAMES = {
    scopes.COLLAB: "情報共有データ",
    scopes.ARCHIVE: "電子成果品（保管）",
    scopes.ORG: "組織のデータ",
}


def _hold_detail(scope: str, work: Record) -> str:
    part = PART_NAMES[scopes.parse(scope)[0]]
    return (
        f"工事・業務「{work.get('title') or work['id']}」は法的保全（リーガルホールド）中のため、"
        f"{part}を消去できません。保全を解除してから消去してください。"
    )


async def ensure_erasable(container: Container, scope: str) -> None:
    """Refuse (409 ``legal_hold``) a scope whose work, or for ``o-`` any work the organization
    orders, is under a legal hold (issue 12 "Bad input": erasing a scope under legal hold)."""
    kind, owner = scopes.parse(scope)
    if kind == scopes.ORG:
        async for work in container.records.scan(WORKS, (Eq("orderer_org_id", owner),)):
            if work.get("legal_hold"):
                raise LegalHoldActive(_hold_detail(scope, work), scope=scope, work_id=work["id"])
        return
    found = await container.records.get(WORKS, owner)
    if found is not None and found.get("legal_hold"):
        raise LegalHoldActive(_hold_detail(scope, found), scope=scope, work_id=owner)


async def erasure_record(container: Container, scope: str) -> Record | None:
    return await container.records.get(ERASURES, scope)


async def _mark(container: Container, scope: str, changes: dict[str, Any]) -> Record:
    current = await container.records.get(ERASURES, scope)
    if current is None:
        return await container.records.insert(ERASURES, {"id": scope, "scope": scope, **changes})
    return await container.records.update(ERASURES, scope, changes, int(current["version"]))


def _added(first: dict[str, Any] | None, then: dict[str, int]) -> dict[str, int]:
    total = {str(k): int(v) for k, v in (first or {}).items()}
    for name, n in then.items():
        total[name] = total.get(name, 0) + n
    return total


FINISH_TASK = "erasures.finish"
# The job that removes an erased scope's records from the backup generations.
BACKUPS_TASK = "erasures.backups"


async def destroy_key(
    container: Container, scope: str, by: str, reason: str = "", *, as_job: bool = False
) -> Record:
    """Steps 1-2 of ``erase``: refuse a scope under legal hold, mark the erasure ``running``
    (the write fence, ``api.keys.fence``, holds from here), destroy the scope's keys and
    mark ``key_destroyed``; returns the erasure record. ``as_job``: the mark and the job
    ``erasures.finish`` that runs steps 3-5 commit together (the transactional outbox), so a
    worker killed anywhere leaves a job the sweeper restarts (and the hourly beat resumes
    every unfinished erasure besides)."""
    scopes.parse(scope)  # ValueError for anything that is not a scope
    previous = await erasure_record(container, scope) or {}
    if await container.keys.destroyed(scope) is None:
        try:
            await ensure_erasable(container, scope)
        except LegalHoldActive:
            if previous.get("state") == SCHEDULED:
                await _mark(container, scope, {"held_on": to_iso(container.clock.now())})
            raise
    reason = reason or str(previous.get("reason") or "")
    if previous.get("state") in (None, SCHEDULED):
        await _mark(
            container,
            scope,
            {
                "state": RUNNING,
                "by": by,
                "reason": reason,
                "started_at": to_iso(container.clock.now()),
                "finished_at": None,
            },
        )
    destroyed = await container.keys.destroy(scope, by)
    park("erasure.key_destroyed")
    changes: dict[str, Any] = {
        "state": KEY_DESTROYED,
        "key_ids": list(destroyed.key_ids),
        "destroyed_at": destroyed.destroyed_at,
    }
    if not as_job:
        return await _mark(container, scope, changes)
    async with container.uow() as uow:
        changes["job_id"] = uow.enqueue(FINISH_TASK, scope=scope)
        return await _mark(container, scope, changes)


async def erase(container: Container, scope: str, by: str, reason: str = "") -> Erased:
    """Erase ``scope`` (see the module docstring) in this process; resumes an interrupted
    erasure (the CLI, the beat, the job ``erasures.finish``, disposal, the hand-over)."""
    record = await destroy_key(container, scope, by, reason)
    return await finish(container, scope, record)


async def finish(container: Container, scope: str, record: Record) -> Erased:
    """Steps 3-5 of an erasure whose keys are destroyed (``record``: its ``erasures``
    record, state ``key_destroyed`` or later)."""
    from api.erasures.records import erase_scope_records, sweep_index

    by = str(record.get("by") or "system:erasures")
    reason = str(record.get("reason") or "")
    # The first completion is the one the certificate signs; a finished erasure run again
    # (``event_seq`` set) keeps its account and adds what it found.
    again = bool(record.get("event_seq"))
    # Every object of the scope counts, also those its records' erasure releases and deletes
    # itself (the content of files and attachments), which the sweep of step 5 no longer finds
    held = {info.key async for info in container.blobs.list(scopes.prefix(scope))}
    counts = await erase_scope_records(container, scope)
    records = _added(record.get("records"), counts)
    park("erasure.records_erased")
    await _mark(container, scope, {"state": RECORDS_ERASED, "records": records})
    index = await sweep_index(container, scope)
    keys = [info.key async for info in container.blobs.list(scopes.prefix(scope))]
    for key in keys:
        await container.blobs.delete(key)
    objects = len(held | set(keys))
    uploads = 0
    handles = [
        h async for h in container.blobs.append_handles() if scopes.scope_of_handle(h) == scope
    ]
    for handle in handles:
        await container.blobs.append_abort(handle)
        uploads += 1
    # A write admitted just before the fence went up and committed after step 3: its
    # records go now (nothing of the scope is left behind, api.keys.fence).
    late = await erase_scope_records(container, scope)
    if any(late.values()):
        counts = _added(counts, late)
        records = _added(records, late)
    key_ids = [str(k) for k in record.get("key_ids") or ()]
    destroyed = Destroyed(
        scope,
        tuple(key_ids),
        str(record.get("destroyed_at") or ""),
        by,
        already=again,
    )
    async with container.uow() as uow:
        event = await AuditLog(uow.records, container.clock).record(
            by,
            "keys.destroyed",
            f"key_scopes/{scope}",
            detail={
                "keys": key_ids,
                "objects": objects,
                "uploads": uploads,
                "records": counts,
                "index": index,
                "reason": reason,
                "already": again,
            },
        )
        finished: dict[str, Any] = {
            "state": DONE,
            "records": records,
            "objects": int(record.get("objects") or 0) + objects,
            "uploads": int(record.get("uploads") or 0) + uploads,
            "index": int(record.get("index") or 0) + index,
        }
        if not again:
            finished |= {
                "finished_at": to_iso(container.clock.now()),
                "event_seq": int(event["seq"]),
                "event_hash": str(event.get("hash") or ""),
            }
        b = container.settings.backup
        if b.target is not None or b.s3_bucket:
            # the scope's records out of the backup generations' records files, in a job of
            # its own (off any request; committed with the mark: api.backup.erased)
            uow.enqueue(BACKUPS_TASK, scope=scope)
        done = await _mark(container, scope, finished)
    checkpoint = getattr(container.records, "checkpoint", None)
    if checkpoint is not None:
        # SQLite: deleted rows are overwritten (secure_delete); drop their older page
        # versions from the write-ahead log too
        await checkpoint()
    if not again:
        # The backups' erasure ledger: a restore of an older generation re-applies it.
        from api.backup.generations import note_erasure

        entry = {
            "scope": scope,
            "destroyed_at": destroyed.destroyed_at,
            "by": by,
            "keys": key_ids,
        }
        try:
            await note_erasure(container.settings, entry)
        except Exception as exc:  # the keys are gone already; the next backup adds it too
            logging.getLogger("kura.keys").error(
                "erasure of %s not written to the backups' ledger (the next `kura backup` "
                "adds it from the key store): %s",
                scope,
                exc,
            )
    return Erased(
        destroyed,
        objects,
        uploads,
        reason,
        int(done.get("event_seq") or event["seq"]),
        str(done.get("event_hash") or event.get("hash") or ""),
        records,
        index,
    )
