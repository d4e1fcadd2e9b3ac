"""Create every collection's secondary indexes at start.

Statutory master data (業種) is seeded on first use instead, with its audit event.

Called by ``Container.open`` outside any transaction (MongoDB refuses index creation inside
one). Each step is idempotent, so every process (API, worker, CLI) may run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.container import Container


async def ensure_schema(container: Container) -> None:
    from api.archive import nodes
    from api.archive.indexing import PENDING, PENDING_INDEXES
    from api.audit.service import AuditLog
    from api.auth import sessions
    from api.deliverables import imports, package
    from api.grants.service import GrantService
    from api.organizations.repository import OrganizationRepository
    from api.uploads import service as uploads
    from api.users import repository as users
    from api.works.repository import WorkRepository

    records = container.records
    await users.ensure_indexes(records)
    await sessions.ensure_indexes(records)
    await OrganizationRepository(records).ensure_indexes()
    await GrantService(records, container.uow, container.policy, container.clock).ensure_indexes()
    await WorkRepository(records).ensure_indexes()
    await AuditLog(records, container.clock).ensure_indexes()
    await nodes.ensure_indexes(records)
    await uploads.ensure_indexes(records)
    await records.ensure_indexes(PENDING, PENDING_INDEXES)
    await imports.ensure_indexes(records)
    await package.ensure_indexes(records)
