"""The hash-chained, keyed audit trail with signed checkpoints (issue 7 item 6)."""

from __future__ import annotations

from api.audit.router import router
from api.audit.service import AuditLog
from api.container import Container
from api.modules import Module


async def _schema(container: Container) -> None:
    await AuditLog(container.records, container.clock).ensure_indexes()


MODULE = Module(
    "audit",
    routers=(router,),
    ensure_schema=_schema,
    beat={
        # A signed checkpoint of the audit chain's head in the blob store (api.audit.checkpoints).
        "audit-checkpoint": {"task": "audit.checkpoint", "schedule": 60 * 60.0},
    },
)
