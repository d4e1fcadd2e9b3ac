"""In-app notifications and mail preferences."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.notifications import service
from api.notifications.router import router


async def _schema(container: Container) -> None:
    await service.ensure_indexes(container.records)


MODULE = Module("notifications", routers=(router,), ensure_schema=_schema)
