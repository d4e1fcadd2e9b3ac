"""Schedules (seed 001 別表1-1 7, 別表1-2 7): personal entries, the supervisor's view over
works, iCalendar import (a job) and export (feeds with their own tokens)."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.schedules import months
from api.schedules.models import (
    ENTRIES,
    ENTRY_INDEXES,
    FEED_INDEXES,
    FEEDS,
    IMPORT_INDEXES,
    IMPORTS,
)
from api.schedules.permissions import ScheduleRules
from api.schedules.router import router
from api.schedules.router_feeds import router as feeds_router
from api.schedules.router_imports import router as imports_router


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(ENTRIES, ENTRY_INDEXES)
    await container.records.ensure_indexes(IMPORTS, IMPORT_INDEXES)
    await container.records.ensure_indexes(FEEDS, FEED_INDEXES)
    await container.records.ensure_indexes(months.MONTHS, months.MONTH_INDEXES)


MODULE = Module(
    "schedules",
    routers=(router, imports_router, feeds_router),
    ensure_schema=_schema,
    rules={"schedules": ScheduleRules()},
)
