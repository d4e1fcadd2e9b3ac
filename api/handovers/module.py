"""Electronic delivery and hand-over (seed 001 §4, §3-6; seed 000): packages generated from the
work and checked, the transfer to the archive, the erasure of the collaboration copy."""

from __future__ import annotations

from api.consistency import register_blob_refs
from api.container import Container
from api.handovers.board import erase_board
from api.handovers.config import CONFIGS
from api.handovers.erasure import register_eraser
from api.handovers.notices import erase_notifications
from api.handovers.packages import PACKAGE_INDEXES, PACKAGES
from api.handovers.permissions import HandoverRules
from api.handovers.router import router
from api.handovers.router_settings import router as settings_router
from api.handovers.schedules import erase_schedules
from api.handovers.service import HANDOVER_INDEXES, HANDOVERS
from api.keys import scopes
from api.modules import Module
from api.works.lifecycle import register_work_records
from storage.query import Record


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(PACKAGES, PACKAGE_INDEXES)
    await container.records.ensure_indexes(HANDOVERS, HANDOVER_INDEXES)


def _package_keys(record: Record) -> list[str]:
    return [str(record["blob_key"])] if record.get("blob_key") else []


# kura check: every generated ZIP belongs to a package record, and the other way round.
register_blob_refs(PACKAGES, _package_keys, scopes.PREFIX, scopes.in_area("handover"))
# A disposed work takes its hand-over records with it.
register_work_records(PACKAGES, HANDOVERS, CONFIGS)
# The erasure takes the work's bulletin board, schedule entries and notifications with the rest
# of the collaboration copy (§3-6).
register_eraser(erase_board)
register_eraser(erase_schedules)
register_eraser(erase_notifications)

MODULE = Module(
    "handovers",
    routers=(router, settings_router),
    ensure_schema=_schema,
    beat={
        # §3-6 / 別表3 12(1): remind before, erase on the contract's date.
        "handovers-erase-due": {"task": "handovers.erase_due", "schedule": 60 * 60.0},
    },
    rules={"handovers": HandoverRules()},
)
