"""電子納品 packages: intake of ZIPs and folders, validation, reports."""

from __future__ import annotations

from api.container import Container
from api.deliverables import imports, package
from api.deliverables.permissions import DeliverableRules
from api.deliverables.router import router
from api.deliverables.router_checks import router as checks_router
from api.modules import Module
from api.works.lifecycle import register_work_records

# A disposed work takes its check results and import records with it (issue 8 item 12).
register_work_records(package.DELIVERABLES, imports.IMPORTS)


async def _schema(container: Container) -> None:
    await imports.ensure_indexes(container.records)
    await package.ensure_indexes(container.records)


MODULE = Module(
    "deliverables",
    routers=(router, checks_router),
    ensure_schema=_schema,
    rules={"deliverables": DeliverableRules()},
)
