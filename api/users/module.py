"""User administration (seed 001 別表1-1 8(1)(2))."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.users import repository
from api.users.router import router


async def _schema(container: Container) -> None:
    await repository.ensure_indexes(container.records)


MODULE = Module("users", routers=(router,), ensure_schema=_schema)
