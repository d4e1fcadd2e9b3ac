"""The works registry (案件): works, members, status and lifecycle."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.works.repository import WorkRepository
from api.works.router import router


async def _schema(container: Container) -> None:
    await WorkRepository(container.records).ensure_indexes()


MODULE = Module("works", routers=(router,), ensure_schema=_schema)
