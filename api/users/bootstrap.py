"""First run: an operator organization and an ``admin`` user (issue 2 item 10)."""

from __future__ import annotations

from api.audit.service import AuditLog
from api.container import Container
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.users.schemas import UserCreate
from api.users.service import UserService
from storage.query import Eq, Query

ADMIN_LOGIN_ID = "admin"
OPERATOR_ORG_NAME = "運用管理者"


async def operator_org(container: Container, actor: str) -> str:
    """The id of an operator organization, created when there is none."""
    page = await container.records.find(
        "organizations", Query(where=(Eq("kind", "operator"),), limit=1)
    )
    if page.items:
        return str(page.items[0]["id"])
    now = to_iso(container.clock.now())
    org = {
        "id": new_id(),
        "kind": "operator",
        "name": OPERATOR_ORG_NAME,
        "created_at": now,
        "updated_at": now,
    }
    async with container.uow():
        await container.records.insert("organizations", org)
        await AuditLog(container.records, container.clock).record(
            actor, "organizations.created", f"organizations/{org['id']}", after=org
        )
    return str(org["id"])


async def ensure_operator(container: Container) -> str | None:
    """If no user exists, create the operator organization and ``admin`` with a one-time
    password (changed at first login) and return that password; otherwise None."""
    service = UserService.of(container)
    if await service.repo.any_exists():
        return None
    org_id = await operator_org(container, "system:bootstrap")
    data = UserCreate(login_id=ADMIN_LOGIN_ID, name="管理者", org_id=org_id)
    _, password = await service.create_as("system:bootstrap", data)
    return password
