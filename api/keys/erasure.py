"""Erasure of a scope (issue 12 §2; seed 001 §3-6, 別表3 12; seed 003 遵守事項 (3)).

``erase`` first destroys the scope's data keys (``ScopeKeyRing.destroy``): from that moment
nothing the scope ever stored can be decrypted, wherever a copy lies (the blob store, a backup
generation of the data, a disk taken away), because the only wrapped copies of the keys are
gone from the key store. It then deletes the scope's objects and open uploads (the background
part) and records the erasure in the audit chain. A work under legal hold is refused
(``LegalHoldActive``) before anything is touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.audit.service import AuditLog
from api.keys import scopes
from api.keys.ring import Destroyed
from api.works.lifecycle import ensure_no_hold
from api.works.models import WORKS

if TYPE_CHECKING:
    from api.container import Container


@dataclass(frozen=True)
class Erased:
    destroyed: Destroyed
    objects: int
    uploads: int
    reason: str = ""
    event_seq: int = 0  # the audit event ``keys.destroyed`` (its keyed hash signs the erasure)
    event_hash: str = ""


async def erase(container: Container, scope: str, by: str, reason: str = "") -> Erased:
    """Destroy ``scope``'s keys, then delete its objects and uploads; audited."""
    scopes.parse(scope)  # ValueError for anything that is not a scope
    work_id = scopes.work_of(scope)
    if work_id is not None:
        work = await container.records.get(WORKS, work_id)
        if work is not None:
            ensure_no_hold(work)
    destroyed = await container.keys.destroy(scope, by)
    objects = 0
    keys = [info.key async for info in container.blobs.list(scopes.prefix(scope))]
    for key in keys:
        await container.blobs.delete(key)
        objects += 1
    uploads = 0
    handles = [
        h async for h in container.blobs.append_handles() if scopes.scope_of_handle(h) == scope
    ]
    for handle in handles:
        await container.blobs.append_abort(handle)
        uploads += 1
    async with container.uow() as uow:
        event = await AuditLog(uow.records, container.clock).record(
            by,
            "keys.destroyed",
            f"key_scopes/{scope}",
            detail={
                "keys": list(destroyed.key_ids),
                "objects": objects,
                "uploads": uploads,
                "reason": reason,
                "already": destroyed.already,
            },
        )
    if not destroyed.already:
        # The backups' erasure ledger: a restore of an older generation re-applies it.
        from api.backup.generations import note_erasure

        entry = {
            "scope": scope,
            "destroyed_at": destroyed.destroyed_at,
            "by": by,
            "keys": list(destroyed.key_ids),
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
        destroyed, objects, uploads, reason, int(event["seq"]), str(event.get("hash") or "")
    )
