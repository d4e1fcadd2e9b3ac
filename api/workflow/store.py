"""The append-only decision log and the proposal record kept as its fold.

``append`` runs one transition inside the caller's unit of work: it builds the event (next
sequence number, actor, instant, JST day), folds it with ``machine.apply`` (refusals become
409/403/400), replaces the proposal record under its version (two approvers acting at once:
one wins, the other gets 409 ``stale_version`` and nothing of theirs is stored), inserts the
event (unique per proposal and sequence number) and appends the audit event
(``proposals.<kind>``). ``rebuild`` folds the stored events again: the decided proposal
rebuilt from its history (tested against the stored record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.kit.clock import to_iso
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from api.proposals.indexing import index_proposal
from api.proposals.models import PROPOSALS, proposal_acl
from api.workflow import machine
from api.workflow.dates import jst_day
from api.workflow.errors import refused
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query

if TYPE_CHECKING:
    from api.container import Container

EVENTS = "workflow_events"
EVENT_INDEXES = [
    IndexSpec((("proposal_id", 1), ("seq", 1)), unique=True),
    IndexSpec((("work_id", 1), ("at", 1))),
]
# Fields of the record that are bookkeeping, not part of the fold.
BOOKKEEPING = frozenset({"version", "acl", "number", "work_title", "orderer_org_id", "title_sort"})


async def ensure_indexes(records: RecordStore) -> None:
    await records.ensure_indexes(EVENTS, EVENT_INDEXES)


def event_id(proposal_id: str, seq: int) -> str:
    return f"{proposal_id}:{seq:06d}"


class EventStore:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.clock = container.clock

    async def append(
        self,
        uow: UnitOfWork,
        subject: Subject,
        before: Mapping[str, Any] | None,
        kind: machine.E,
        data: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fold one event into the proposal and store both; returns (record, event).

        ``before`` is None for ``created`` (``data`` then carries the proposal's id, work
        and content). ``expected_version``: the version the client saw (409 if stale).
        ``extra``: bookkeeping fields to set on the record (number, work_title, ...)."""
        now = self.clock.now()
        seq = int((before or {}).get("last_event") or 0) + 1
        proposal_id = str((before or data)["id"])
        work_id = str((before or data)["work_id"])
        event: dict[str, Any] = {
            "id": event_id(proposal_id, seq),
            "proposal_id": proposal_id,
            "work_id": work_id,
            "seq": seq,
            "kind": kind.value,
            "actor_id": subject.user_id,
            "at": to_iso(now),
            "on": jst_day(now).isoformat(),
            "data": dict(data),
        }
        try:
            after = machine.apply(before or {}, event)
        except machine.TransitionRefused as exc:
            raise refused(exc) from exc
        after.update(extra or {})
        after["acl"] = proposal_acl(after)
        if before is None:
            after.pop("version", None)
            stored = await uow.records.insert(PROPOSALS, after)
        else:
            version = expected_version if expected_version is not None else int(before["version"])
            after["version"] = version
            stored = await uow.records.replace(PROPOSALS, after, version)
        await uow.records.insert(EVENTS, event)
        await index_proposal(uow, before, stored)
        await AuditLog(uow.records, self.clock).record(
            subject,
            f"proposals.{kind.value}",
            f"{PROPOSALS}/{proposal_id}",
            before=before,
            after=stored,
            detail={"seq": seq, **_audit_detail(kind, data)},
        )
        return stored, event

    async def events(self, proposal_id: str) -> list[dict[str, Any]]:
        """The proposal's events, oldest first."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = await self.container.records.find(
                EVENTS,
                Query(
                    where=(Eq("proposal_id", proposal_id),),
                    sort=(("seq", 1),),
                    limit=1000,
                    cursor=cursor,
                ),
            )
            out.extend(page.items)
            cursor = page.next_cursor
            if not cursor:
                return out

    async def rebuild(self, proposal_id: str) -> dict[str, Any]:
        """The proposal folded again from its stored events (no bookkeeping fields)."""
        return machine.replay(await self.events(proposal_id))


def projection(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record without its bookkeeping: what ``rebuild`` must reproduce."""
    return {k: v for k, v in record.items() if k not in BOOKKEEPING}


def _audit_detail(kind: machine.E, data: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("step", "user_id", "via", "to", "field", "old", "new", "delegation_id", "revision")
    return {"kind": kind.value, **{k: data[k] for k in keep if k in data}}
