"""Resumable (tus) and multipart uploads."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.uploads import service
from api.uploads.router import router


async def _schema(container: Container) -> None:
    await service.ensure_indexes(container.records)


MODULE = Module(
    "uploads",
    routers=(router,),
    ensure_schema=_schema,
    beat={
        # Expired tus uploads and orphaned append targets.
        "uploads-expire": {"task": "uploads.expire", "schedule": 15 * 60.0},
    },
)
