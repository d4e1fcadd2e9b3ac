"""The hash-chained audit trail."""

from __future__ import annotations

from api.audit.router import router
from api.audit.service import AuditLog
from api.container import Container
from api.modules import Module


async def _schema(container: Container) -> None:
    await AuditLog(container.records, container.clock).ensure_indexes()


MODULE = Module("audit", routers=(router,), ensure_schema=_schema)
