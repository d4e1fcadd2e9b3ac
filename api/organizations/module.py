"""Organizations, offices and function grants (seed 001 別表1-1 8(3))."""

from __future__ import annotations

from api.container import Container
from api.grants.service import GrantService
from api.modules import Module
from api.organizations.repository import OrganizationRepository
from api.organizations.router import router


async def _schema(container: Container) -> None:
    await OrganizationRepository(container.records).ensure_indexes()
    await GrantService(
        container.records, container.uow, container.policy, container.clock
    ).ensure_indexes()


MODULE = Module("organizations", routers=(router,), ensure_schema=_schema)
