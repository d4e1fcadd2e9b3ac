"""The uploaded ZIP of an import is kept as the import's source, not as a document of the work
(issue 8 §2): once its import has finished (done, or refused), the ZIP's node leaves the
work's tree and the ``imports`` record holds its content instead (``source_file``: the SHA-256,
size and name), downloadable from the import record (``GET /imports/{id}/source``).

The content's reference moves from the node to the record in one unit of work, so its
``blobs`` count is unchanged; disposing of the work releases it with the record
(``api.works.lifecycle``). A work under a legal hold keeps the node where it is (a hold blocks
removing any node).
"""

from __future__ import annotations

from typing import Any

from api.archive.models import NODES, NodeKind, content_scope
from api.audit.service import AuditLog
from api.container import Container
from api.deliverables.imports import IMPORTS
from storage.errors import StaleVersion
from storage.query import Record

_RETRIES = 5


def source_file(record: Record) -> dict[str, Any] | None:
    value = record.get("source_file")
    return dict(value) if isinstance(value, dict) and value.get("sha256") else None


async def keep_source(container: Container, import_id: str, node_id: str) -> bool:
    """Move the uploaded ZIP ``node_id`` from the tree to import ``import_id``; False when it
    stays (gone already, under a legal hold, or the record is gone)."""
    records = container.records
    for _ in range(_RETRIES):
        node = await records.get(NODES, node_id)
        record = await records.get(IMPORTS, import_id)
        if node is None or record is None or node.get("kind") != NodeKind.FILE:
            return False
        if not node.get("sha256") or source_file(record) is not None:
            return False
        work = await records.get("works", str(node["work_id"]))
        if work is None or work.get("legal_hold"):
            return False
        kept = {
            "sha256": str(node["sha256"]),
            "scope": content_scope(node),
            "size": int(node.get("size") or 0),
            "name": str(node["name"]),
            "path": str(node["path"]),
            "content_type": str(node.get("content_type") or "application/zip"),
        }
        try:
            async with container.uow() as uow:
                await records.delete(NODES, node_id, int(node["version"]))
                await records.update(
                    IMPORTS, import_id, {"source_file": kept}, int(record["version"])
                )
                await AuditLog(records, container.clock).record(
                    "system:deliverables",
                    "deliverables.source_kept",
                    f"{IMPORTS}/{import_id}",
                    before={"node": node_id},
                    after={"source_file": kept},
                    detail={"work_id": str(node["work_id"]), "path": kept["path"]},
                )
                uow.unindex(node_id)
        except StaleVersion:
            continue
        return True
    return False
