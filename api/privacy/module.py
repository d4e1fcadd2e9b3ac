"""The personal-data warning (seed 001 §3-2): identifiers in a file's text, warned and recorded."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.privacy.router import router
from api.privacy.service import CHECK_INDEXES, CHECKS
from api.works.lifecycle import register_work_records


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(CHECKS, CHECK_INDEXES)


register_work_records(CHECKS)

MODULE = Module("privacy", routers=(router,), ensure_schema=_schema)
