"""Which organizations an audit event concerns, so that audit reads stay in one's own
organization (issue 7 item 1).

Every event records ``org_ids`` when it is appended: the actor's organization and the
organization(s) the target belongs to. A holder of ``audit.read`` lists and exports the events
whose ``org_ids`` hold their organization; operators read everything. Events appended before
this field existed have none and are shown to operators only (adding it afterwards would
change their hash and break the chain, see ``docs/architecture.md``).

The target's organization comes from the states the caller passes (``org_id`` of users,
grants, offices, memberships; ``orderer_org_id`` of works; ``work_id`` of nodes, uploads and
memberships, resolved to the work's orderer) and, when they name none, from the target record
itself (``"<collection>/<id>"``, read inside the same transaction). A work's events belong to
its orderer; a contractor's own actions on it carry the contractor through the actor.
Master data of every organization (positions, business types, the global calendar and mail
templates) concerns no organization: only operators read those events.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from api.permissions.policy import Subject
from storage.errors import InvalidQuery
from storage.ports import RecordStore

FIELD = "org_ids"
WORKS = "works"
ORGANIZATIONS = "organizations"
# Collections whose events concern no single organization (global master data).
GLOBAL = frozenset({"positions", "business_types", "calendar_days", "mail_templates"})


def _states(*states: Any) -> Iterable[dict[str, Any]]:
    for state in states:
        if isinstance(state, dict):
            yield state


async def _from_state(records: RecordStore, state: dict[str, Any], out: set[str]) -> bool:
    """Add the organizations a record state names; True when it named any."""
    found = False
    for key in ("org_id", "orderer_org_id"):
        value = state.get(key)
        if isinstance(value, str) and value:
            out.add(value)
            found = True
    work_id = state.get("work_id")
    if isinstance(work_id, str) and work_id and "orderer_org_id" not in state:
        orderer = await _orderer(records, work_id)
        if orderer:
            out.add(orderer)
            found = True
    return found


# A work's orderer never changes (``WorkUpdate`` has no such field), so it is remembered per
# store: an import of 100,000 files appends 100,000 events about one work.
_ORDERERS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_ORDERERS_MAX = 10_000


async def _orderer(records: RecordStore, work_id: str) -> str | None:
    try:
        known = _ORDERERS.setdefault(records, {})
    except TypeError:  # a store that cannot be weakly referenced: no memo
        known = {}
    if work_id in known:
        return known[work_id]
    work = await records.get(WORKS, work_id)
    orderer = work.get("orderer_org_id") if work else None
    if not isinstance(orderer, str) or not orderer:
        return None
    if len(known) >= _ORDERERS_MAX:
        known.clear()
    known[work_id] = orderer
    return orderer


async def event_org_ids(
    records: RecordStore,
    actor: Subject | str | None,
    target: str,
    before: Any = None,
    after: Any = None,
    detail: dict[str, Any] | None = None,
) -> list[str]:
    """The sorted organization ids an event about ``target`` concerns (see module doc)."""
    out: set[str] = set()
    if isinstance(actor, Subject) and actor.org_id:
        out.add(actor.org_id)
    collection, _, record_id = target.partition("/")
    if collection in GLOBAL:
        return sorted(out)
    if collection == ORGANIZATIONS and record_id and record_id != "*":
        out.add(record_id)
        return sorted(out)
    named = False
    for state in _states(after, before, detail):
        named = await _from_state(records, state, out) or named
    if not named and record_id and record_id not in ("*", "unknown"):
        try:
            record = await records.get(collection, record_id)
        except InvalidQuery:
            record = None  # not a collection name: nothing to resolve
        if record is not None:
            if collection == WORKS:
                record = {"orderer_org_id": record.get("orderer_org_id")}
            await _from_state(records, record, out)
    return sorted(out)
