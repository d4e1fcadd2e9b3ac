"""Guarantee balances (保証債務残高管理, seed 002): totals across issuers, per issuer, per bond,
and their history over time.

Seed 002 保証債務残高管理の高度化（案）: 1) 残高について共有する a) 全保証機関における保証債務残高
合計 b) 各保証機関における保証債務残高 c) ボンド毎の保証残高; 2) 保証期間と残高について共有する
a)-c) の推移 and each bond's period; paper bonds' amounts entered by their issuers so the totals
are whole (紙で発行したボンドの保証額の投入).

A bond is outstanding on day *d* (Japan time) while *d* lies in its guarantee period and the
bond is not deleted; its amount on *d* is the amount of the revision in force on *d* (a re-bid
or contract change applies from the day it was made). Only issuers' bonds (electronic and
paper) count; the orderer's own records of contract security do not (they are no issuer's
debt).

History over years and 100,000 bonds must answer in milliseconds (bench/bond_balances.py), so
every change also maintains ``bond_balance_years``: per issuer and year, the change of the
balance on each day (+amount where an interval starts, -amount the day after it ends). A
change of a bond replaces its old contribution by its new one in the same unit of work;
history is then a running sum over at most a few hundred small records.

Sealing holds here too (F01<1>): a figure never includes the amount of a bond its reader may
not see now. Totals across issuers shown to an issuer leave out other issuers' bonds still
sealed (their contribution is computed from their revisions and taken out); orderers see only
the securities of their own works they have opened with a valid key, and their own records.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.bonds.models import BALANCES, REVISIONS, SEALED, BondState, Origin
from api.kit.clock import from_iso
from storage.errors import DuplicateKey, StaleVersion
from storage.ports import RecordStore
from storage.query import Condition, Direction, Eq, In, Query, Range, Record

JST = ZoneInfo("Asia/Tokyo")
Deltas = dict[date, int]


async def find_all(
    records: RecordStore,
    collection: str,
    where: Sequence[Condition],
    sort: tuple[tuple[str, Direction], ...],
) -> AsyncIterator[Record]:
    """Every match in keyset pages along ``sort`` (an indexed order, so a selective filter
    reads only its matches; ``scan`` walks ids)."""
    cursor: str | None = None
    while True:
        page = await records.find(
            collection, Query(where=tuple(where), sort=sort, limit=1000, cursor=cursor)
        )
        for item in page.items:
            yield item
        if not page.next_cursor or len(page.items) < 1000:
            return
        cursor = page.next_cursor


def jst_date(at: datetime) -> date:
    return at.astimezone(JST).date()


def counts(bond: Record) -> bool:
    """Issuers' bonds count; orderers' own security records do not."""
    return bond.get("origin") in (Origin.ELECTRONIC, Origin.PAPER)


def contribution(revisions: Sequence[Record]) -> Deltas:
    """The balance changes one bond makes, from its revisions (sorted or not)."""
    out: Deltas = defaultdict(int)
    ordered = sorted(revisions, key=lambda r: int(r["revision"]))
    for i, rev in enumerate(ordered):
        if rev.get("state") == BondState.DELETED:
            continue
        c = rev.get("contents") or {}
        start_s, end_s, amount = c.get("period_start"), c.get("period_end"), c.get("amount")
        if not start_s or not end_s or not amount:
            continue
        start = date.fromisoformat(start_s)
        end_excl = date.fromisoformat(end_s) + timedelta(days=1)
        if i > 0:
            start = max(start, jst_date(from_iso(rev["at"])))
        if i + 1 < len(ordered):
            end_excl = min(end_excl, jst_date(from_iso(ordered[i + 1]["at"])))
        if start < end_excl:
            out[start] += int(amount)
            out[end_excl] -= int(amount)
    return {d: v for d, v in out.items() if v}


def difference(before: Deltas, after: Deltas) -> Deltas:
    out: Deltas = defaultdict(int)
    for d, v in after.items():
        out[d] += v
    for d, v in before.items():
        out[d] -= v
    return {d: v for d, v in out.items() if v}


def encode(deltas: Deltas) -> dict[str, int]:
    """A contribution as stored on its bond (``balance``): ISO date -> change."""
    return {d.isoformat(): v for d, v in sorted(deltas.items())}


def decode(stored: dict[str, int] | None) -> Deltas:
    return {date.fromisoformat(k): int(v) for k, v in (stored or {}).items()}


def year_id(issuer: str, year: int) -> str:
    return f"{issuer}:{year:04d}"


def _year_days(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


async def apply(records: RecordStore, issuer: str, change: Deltas) -> None:
    """Add ``change`` to the issuer's yearly records (inside the caller's unit of work). A
    yearly record holds ``days``: the change of the balance on each day of the year."""
    by_year: dict[int, dict[int, int]] = defaultdict(dict)
    for d, v in change.items():
        by_year[d.year][(d - date(d.year, 1, 1)).days] = v
    for year, days in sorted(by_year.items()):
        rid = year_id(issuer, year)
        for _ in range(10):
            record = await records.get(BALANCES, rid)
            values = list(record["days"]) if record else [0] * _year_days(year)
            for i, v in days.items():
                values[i] += v
            try:
                if record is None:
                    await records.insert(
                        BALANCES,
                        {"id": rid, "issuer_org_id": issuer, "year": year, "days": values},
                    )
                else:
                    await records.update(BALANCES, rid, {"days": values}, record["version"])
                break
            except (DuplicateKey, StaleVersion):
                continue


async def keep_sealed(records: RecordStore, bond: Record, contribution_: Deltas) -> None:
    """Remember the contribution of a bond with an opening time apart (``bond_balance_
    sealed``, small records by opening time), so the figures of others can leave it out
    while it is sealed without reading the bonds."""
    if not bond.get("opening_at"):
        return
    values = {
        "issuer_org_id": bond["issuer_org_id"],
        "opening_at": bond["opening_at"],
        "balance": encode(contribution_),
    }
    current = await records.get(SEALED, bond["id"])
    if current is None:
        await records.insert(SEALED, {"id": bond["id"], **values})
    else:
        await records.update(SEALED, bond["id"], values, current["version"])


async def revisions_of(records: RecordStore, bond_id: str) -> list[Record]:
    page = await records.find(
        REVISIONS, Query(where=(Eq("bond_id", bond_id),), sort=(("revision", 1),), limit=1000)
    )
    return page.items


@dataclass(frozen=True)
class Series:
    """Balances on ``dates``, one list of values per key (an issuer id, or ``total``)."""

    dates: list[date]
    values: dict[str, list[int]]


def sample_dates(start: date, end: date, step: str) -> list[date]:
    out: list[date] = []
    if step == "month":
        y, m = start.year, start.month
        while True:
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            last = nxt - timedelta(days=1)
            out.append(min(last, end))
            if last >= end:
                break
            y, m = nxt.year, nxt.month
        return out
    d = start
    while d <= end:
        out.append(d)
        d += timedelta(days=1)
    return out


def run(deltas: Iterable[tuple[date, int]], dates: Sequence[date]) -> list[int]:
    """The running sum of ``deltas`` evaluated at each of ``dates`` (ascending)."""
    ordered = sorted(deltas)
    out: list[int] = []
    total, i = 0, 0
    for d in dates:
        while i < len(ordered) and ordered[i][0] <= d:
            total += ordered[i][1]
            i += 1
        out.append(total)
    return out


@dataclass
class Daily:
    """One issuer's balance changes over ``[start, start + len(changes))`` and the balance
    the day before ``start`` (``base``)."""

    start: date
    base: int
    changes: list[int]

    def add(self, day: date, value: int) -> None:
        i = (day - self.start).days
        if i < 0:
            self.base += value
        elif i < len(self.changes):
            self.changes[i] += value

    def values(self, dates: Sequence[date]) -> list[int]:
        running = list(itertools.accumulate(self.changes, initial=self.base))
        return [running[(d - self.start).days + 1] for d in dates]


async def daily(
    records: RecordStore, start: date, end: date, issuers: Sequence[str] | None = None
) -> dict[str, Daily]:
    """Every issuer's (or ``issuers``') balance changes from the stored yearly records."""
    where: list[Condition] = [Range("year", lte=end.year)]
    if issuers is not None:
        where.append(In("issuer_org_id", tuple(issuers)))
    span = (end - start).days + 1
    out: dict[str, Daily] = {}
    async for rec in find_all(records, BALANCES, where, (("issuer_org_id", 1), ("year", 1))):
        issuer = str(rec["issuer_org_id"])
        found = out.get(issuer)
        if found is None:
            found = out[issuer] = Daily(start, 0, [0] * span)
        days: list[int] = rec["days"]
        offset = (date(int(rec["year"]), 1, 1) - start).days
        if offset + len(days) <= 0:
            found.base += sum(days)
            continue
        changes = found.changes
        for i, v in enumerate(days):
            if v:
                j = offset + i
                if j < 0:
                    found.base += v
                elif j < span:
                    changes[j] += v
    return out


async def sealed_of_others(
    records: RecordStore, viewer_issuer: str | None, now: datetime
) -> dict[str, Deltas]:
    """The contributions of bonds still sealed now whose issuer is not the viewer: taken out
    of what the viewer sees (F01<1>)."""
    from api.kit.clock import to_iso

    out: dict[str, Deltas] = {}
    async for item in find_all(
        records, SEALED, (Range("opening_at", gt=to_iso(now)),), (("opening_at", 1),)
    ):
        issuer = str(item["issuer_org_id"])
        if issuer == viewer_issuer:
            continue
        merged = out.setdefault(issuer, {})
        for d, v in decode(item.get("balance")).items():
            merged[d] = merged.get(d, 0) + v
    return out


def outstanding_on(bond: Record, day: date) -> int:
    """A bond's outstanding amount on ``day`` by its current contents."""
    if bond.get("state") != BondState.ACTIVE:
        return 0
    c = bond.get("contents") or {}
    if not c.get("period_start") or not c.get("period_end"):
        return int(c.get("amount") or 0)
    if date.fromisoformat(c["period_start"]) <= day <= date.fromisoformat(c["period_end"]):
        return int(c.get("amount") or 0)
    return 0
