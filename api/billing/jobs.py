"""The bodies of billing's beat jobs (``workers/tasks/billing.py`` calls them).

Each is idempotent and catches up on what it missed (see ``api.billing.runs`` and
``api.billing.agreements``), so running it twice, or after days of downtime, does each thing
once. Tests call them with a fixed clock across fiscal-year boundaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from api.billing.accounts import Accounts
from api.billing.agreements import Agreements
from api.billing.runs import RunInProgress, Runs

if TYPE_CHECKING:
    from api.container import Container

ACTOR = "system:billing"


async def renew(container: Container) -> dict[str, int]:
    """Renewals by the clause, ends of terminated terms."""
    return await Agreements(container).roll_terms()


async def notices(container: Container) -> dict[str, int]:
    """Stop notices after terminations (様式情運-8), next year's fees (様式情運-3)."""
    return {
        "stop_notices": await Agreements(container).issue_stop_notices(),
        "fee_notices": await Runs(container).fee_notices(),
    }


async def remind(container: Container) -> dict[str, int]:
    return {"reminders": await Runs(container).reminders()}


async def invoice_run(container: Container) -> dict[str, Any]:
    try:
        results = await Runs(container).catch_up(ACTOR)
    except RunInProgress:
        return {"skipped": "run in progress"}
    return {str(fy): r for fy, r in results.items()}


async def issue_ids(container: Container) -> dict[str, int]:
    return {"rosters": await Accounts(container).issue_rosters()}


async def daily(container: Container) -> dict[str, Any]:
    """Every job in order (renewals first: a renewed term is billed by the run)."""
    return {
        "renew": await renew(container),
        "issue_ids": await issue_ids(container),
        "notices": await notices(container),
        "invoice_run": await invoice_run(container),
        "remind": await remind(container),
    }
