"""Files attached to records of any module."""

from __future__ import annotations

from api.attachments import service
from api.attachments.router import router, tus_router
from api.container import Container
from api.modules import Module


async def _schema(container: Container) -> None:
    await service.ensure_indexes(container.records)


MODULE = Module(
    "attachments",
    routers=(tus_router, router),
    ensure_schema=_schema,
    beat={
        # Attachments uploaded but never attached to a post, proposal, ...
        "attachments-sweep": {"task": "attachments.sweep", "schedule": 60 * 60.0},
    },
)
