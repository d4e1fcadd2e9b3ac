"""Who hears of billing events: the staff of the party holding ``billing.manage``.

Notifications go through the shared notifier (in-app bell and mail by each user's
preferences), idempotent per (kind, source, recipient), so a job run twice tells once. Mails
never carry an ID or a password (seed 001 別表3 2(1)); they say where to look.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.billing.permissions import GRANT
from api.kit.uow import current_uow
from storage.query import Eq

if TYPE_CHECKING:
    from api.container import Container


async def billing_staff(container: Container, org_id: str) -> list[str]:
    """Active users of the organization who hold ``billing.manage``."""
    users = [
        u
        async for u in container.records.scan("users", (Eq("org_id", org_id),))
        if u.get("status", "active") == "active"
    ]
    if not users:
        return []
    ids = [f"{u['id']}:{GRANT}" for u in users]
    held = {g["user_id"] for g in await container.records.get_many("grants", ids)}
    return sorted(u["id"] for u in users if u["id"] in held)


async def notify_org(
    container: Container,
    *,
    org_id: str,
    kind: str,
    source: str,
    title: str,
    url: str,
    context: dict[str, object] | None = None,
    importance: str = "normal",
) -> int:
    """Notify the organization's billing staff inside the current unit of work."""
    uow = current_uow()
    if uow is None:
        raise RuntimeError("notify_org needs an open unit of work")
    recipients = await billing_staff(container, org_id)
    return await container.notifier().notify(
        uow,
        kind=kind,
        recipients=recipients,
        source=source,
        title=title,
        url=url,
        importance=importance,
        context={"title": title, **(context or {})},
    )
