"""The bulk path of an import: a batch of new files placed with a handful of record operations.

``NodeService.add_file`` spends about eleven record operations on each file (folder and path
lookups, the content record, the node, an audit event and the chain head, one job). A batch of
files that land on free paths (the import's preflight found nothing there and its folders
exist) needs none of the lookups, so ``place_batch`` does per *batch*:

- one ``get_many`` of the content records, one ``insert_many`` of the new ones (a content
  repeated in the batch is one record with its count), one update per content already stored;
- one ``insert_many`` of the file nodes (the same fields ``add_file`` writes);
- one audit event ``files.imported`` on ``imports/<id>``: its ``after_digest`` covers every
  node record of the batch, its ``detail`` gives the count, bytes and a SHA-256 of the paths,
  so the chain still says exactly what was added;
- one ``ingest.files`` job with the batch's node ids.

All in the caller's unit of work. A path taken meanwhile by someone else raises
``DuplicateKey`` and the caller places that batch file by file instead (renames, conflicts).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.archive.cas import OutsideScope
from api.archive.models import BLOBS, NODES, IngestState, NodeKind, blob_id, sort_name
from api.archive.nodes import NodeService
from api.keys import scopes
from api.kit.clock import to_iso
from api.kit.ids import new_ids
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from storage.ports import BlobInfo
from storage.query import Record

INGEST_BATCH_TASK = "ingest.files"


@dataclass(frozen=True)
class NewFile:
    """A file to place on a free path: its folder's id (the work id at the root)."""

    parent_id: str
    path: str
    name: str
    depth: int
    info: BlobInfo


def paths_digest(paths: Sequence[str]) -> str:
    """SHA-256 over the paths, one per line, in the order given."""
    return hashlib.sha256("\n".join(paths).encode()).hexdigest()


async def place_batch(
    nodes: NodeService,
    actor: Subject | str | None,
    work: Record,
    files: Sequence[NewFile],
    *,
    uow: UnitOfWork,
    import_id: str,
) -> list[Record]:
    """Place ``files`` (objects already written under the work's archive scope, on free
    paths) as file nodes; returns the node records. Call inside ``uow`` after checking
    ``files.write``."""
    if not files:
        return []
    records = nodes.records
    now = to_iso(nodes.clock.now())
    scope = scopes.archive(str(work["id"]))
    counts: Counter[str] = Counter(str(f.info.sha256) for f in files)
    ids = [blob_id(scope, sha) for sha in counts]
    stored = {str(b["sha256"]) for b in await records.get_many(BLOBS, ids)}
    fresh: dict[str, Record] = {}
    for f in files:
        sha = str(f.info.sha256)
        if sha in stored or sha in fresh:
            # The same content is kept already: this copy is never referenced.
            uow.after_commit(nodes.cas.deleter(f.info.key))
            continue
        if scopes.scope_of_key(f.info.key) != scope:
            raise OutsideScope(f"object {f.info.key!r} is not in scope {scope!r}")
        fresh[sha] = {
            "id": blob_id(scope, sha),
            "scope": scope,
            "sha256": sha,
            "key": f.info.key,
            "size": f.info.size,
            "refs": counts[sha],
            "created_at": now,
            "verified_at": now,
        }
    await records.insert_many(BLOBS, list(fresh.values()))
    for sha in sorted(stored):
        await nodes.cas.incref(scope, sha, counts[sha])
    actor_id = actor.user_id if isinstance(actor, Subject) else actor
    placed: list[Record] = [
        {
            "id": node_id,
            "work_id": work["id"],
            "parent_id": f.parent_id,
            "kind": NodeKind.FILE.value,
            "name": f.name,
            "sort_name": sort_name(f.name),
            "path": f.path,
            "depth": f.depth,
            "size": f.info.size,
            "sha256": f.info.sha256,
            "scope": scope,
            "content_type": "",
            "declared_type": "",
            "ingest": {"state": IngestState.QUEUED.value, "reason": None},
            "meta": {"import_id": import_id},
            "created_at": now,
            "updated_at": now,
            "created_by": actor_id,
        }
        for f, node_id in zip(files, new_ids(len(files)), strict=True)
    ]
    await records.insert_many(NODES, placed)
    detail: dict[str, Any] = {
        "work_id": work["id"],
        "files": len(placed),
        "bytes": sum(f.info.size for f in files),
        "new_contents": len(fresh),
        "first": placed[0]["path"],
        "last": placed[-1]["path"],
        "paths_sha256": paths_digest([str(n["path"]) for n in placed]),
    }
    await nodes.audit.record(
        actor, "files.imported", f"imports/{import_id}", after=placed, detail=detail
    )
    uow.enqueue(INGEST_BATCH_TASK, node_ids=[str(n["id"]) for n in placed])
    return placed
