"""Lists of proposals (seed 001 別表1-1 4(4)-(7), 別表1-2 4(4)-(7)(13)).

- one work's proposals (4(4)): the approval state of each;
- a supervisor's list over all or chosen works (4(5)) with 工事名, タイトル, 承認・閲覧状況,
  回答希望日, 受付日, 回答予定日, 回答日 (4(6)), filtered and sorted (4(7));
- the inbox: what waits for me across works, as the approver, viewer, post-reviewer, deputy
  (inside the delegation's window) or proposer of a send-back.

The record store answers them (indexed equality, ranges, sorts and keyset pages on the
denormalised ``acl``/``waiting`` arrays); a text query goes to the search index first (its acl
filter inside the index), whose ids the store then filters and sorts. The inbox count is
``count`` over the very conditions of the inbox list, so the two never disagree (the
Discourse complaint of module-anchors §1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.errors import NotAuthenticated, ValidationFailed
from api.kit.ids import is_id
from api.master.days import load_calendar
from api.permissions.policy import Subject, WorkRole
from api.proposals.models import (
    DOC_TYPE,
    PROPOSALS,
    SORT_FIELDS,
    org_principal,
    user_principal,
    work_principal,
)
from api.workflow import machine
from api.workflow.dates import business_days_left, jst_day
from api.workflow.delegations import DelegationService
from api.works.indexing import ARCHIVE_ROLES
from api.works.models import MEMBERS
from indexer.query import SearchQuery
from storage.query import Condition, Eq, In, Query, Range

if TYPE_CHECKING:
    from api.container import Container

TEXT_LIMIT = 1000  # a text query narrows to at most this many best matches


@dataclass
class ListFilters:
    work_ids: Sequence[str] = ()
    states: Sequence[str] = ()
    form_id: str | None = None
    importance: str | None = None
    q: str | None = None
    overdue: bool = False
    date_field: str | None = None  # one of the list's date columns
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "updated_at"
    order: str = "desc"
    limit: int = 50
    cursor: str | None = None


@dataclass
class ListPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None = None
    truncated: bool = False
    names: dict[str, Any] = field(default_factory=dict)


DATE_FIELDS = (
    "proposed_on",
    "requested_answer_date",
    "received_on",
    "planned_answer_date",
    "answered_on",
    "decided_on",
)


class ProposalLists:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock

    async def principals(self, subject: Subject) -> tuple[str, ...] | None:
        """The ``acl`` principals the subject holds (None: operators, no filter; drafts are
        then excluded by the caller)."""
        if subject.is_operator:
            return None
        out = [user_principal(subject.user_id)]
        if subject.org_id and subject.grants & {"works.read_org", "works.manage"}:
            out.append(org_principal(subject.org_id))
        cursor: str | None = None
        members: list[dict[str, Any]] = []
        while True:
            page = await self.records.find(
                MEMBERS,
                Query(where=(Eq("user_id", subject.user_id),), limit=1000, cursor=cursor),
            )
            members += page.items
            cursor = page.next_cursor
            if not cursor:
                break
        works = {
            w["id"]: w
            for w in await self.records.get_many("works", [str(m["work_id"]) for m in members])
        }
        for member in members:
            work = works.get(str(member["work_id"]))
            if work is None or member.get("role") == WorkRole.ARCHIVE_READER.value:
                continue
            if work.get("status") == "archived" and member.get("role") not in ARCHIVE_ROLES:
                continue
            out.append(work_principal(str(member["work_id"])))
        return tuple(out)

    def _where(self, f: ListFilters, principals: tuple[str, ...] | None) -> list[Condition]:
        where: list[Condition] = []
        if principals is not None:
            where.append(In("acl", principals))
        else:
            where.append(Range("revision", gte=1))  # operators: never a private draft
        if f.work_ids:
            if len(f.work_ids) > 500 or not all(is_id(w) for w in f.work_ids):
                raise ValidationFailed("案件の指定が正しくありません。", field="work_ids")
            where.append(In("work_id", tuple(f.work_ids)))
        if f.states:
            bad = [s for s in f.states if s not in machine.S.__members__.values()]
            if bad:
                raise ValidationFailed("状態の指定が正しくありません。", field="state")
            where.append(In("state", tuple(f.states)))
        if f.form_id:
            where.append(Eq("form_id", f.form_id))
        if f.importance:
            where.append(Eq("importance", f.importance))
        today = jst_day(self.clock.now()).isoformat()
        if f.overdue:
            # 回答希望日 passed without an answer.
            where.append(Range("requested_answer_date", lt=today))
            where.append(In("state", (machine.S.IN_REVIEW.value,)))
        if f.date_field:
            if f.date_field not in DATE_FIELDS:
                raise ValidationFailed("日付の種類が正しくありません。", field="date_field")
            if f.date_from or f.date_to:
                where.append(Range(f.date_field, gte=f.date_from, lte=f.date_to))
        return where

    def _sort(self, f: ListFilters) -> tuple[tuple[str, Any], ...]:
        if f.sort not in SORT_FIELDS:
            raise ValidationFailed("並べ替えの項目が正しくありません。", field="sort")
        return ((f.sort, 1 if f.order == "asc" else -1),)

    async def _text_ids(
        self, subject: Subject, f: ListFilters, principals: Any
    ) -> tuple[list[str], bool]:
        query = SearchQuery(
            text=f.q or "",
            types=(DOC_TYPE,),
            filters={"work_id": tuple(f.work_ids)} if f.work_ids else {},
            acl=principals,
            limit=TEXT_LIMIT,
        )
        result = await self.container.index.search(query)
        return [hit.id for hit in result.hits], result.total > TEXT_LIMIT

    async def cross_work(self, subject: Subject | None, f: ListFilters) -> ListPage:
        """Every proposal the subject reads, of all or the chosen works (4(5)-(7))."""
        if subject is None:
            raise NotAuthenticated()
        principals = await self.principals(subject)
        where = self._where(f, principals)
        truncated = False
        if f.q:
            ids, truncated = await self._text_ids(subject, f, principals)
            if not ids:
                return ListPage([], None, 0)
            where.append(In("id", tuple(ids)))
        page = await self.records.find(
            PROPOSALS, Query(where=tuple(where), sort=self._sort(f), limit=f.limit, cursor=f.cursor)
        )
        # No count across works: it would read every matching record (100,000 for a
        # supervisor of every work); the page and its cursor are what the list needs.
        return ListPage(await self.rows(subject, page.items), page.next_cursor, None, truncated)

    async def of_work(self, subject: Subject | None, work_id: str, f: ListFilters) -> ListPage:
        """One work's proposals (4(4)); its drafts only for their proposer."""
        from api.proposals.access import Access

        await Access(self.container).work(subject, work_id)
        assert subject is not None
        f.work_ids = (work_id,)
        return await self.cross_work(subject, f)

    async def inbox_where(self, subject: Subject) -> list[Condition]:
        """What waits for the subject: their own marks and those of approvers who named them
        deputy, inside the window (4(21))."""
        delegations = await DelegationService(self.container).active_for_deputy(subject.user_id)
        users = {subject.user_id, *(str(d["principal_id"]) for d in delegations)}
        return [In("waiting", tuple(sorted(users)))]

    async def inbox(self, subject: Subject | None, f: ListFilters) -> ListPage:
        if subject is None:
            raise NotAuthenticated()
        where = await self.inbox_where(subject)
        if f.work_ids:
            where.append(In("work_id", tuple(f.work_ids)))
        sort = self._sort(f)
        page = await self.records.find(
            PROPOSALS, Query(where=tuple(where), sort=sort, limit=f.limit, cursor=f.cursor)
        )
        total = await self.records.count(PROPOSALS, where)
        return ListPage(await self.rows(subject, page.items), page.next_cursor, total)

    async def inbox_count(self, subject: Subject | None) -> int:
        if subject is None:
            raise NotAuthenticated()
        return await self.records.count(PROPOSALS, await self.inbox_where(subject))

    async def rows(self, subject: Subject, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """List rows with names (people see names, never ids) and what each waits for."""
        user_ids: set[str] = set()
        for p in items:
            user_ids.add(str(p["proposer_id"]))
            for step in p.get("route") or []:
                user_ids.update(step["assignees"])
        users = {u["id"]: u for u in await self.records.get_many("users", sorted(user_ids))}
        works = {
            w["id"]: w
            for w in await self.records.get_many(
                "works", sorted({str(p["work_id"]) for p in items})
            )
        }
        # Each work's deadlines follow its orderer's calendar.
        calendars = {
            org: await load_calendar(self.records, org)
            for org in {
                str(w["orderer_org_id"]) if w.get("orderer_org_id") else None
                for w in works.values()
            }
        }
        today = jst_day(self.clock.now())
        delegations = await DelegationService(self.container).active_for_deputy(subject.user_id)
        principals = [str(d["principal_id"]) for d in delegations]
        out = []
        for p in items:
            action = machine.action_for(p, subject.user_id)
            deputy_for = None
            if action is None:
                for principal in principals:
                    if machine.action_for(p, principal) == "approve":
                        action, deputy_for = "approve", principal
                        break
            work = works.get(str(p["work_id"])) or {}
            out.append(
                {
                    "id": p["id"],
                    "version": p["version"],
                    "work_id": p["work_id"],
                    "work_title": work.get("title") or p.get("work_title"),
                    "number": p.get("number"),
                    "title": p.get("title"),
                    "form_name": p.get("form_name"),
                    "state": p["state"],
                    "state_label": machine.STATE_LABELS[machine.S(p["state"])],
                    "importance": p.get("importance", "normal"),
                    "proposer_name": (users.get(str(p["proposer_id"])) or {}).get("name", ""),
                    "summary": p.get("summary") or {},
                    "status_text": status_text(p, users),
                    "proposed_on": p.get("proposed_on"),
                    "requested_answer_date": p.get("requested_answer_date"),
                    "received_on": p.get("received_on"),
                    "planned_answer_date": p.get("planned_answer_date"),
                    "answered_on": p.get("answered_on"),
                    "decided_on": p.get("decided_on"),
                    "updated_at": p.get("updated_at"),
                    "days_left": business_days_left(
                        calendars[_orderer(works.get(str(p["work_id"])))],
                        today,
                        p.get("requested_answer_date"),
                    )
                    if p["state"] == machine.S.IN_REVIEW
                    else None,
                    "action": action,
                    "deputy_for": deputy_for,
                    "deputy_for_name": (users.get(deputy_for) or {}).get("name")
                    if deputy_for
                    else None,
                }
            )
        return out


def status_text(p: dict[str, Any], users: dict[str, Any]) -> str:
    """承認・閲覧状況 in words (4(6)): approvals and views done of all, and who has it now."""
    s = p.get("summary") or {}
    parts = [f"承認 {s.get('approved', 0)}/{s.get('approvers', 0)}"]
    if s.get("viewers"):
        parts.append(f"閲覧 {s.get('viewed', 0)}/{s.get('viewers', 0)}")
    if s.get("post_review"):
        parts.append(f"後閲待ち {s['post_review']}")
    current = p.get("current_step")
    if p.get("state") == machine.S.IN_REVIEW and current is not None:
        pending = [
            str((users.get(m["user_id"]) or {}).get("name", ""))
            for m in p["progress"][current]["marks"]
            if m["status"] == machine.PENDING
        ]
        parts.append("承認待ち: " + "、".join(pending))
    return " ・ ".join(parts)


def _orderer(work: dict[str, Any] | None) -> str | None:
    return str(work["orderer_org_id"]) if work and work.get("orderer_org_id") else None
