"""Sign-in, sessions and tokens (issue 2)."""

from __future__ import annotations

from api.auth import sessions
from api.auth.router import router
from api.container import Container
from api.modules import Module


async def _schema(container: Container) -> None:
    await sessions.ensure_indexes(container.records)


MODULE = Module("auth", routers=(router,), ensure_schema=_schema)
