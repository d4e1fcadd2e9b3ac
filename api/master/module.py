"""Master data: positions, 業種, mail templates, the business calendar (seed 001 別表1-1 8(4)).
Global layer by operators, per-organization overrides of calendar days and mail templates."""

from __future__ import annotations

from api.container import Container
from api.master import days
from api.master.router import router
from api.modules import Module


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(days.ORG_CALENDAR_DAYS, days.INDEXES)


MODULE = Module("master", routers=(router,), ensure_schema=_schema)
