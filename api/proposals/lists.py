"""Lists of proposals (seed 001 別表1-1 4(4)-(7), 別表1-2 4(4)-(7)(13)).

- one work's proposals (4(4)): the approval state of each;
- a supervisor's list over all or chosen works (4(5)) with 工事名, タイトル, 承認・閲覧状況,
  回答希望日, 受付日, 回答予定日, 回答日 (4(6)), filtered and sorted (4(7));
- the inbox: what waits for me across works, as the approver, viewer, post-reviewer, deputy
  (inside the delegation's window) or proposer of a send-back.

The record store answers them with scalar conditions it can serve from indexes: who may read
is one to three sub-queries (``ListAccess.parts``): submitted proposals (``revision >= 1``) of
the works the reader is a member of (``work_id IN ...``), those of the works their organization
orders when they read them organization-wide (``orderer_org_id``), and their own drafts never
submitted (``proposer_id``, ``revision = 0``). Each sub-query takes the filters and the sort
and returns one keyset page; the pages are merged in the sort order and cut to the limit, and
the cursor of the last row resumes every sub-query (keyset cursors hold sort values, not
positions). An earlier version filtered on the ``acl`` array, which no index serves: every
row paid a JSON containment test (56 ms to 1.2 s over 100,000 proposals, bench_proposals).

A text query goes to the search index first (the proposals' principals filter inside the
index), whose ids the store then filters and sorts. The inbox count is ``count`` over the
very conditions of the inbox list, so the two never disagree (the Discourse complaint of
module-anchors §1).
"""

from __future__ import annotations

import asyncio
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
from storage.ports import RecordStore
from storage.query import Condition, Eq, In, Page, Query, Range, encode_cursor, get_path

if TYPE_CHECKING:
    from api.container import Container

TEXT_LIMIT = 1000  # a text query narrows to at most this many best matches
SPLIT = 10  # up to this many works: one sub-query per work (see ListAccess.parts)
SHARE_FLOOR = 10  # the least a sub-query is asked for in the first round (first_share)


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


@dataclass(frozen=True)
class ListAccess:
    """What a subject reads in the lists: every submitted proposal (operators), or those of
    ``works`` (memberships) and of the works ``org`` orders (organization-wide readers), and
    their own drafts never submitted."""

    user_id: str
    everything: bool = False
    works: tuple[str, ...] = ()
    org: str | None = None

    def parts(self, chosen: Sequence[str] = (), drafts: bool = True) -> list[list[Condition]]:
        """The sub-queries (each a list of ANDed conditions) whose union the subject reads,
        narrowed to the ``chosen`` works if any; ``drafts``: False when the filters exclude
        drafts never submitted (their own sub-query is left out)."""
        shared = Range("revision", gte=1)
        only = [In("work_id", tuple(chosen))] if chosen else []
        few = bool(chosen) and len(chosen) <= SPLIT
        if self.everything:
            if few:
                return [[shared, Eq("work_id", w)] for w in chosen]
            return [[shared, *only]]
        parts: list[list[Condition]] = []
        works = [w for w in self.works if not chosen or w in chosen]
        if len(works) <= SPLIT:
            # A few works: one sub-query each walks its (work, column) index in order; an
            # In over them would read every row of those works and sort them.
            parts += [[shared, Eq("work_id", w)] for w in works]
        else:
            parts.append([shared, In("work_id", tuple(works))])
        if self.org and few:
            parts += [
                [shared, Eq("orderer_org_id", self.org), Eq("work_id", w)]
                for w in chosen
                if w not in works
            ]
        elif self.org:
            parts.append([shared, Eq("orderer_org_id", self.org), *only])
        if drafts:
            parts.append([Eq("proposer_id", self.user_id), Eq("revision", 0), *only])
        return parts


