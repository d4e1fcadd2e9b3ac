"""Month buckets: each person's occurrences of one month, kept in the record store so that the
first view of a month in a fresh process reads a few hundred small records instead of
thousands of series (issue 9 "Measured": a supervisor's month of 100 works and 200 members,
p95 < 50 ms; seed 001 別表1-1 7(2) shows every member of the works on one screen).

A bucket (collection ``schedule_months``, id ``<owner>|<zone>|<YYYY-MM>``) holds, for one owner
and one month of the system's time zone, every series of the owner with an occurrence in the
month: the fields a view needs (id, version, visibility, works, title, place, all day,
recurring) and each occurrence as (UTC start, UTC end, start and end as the API writes them,
recurrence id, edited title, edited place). It holds nothing that depends on the reader
(whether they see the entry in full or as busy time, their works, the owner's name): that is
decided per view, as for series read from the store (``views.render``).

When a bucket is true: a bucket exists only for the state of the owner's series it was made
from.

- Every write of a series (create, change, delete, an occurrence edited or cancelled, an
  iCalendar import, a work's erasure) calls ``changed`` inside its own unit of work: the
  owners' buckets are deleted and their generation record (``schedule_owners``) is bumped,
  in the same transaction as the series.
- A view finds the buckets of its owners and months (``read``); an owner missing one is read
  from the series as before, and the missing buckets are made afterwards, off the request
  (``fill``): it reads the owners' generation records, then their series (outside any
  transaction), and in one short transaction keeps only the buckets of the owners whose
  generation is unchanged, writes them, and writes those generation records again. A change
  committed before that transaction changed the generation (its buckets are dropped); one
  committed after it deletes them. On SQLite transactions are serial; on MongoDB a change
  racing the transaction writes the same generation record, so one of the two fails with a
  write conflict rather than a bucket outliving the change (the fill writes that record
  last, just before its commit, so it is nearly always the fill that gives way).
- A series with more occurrences in a month than an answer shows of one series
  (``MAX_PER_SERIES``) makes its owner's bucket "live": views read that owner's series.

Erasure: buckets copy titles and places, so the erasure of a work (``api.handovers.schedules``)
deletes its members' buckets with the entries (``changed``), in the live store and in the
records of older backup generations alike (they run the same rules).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from itertools import islice
from typing import Any

from api.kit.clock import to_iso
from api.schedules.models import ENTRIES
from api.schedules.recurrence import MAX_PER_SERIES
from api.schedules.views import Prepared, Shown, StoredSeries, occurrences, prepare
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Query, Record

log = logging.getLogger("kura.schedules.months")

MONTHS = "schedule_months"
OWNERS = "schedule_owners"
MONTH_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("owner_id", 1),)),)
MAX_MONTHS = 3  # a view over more months of the zone reads series (a month grid spans three)


def _months(
    first: tuple[int, int], last: tuple[int, int], tz: tzinfo
) -> Iterator[tuple[str, datetime, datetime]]:
    """Each month of zone ``tz`` from ``first`` to ``last`` (year, month), as (``YYYY-MM``,
    first moment, first moment of the next)."""
    year, month = first
    while (year, month) <= last:
        nxt = (year + month // 12, month % 12 + 1)
        start = datetime(year, month, 1, tzinfo=tz)
        yield f"{year:04d}-{month:02d}", start, datetime(*nxt, 1, tzinfo=tz)
        year, month = nxt


def month_span(lo: datetime, hi: datetime, tz: tzinfo) -> list[tuple[str, datetime, datetime]]:
    """The months of zone ``tz`` that ``[lo, hi)`` touches, as (``YYYY-MM``, first moment, first
    moment of the next); empty when there are more than ``MAX_MONTHS``."""
    first = lo.astimezone(tz)
    last = (hi - timedelta(microseconds=1)).astimezone(tz)
    span = list(
        islice(_months((first.year, first.month), (last.year, last.month), tz), MAX_MONTHS + 1)
    )
    return span if len(span) <= MAX_MONTHS else []


def bucket_id(owner: str, zone_name: str, month: str) -> str:
    return f"{owner}|{zone_name}|{month}"


# -- writing -------------------------------------------------------------------------------


async def changed(records: RecordStore, owners: Iterable[str]) -> None:
    """Inside the unit of work that writes series of ``owners``: delete their buckets and bump
    their generation records (see the module)."""
    for owner in sorted(set(owners)):
        gen = await records.get(OWNERS, owner)
        if gen is None:
            await records.insert(OWNERS, {"id": owner, "gen": 1})
        else:
            await records.update(
                OWNERS, owner, {"gen": int(gen.get("gen") or 0) + 1}, int(gen["version"])
            )
        while True:
            page = await records.find(
                MONTHS, Query(where=(Eq("owner_id", owner),), limit=1000, fields=("id",))
            )
            for item in page.items:
                await records.delete(MONTHS, str(item["id"]), None)
            if not page.next_cursor:
                break


def encode(
    owner: str, zone_name: str, month: str, shown: Sequence[tuple[Prepared, Sequence[Shown]]]
) -> Record:
    """The bucket record of one owner's month: ``shown`` are the owner's series with their
    occurrences in the month (``live`` when one series has more than an answer shows)."""
    series: list[list[Any]] = []
    live = False
    for one, occs in shown:
        if len(occs) >= MAX_PER_SERIES:
            live = True
            break
        series.append(
            [
                one.id,
                one.version,
                one.visibility,
                list(one.work_ids),
                one.title,
                one.location,
                one.all_day,
                one.recurring,
                [[o.key, o.until, o.start, o.end, o.rid, o.title, o.location] for o in occs],
            ]
        )
    return {
        "id": bucket_id(owner, zone_name, month),
        "owner_id": owner,
        "zone": zone_name,
        "month": month,
        "live": live,
        "series": [] if live else series,
    }


# -- reading -------------------------------------------------------------------------------


async def read(
    records: RecordStore,
    owners: Iterable[str],
    months: Sequence[tuple[str, datetime, datetime]],
    zone_name: str,
) -> list[tuple[str, list[StoredSeries]]]:
    """The owners whose buckets of every month in ``months`` exist (and are not live), in the
    order of their ids, each with the stored series of those months (``views.render`` keeps
    the occurrences in the view's range, an occurrence over a month's end once).

    Nothing of a bucket is kept in the process: the objects a view reads are freed when it
    has answered, so the collector never walks thousands of them (a cache of them cost more
    in collections than it saved in reading; ``bench/bench_schedules``)."""
    wanted = sorted(set(owners))
    ids = [bucket_id(o, zone_name, m) for o in wanted for m, _, _ in months]
    docs: dict[str, Record] = {}
    for part in await asyncio.gather(
        *(records.get_many(MONTHS, ids[i : i + 1000]) for i in range(0, len(ids), 1000))
    ):
        docs.update((str(doc["id"]), doc) for doc in part)
    out: list[tuple[str, list[StoredSeries]]] = []
    for owner in wanted:
        found = [docs.get(bucket_id(owner, zone_name, m)) for m, _, _ in months]
        kept = [d for d in found if d is not None and not d.get("live")]
        if len(kept) == len(found):
            out.append((owner, [one for d in kept for one in d["series"]]))
    return out


# -- filling -------------------------------------------------------------------------------


Reader = Callable[[set[str], datetime, datetime], Awaitable[list[Record]]]


async def fill(
    records: RecordStore,
    owners: Iterable[str],
    months: Sequence[tuple[str, datetime, datetime]],
    zone_name: str,
    series_between: Reader,
) -> int:
    """Make the missing buckets of ``owners`` for ``months`` (see the module); returns how
    many were written. ``series_between`` reads the owners' series overlapping a range with
    the fields a view needs (``ScheduleService.entries_between``).

    The series are read outside any transaction (a fill never holds SQLite's write lock while
    it reads: writers, an import above all, would wait for it); then one short transaction
    keeps the buckets of the owners whose generation is still the one read before their
    series, writes them, and writes those generation records (last, see the module)."""
    wanted = sorted(set(owners))
    before = {str(g["id"]): g.get("gen") for g in await records.get_many(OWNERS, wanted)}
    docs: list[Record] = []
    for month, start, end in months:
        ids = [bucket_id(o, zone_name, month) for o in wanted]
        have = {str(d["id"]) for d in await records.get_many(MONTHS, ids)}
        missing = {o for o in wanted if bucket_id(o, zone_name, month) not in have}
        if not missing:
            continue
        found = await series_between(missing, start, end)
        lo_iso, hi_iso = to_iso(start), to_iso(end)
        per_owner: dict[str, list[tuple[Prepared, Sequence[Shown]]]] = {o: [] for o in missing}
        for entry in sorted(found, key=lambda e: str(e["id"])):
            one = prepare(entry)
            if one is None or one.owner not in per_owner:
                continue
            occs = occurrences(one, start, end, lo_iso, hi_iso)
            if occs:
                per_owner[one.owner].append((one, sorted(occs, key=lambda o: o.key)))
        docs += [encode(o, zone_name, month, per_owner[o]) for o in sorted(missing)]
    if not docs:
        return 0
    async with records.transaction():
        gens = {str(g["id"]): g for g in await records.get_many(OWNERS, wanted)}
        same = {o for o in wanted if (gens[o].get("gen") if o in gens else None) == before.get(o)}
        made = {str(d["id"]) for d in await records.get_many(MONTHS, [d["id"] for d in docs])}
        docs = [d for d in docs if d["owner_id"] in same and d["id"] not in made]
        if not docs:
            return 0
        await records.insert_many(MONTHS, docs)
        # Written last (see the module): the record a change of the owner writes too.
        touched = sorted({str(d["owner_id"]) for d in docs})
        for owner in touched:
            gen = gens.get(owner)
            if gen is not None:
                touch = {"gen": gen.get("gen") or 0}
                await records.update(OWNERS, owner, touch, int(gen["version"]))
        fresh = [{"id": o, "gen": 0} for o in touched if o not in gens]
        if fresh:
            await records.insert_many(OWNERS, fresh)
    return len(docs)


_FILLING: dict[tuple[frozenset[str], tuple[str, ...], str], asyncio.Task[int]] = {}


def fill_later(
    spawn: Callable[[Coroutine[Any, Any, int]], asyncio.Task[int]],
    records: RecordStore,
    owners: Iterable[str],
    months: Sequence[tuple[str, datetime, datetime]],
    zone_name: str,
    series_between: Reader,
) -> None:
    """``fill`` off the request (``spawn``: ``Container.spawn``, which a closing container
    waits for), once at a time for the same owners and months; a failure (a write conflict,
    the store going away) is logged and left to the next view."""
    key = (frozenset(owners), tuple(m for m, _, _ in months), zone_name)
    if key in _FILLING:
        return

    async def run() -> int:
        try:
            return await fill(records, key[0], months, zone_name, series_between)
        except Exception:  # a cache: the next view tries again
            log.warning("month buckets not made for %d owners", len(key[0]), exc_info=True)
            return 0
        finally:
            _FILLING.pop(key, None)

    _FILLING[key] = spawn(run())


async def build(
    records: RecordStore,
    zone: tzinfo,
    zone_name: str,
    first: tuple[int, int],
    last: tuple[int, int],
    series_between: Reader,
    batch: int = 200,
) -> tuple[int, int]:
    """Make the missing buckets of every person with entries for the months ``first`` to
    ``last`` (year, month) of the zone (``kura schedules months``: after an upgrade or a
    restore, so the first views of those months read buckets); returns (people, buckets
    written). Idempotent: buckets that exist are kept."""
    owners: set[str] = set()
    cursor: str | None = None
    while True:
        page = await records.find(ENTRIES, Query(limit=1000, cursor=cursor, fields=("owner_id",)))
        owners.update(str(e["owner_id"]) for e in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    ordered = sorted(owners)
    made = 0
    for span in _months(first, last, zone):
        for i in range(0, len(ordered), batch):
            made += await fill(records, ordered[i : i + batch], [span], zone_name, series_between)
    return len(ordered), made