def first_share(limit: int, parts: int) -> int:
    """How many rows the first round asks of each of ``parts`` sub-queries for a page of
    ``limit``: all of it for one or two (the usual: the reader's works and their drafts),
    else twice an even share, at least ``SHARE_FLOOR`` (rows rarely spread evenly)."""
    if parts <= 2:
        return limit
    return min(limit, max(2 * limit // parts, SHARE_FLOOR))


def sort_rows(rows: list[dict[str, Any]], sort: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """``rows`` in the store's order for ``sort`` (null first ascending, last descending;
    strings by code point, as SQLite's and MongoDB's binary comparison)."""

    def key(name: str) -> Any:
        def of(row: dict[str, Any]) -> tuple[Any, ...]:
            value = get_path(row, name)
            return (0,) if value is None else (1, value)

        return of

    out = list(rows)
    for name, direction in reversed(list(sort)):
        out.sort(key=key(name), reverse=direction == -1)
    return out


async def read_access(
    records: RecordStore, subject: Subject
) -> tuple[ListAccess, tuple[str, ...] | None]:
    """What ``subject`` reads: the lists' sub-queries and the search index's principals of
    proposals (None: operators, no filter; drafts are never indexed)."""
    if subject.is_operator:
        return ListAccess(subject.user_id, everything=True), None
    out = [user_principal(subject.user_id)]
    org: str | None = None
    if subject.org_id and subject.grants & {"works.read_org", "works.manage"}:
        org = subject.org_id
        out.append(org_principal(subject.org_id))
    cursor: str | None = None
    members: list[dict[str, Any]] = []
    while True:
        page = await records.find(
            MEMBERS,
            Query(where=(Eq("user_id", subject.user_id),), limit=1000, cursor=cursor),
        )
        members += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    members = [m for m in members if m.get("role") != WorkRole.ARCHIVE_READER.value]
    # A work is read only when it matters: its status for roles that lose it once it is
    # archived, its orderer when the organization's sub-query may cover it (a supervisor
    # of 500 works reads none of them: 27 ms of a 40 ms page, bench_proposals).
    needed = [
        str(m["work_id"]) for m in members if org is not None or m.get("role") not in ARCHIVE_ROLES
    ]
    works = {w["id"]: w for w in await records.get_many("works", needed)}
    member_works: list[str] = []
    for member in members:
        work = works.get(str(member["work_id"]))
        if work is None and str(member["work_id"]) in needed:
            continue
        if (
            work is not None
            and work.get("status") == "archived"
            and member.get("role") not in ARCHIVE_ROLES
        ):
            continue
        out.append(work_principal(str(member["work_id"])))
        if org is None or work is None or work.get("orderer_org_id") != org:
            member_works.append(str(member["work_id"]))  # else the org part has it
    access = ListAccess(subject.user_id, works=tuple(sorted(set(member_works))), org=org)
    return access, tuple(out)


async def search_principals(records: RecordStore, subject: Subject) -> list[str]:
    """The proposal principals ``subject`` holds, for the global search (registered with
    ``api.search.principals``; proposals are a private type there, so operators, searched
    without an acl, never see them)."""
    return list((await read_access(records, subject))[1] or ())


class ProposalLists:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock

    async def principals(self, subject: Subject) -> tuple[str, ...] | None:
        """The ``acl`` principals the subject holds in the search index (None: operators, no
        filter; drafts are never indexed)."""
        return (await self.access(subject))[1]

    async def access(self, subject: Subject) -> tuple[ListAccess, tuple[str, ...] | None]:
        """What the subject reads, as store sub-queries and as index principals."""
        return await read_access(self.records, subject)

    def _where(self, f: ListFilters) -> list[Condition]:
        """The filters of 4(7) (access apart: ``ListAccess.parts``)."""
        where: list[Condition] = []
        if f.work_ids and (len(f.work_ids) > 500 or not all(is_id(w) for w in f.work_ids)):
            raise ValidationFailed("案件の指定が正しくありません。", field="work_ids")
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

    @staticmethod
    def _drafts_match(f: ListFilters) -> bool:
        """Whether a draft never submitted can pass the filters: it is in state ``draft``,
        never overdue, and has no date but the 回答希望日."""
        if f.states and machine.S.DRAFT.value not in f.states:
            return False
        if f.overdue:
            return False
        ranged = f.date_field and (f.date_from or f.date_to)
        return not (ranged and f.date_field != "requested_answer_date")

    def _sort(self, f: ListFilters) -> tuple[tuple[str, Any], ...]:
        if f.sort not in SORT_FIELDS:
            raise ValidationFailed("並べ替えの項目が正しくありません。", field="sort")
        # The tie-breaker runs the same way: the indexes are (column, id) ascending, which a
        # descending page walks backwards only when id descends too (else SQLite sorts).
        direction = 1 if f.order == "asc" else -1
        return ((f.sort, direction), ("id", direction))

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
        access, principals = await self.access(subject)
        where = self._where(f)
        sort = self._sort(f)
        truncated = False
        if f.q:
            ids, truncated = await self._text_ids(subject, f, principals)
            if not ids:
                return ListPage([], None, 0)
            where.append(In("id", tuple(ids)))
        items, more = await self._merged(access.parts(f.work_ids, self._drafts_match(f)), where, f)
        full = Query(sort=sort).full_sort
        cursor = encode_cursor(items[-1], full) if more and items else None
        # No count across works: it would read every matching record (100,000 for a
        # supervisor of every work); the page and its cursor are what the list needs.
        return ListPage(await self.rows(subject, items), cursor, None, truncated)

    async def _merged(
        self, parts: list[list[Condition]], where: list[Condition], f: ListFilters
    ) -> tuple[list[dict[str, Any]], bool]:
        """The first ``f.limit`` rows of the union of ``parts`` in the sort order, and whether
        more follow.

        Each sub-query returns a keyset page and the pages are merged. With several
        sub-queries (a few chosen works: one each) a full page from every one would read
        ``limit`` rows per sub-query to keep ``limit``: most are parsed and dropped. So the
        first round asks each for a share (``first_share``); a sub-query that has more and
        whose last row still ranks inside the page is asked again from its own cursor for a
        full page, after which its last row ranks at or past the cut (at most two rounds).
        A row can come from two sub-queries (a work read both as member and organization-
        wide): it is kept once."""
        sort = Query(sort=self._sort(f)).full_sort

        async def fetch(i: int, limit: int, cursor: str | None) -> Page:
            query = Query(where=(*parts[i], *where), sort=sort, limit=limit, cursor=cursor)
            return await self.records.find(PROPOSALS, query)

        share = first_share(f.limit, len(parts))
        pages = await asyncio.gather(*(fetch(i, share, f.cursor) for i in range(len(parts))))
        rows: dict[str, dict[str, Any]] = {}
        last: list[str | None] = [None] * len(parts)
        cursors: list[str | None] = [None] * len(parts)
        todo = list(range(len(parts)))
        for round_ in range(1, 4):  # two suffice (above); the third only if a store misbehaves
            for i, page in zip(todo, pages, strict=True):
                rows.update((r["id"], r) for r in page.items)
                if page.items:
                    last[i] = str(page.items[-1]["id"])
                cursors[i] = page.next_cursor
            merged = sort_rows(list(rows.values()), sort)
            rank = {str(r["id"]): n for n, r in enumerate(merged)}
            todo = [
                i
                for i, c in enumerate(cursors)
                if c and (last[i] is None or rank[str(last[i])] < f.limit - 1)
            ]
            if not todo or round_ == 3:
                break
            pages = await asyncio.gather(*(fetch(i, f.limit, cursors[i]) for i in todo))
        more = len(merged) > f.limit or any(cursors)
        return merged[: f.limit], more

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
        # The page and the count read on two reader connections at once.
        page, total = await asyncio.gather(
            self.records.find(
                PROPOSALS, Query(where=tuple(where), sort=sort, limit=f.limit, cursor=f.cursor)
            ),
            self.records.count(PROPOSALS, where),
        )
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
