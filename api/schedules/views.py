"""The views' read path: from stored series to the occurrences one reader sees in a range
(seed 001 別表1-1 7(2)(4)(5)), built for a supervisor's month of every member of a hundred works
(issue 9 "Measured": p95 < 50 ms for 100 works and 200 members with recurring entries).

What a view costs is the number of series it touches, so each step does the least per series:

- the store is asked first only which series overlap (ids and versions), then for the fields
  a view needs (``VIEW_FIELDS``: no description, uid, source or stamps, which can be most of
  a record's bytes) of the versions not prepared yet (``cached``): a month seen before
  decodes no record;
- each stored version of a series is *prepared* once per process (``prepare``, cached by id
  and version, which every change bumps): a single entry (no rule, RDATE, EXDATE or edited
  occurrence: most entries) becomes its one occurrence, formatted and with its UTC bounds as
  strings, so a view only compares strings; a recurring one keeps its compiled ``Series``;
- the occurrences of a recurring series in a range are cached by (id, version, range): a month
  that several readers open is expanded once;
- what depends on the reader (full or busy only, the works they know, names) is decided per
  view and never cached (``rows``).

The caches hold values derived from one immutable record version, so they are never stale;
a process sees a new version as a new key. Their sizes bound the memory they take.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

from api.kit.clock import to_iso
from api.schedules.access import Relations
from api.schedules.entries import compile_stored
from api.schedules.models import PRIVATE, PUBLIC
from api.schedules.recurrence import Local, RuleError, Series, zone
from api.schedules.schemas import OccurrenceRow, Visibility

# The fields a view reads (``id`` and ``version`` always come with a record).
VIEW_FIELDS = (
    "owner_id",
    "visibility",
    "work_ids",
    "title",
    "location",
    "tz",
    "all_day",
    "start",
    "end",
    "rrule",
    "rdates",
    "exdates",
    "overrides",
    "range_start",
    "range_end",
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small least-recently-used map (one per process; reads and writes from the event
    loop only)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self.data.get(key)
        if found is not None:
            self.data.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> V:
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return value

    def clear(self) -> None:
        self.data.clear()


class Shown(NamedTuple):
    """One occurrence as every reader gets it: sort key (UTC ISO of the start, as
    ``api.kit.clock.to_iso`` writes it), start and end as the API writes them, the
    recurrence id (None for a single entry) and the fields an edited occurrence changes."""

    key: str
    start: str
    end: str
    rid: str | None = None
    title: str | None = None
    location: str | None = None
    until: str = ""  # UTC ISO of the end (single entries: the overlap test)


class Prepared(NamedTuple):
    """One stored version of a series, ready for any view. A tuple: tens of thousands stay
    cached, and tuples of plain values drop out of the garbage collector's walks."""

    id: str
    version: int
    owner: str
    visibility: Visibility
    work_ids: tuple[str, ...]
    title: str
    location: str
    all_day: bool
    recurring: bool
    single: Shown | None  # the one occurrence of a single entry
    series: Series | None  # the compiled series of anything else


_PREPARED: Lru[tuple[str, int], Prepared | None] = Lru(50_000)
_EXPANDED: Lru[tuple[str, int, str, str], tuple[Shown, ...]] = Lru(20_000)
_MIDNIGHT = time()
_ZERO = timedelta(0)
_OFFSETS: dict[timedelta, str] = {}


def _offset(value: timedelta) -> str:
    """``+09:00`` as ``isoformat`` writes an offset (cached: a process sees a few dozen)."""
    text = _OFFSETS.get(value)
    if text is None:
        text = _OFFSETS[value] = datetime(2000, 1, 1, tzinfo=timezone(value)).isoformat()[19:]
    return text


def _stamp(value: Local, tz: tzinfo) -> tuple[str, str]:
    """(UTC ISO as ``to_iso`` writes it, the value as the API writes it: as ``isoformat`` of
    the value in the zone) of a wall-clock value of zone ``tz``. Made from the zone's
    (cached) offset: ``replace(tzinfo=)`` and ``to_iso``'s strftime would cost most of an
    occurrence's time."""
    if isinstance(value, datetime):
        offset = tz.utcoffset(value) or _ZERO
        shown = value.isoformat() + _offset(offset)
        utc = value - offset
    else:
        midnight = datetime.combine(value, _MIDNIGHT)
        offset = tz.utcoffset(midnight) or _ZERO
        shown = value.isoformat()
        utc = midnight - offset
    text = utc.isoformat()
    return (text + ".000000Z" if len(text) == 19 else to_iso(utc.replace(tzinfo=UTC))), shown


def _shown(value: Local, tz: tzinfo) -> str:
    if isinstance(value, datetime):
        return value.isoformat() + _offset(tz.utcoffset(value) or _ZERO)
    return value.isoformat()


def _written(text: str, value: Local, tz: tzinfo) -> str:
    """``_shown`` of a stored wall value, reusing its text when it is ``isoformat``'s."""
    if isinstance(value, datetime):
        if len(text) == 19 and text[10] == "T" and not value.microsecond:
            return text + _offset(tz.utcoffset(value) or _ZERO)
        return _shown(value, tz)
    return text if len(text) == 10 else value.isoformat()


def _local(text: str) -> Local:
    if len(text) == 10:
        return date.fromisoformat(text)
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is None else value.replace(tzinfo=None)


def prepare(entry: Mapping[str, Any]) -> Prepared | None:
    """The prepared form of a stored entry (cached by id and version); None when its stored
    values no longer compile (never fail a whole view for one record)."""
    key = (str(entry["id"]), int(entry.get("version") or 0))
    found = _PREPARED.get(key)
    if found is not None or key in _PREPARED.data:
        return found
    return _PREPARED.put(key, _prepare(entry))


class Unknown:
    """``cached``'s answer for a version this process has not prepared yet."""


UNKNOWN = Unknown()


def cached(entry_id: str, version: int) -> Prepared | Unknown | None:
    """The cached prepared form of one version of a series, from its id and version alone
    (a view reads only those first and the other fields of the versions not cached)."""
    key = (entry_id, version)
    found = _PREPARED.get(key)
    if found is not None or key in _PREPARED.data:
        return found
    return UNKNOWN


def _prepare(entry: Mapping[str, Any]) -> Prepared | None:
    rrule = entry.get("rrule") or None
    rdates = entry.get("rdates") or ()
    plain = not (rrule or rdates or entry.get("exdates") or entry.get("overrides"))
    single: Shown | None = None
    series: Series | None = None
    try:
        all_day = bool(entry["all_day"])
        if plain:
            tz = zone(str(entry["tz"]))
            start, end = _local(str(entry["start"])), _local(str(entry["end"]))
            if isinstance(start, datetime) == all_day or type(start) is not type(end):
                return None
            if end < start:  # of one type, checked above
                return None
            # A single entry's stored UTC bounds (``time_fields``) are its start and end,
            # and its stored wall values are what isoformat writes (``format_local``).
            single = Shown(
                str(entry["range_start"]),
                _written(str(entry["start"]), start, tz),
                _written(str(entry["end"]), end, tz),
                until=str(entry["range_end"]),
            )
        else:
            series = compile_stored(entry)
        return Prepared(
            id=str(entry["id"]),
            version=int(entry.get("version") or 0),
            owner=str(entry["owner_id"]),
            visibility=PRIVATE if entry.get("visibility") == PRIVATE else PUBLIC,
            work_ids=tuple(entry.get("work_ids") or ()),
            title=str(entry.get("title") or ""),
            location=str(entry.get("location") or ""),
            all_day=all_day,
            recurring=bool(rrule or rdates),
            single=single,
            series=series,
        )
    except (RuleError, ValueError, KeyError, TypeError):
        return None


def occurrences(
    prepared: Prepared, lo: datetime, hi: datetime, lo_iso: str, hi_iso: str
) -> Sequence[Shown]:
    """The occurrences of ``prepared`` overlapping ``[lo, hi)`` (``lo_iso``/``hi_iso``: the
    same bounds as UTC ISO strings), unordered, at most ``MAX_PER_SERIES``."""
    one = prepared.single
    if one is not None:
        # Overlap as Series.between: start < hi and lo < end; zero length: lo <= start < hi.
        if one.key == one.until:
            return (one,) if lo_iso <= one.key < hi_iso else ()
        return (one,) if one.key < hi_iso and lo_iso < one.until else ()
    cache_key = (prepared.id, prepared.version, lo_iso, hi_iso)
    found = _EXPANDED.get(cache_key)
    if found is None:
        found = _EXPANDED.put(cache_key, _expand(prepared, lo, hi))
    return found


def _expand(prepared: Prepared, lo: datetime, hi: datetime) -> tuple[Shown, ...]:
    series = prepared.series
    assert series is not None
    tz = series.tz
    out: list[Shown] = []
    for occ in series.between(lo, hi):
        key, start = _stamp(occ.start, tz)
        end = _shown(occ.end, tz)
        rid = occ.recurrence_id
        over = occ.override.fields if occ.override else {}
        title, location = over.get("title"), over.get("location")
        out.append(
            Shown(
                key,
                start,
                end,
                # rid_key's compact form (20260601T090000), without strftime
                None if rid is None else rid.isoformat().replace("-", "").replace(":", ""),
                None if title is None else str(title),
                None if location is None else str(location),
            )
        )
    return tuple(out)


def rows(
    entries: Sequence[Mapping[str, Any]],
    rel: Relations,
    names: Mapping[str, str],
    lo: datetime,
    hi: datetime,
    me: str,
    cap: int,
) -> tuple[list[OccurrenceRow], bool]:
    """Every occurrence of ``entries`` in ``[lo, hi)`` as the reader may see it, sorted by
    start (all-day first on a day, then by id), and whether ``cap`` cut the answer."""
    return rows_of([prepare(e) for e in entries], rel, names, lo, hi, me, cap)


def rows_of(
    series: Sequence[Prepared | None],
    rel: Relations,
    names: Mapping[str, str],
    lo: datetime,
    hi: datetime,
    me: str,
    cap: int,
) -> tuple[list[OccurrenceRow], bool]:
    """``rows`` of prepared series (None: a record that does not compile, left out)."""
    lo_iso, hi_iso = to_iso(lo), to_iso(hi)
    out: list[tuple[str, bool, str, OccurrenceRow]] = []
    truncated = False
    my_roles = rel.my_roles
    for prepared in series:
        if prepared is None:
            continue
        shown = occurrences(prepared, lo, hi, lo_iso, hi_iso)
        if not shown:
            continue
        owner = prepared.owner
        owner_name = names.get(owner, "")
        all_day = prepared.all_day
        full = rel.sees(owner, prepared.visibility, prepared.work_ids)
        works = [w for w in prepared.work_ids if w in my_roles or owner == me] if full else []
        for occ in shown:
            row: OccurrenceRow
            if full:
                row = {
                    "id": f"{prepared.id}:{occ.rid}" if occ.rid else prepared.id,
                    "title": prepared.title if occ.title is None else occ.title,
                    "start": occ.start,
                    "end": occ.end,
                    "all_day": all_day,
                    "work_id": works[0] if works else None,
                    "busy_only": False,
                    "location": prepared.location if occ.location is None else occ.location,
                    "owner_id": owner,
                    "owner_name": owner_name,
                    "series_id": prepared.id,
                    "recurrence_id": occ.rid,
                    "recurring": prepared.recurring,
                    "work_ids": works,
                    "visibility": prepared.visibility,
                    "editable": owner == me,
                }
            else:
                # 7(4): only that the time is taken; the id reveals nothing of the entry.
                digest = hashlib.sha256(f"{prepared.id}|{occ.start}".encode()).hexdigest()
                row = {
                    "id": f"busy-{digest[:24]}",
                    "title": None,
                    "start": occ.start,
                    "end": occ.end,
                    "all_day": all_day,
                    "work_id": None,
                    "busy_only": True,
                    "location": None,
                    "owner_id": owner,
                    "owner_name": owner_name,
                    "series_id": None,
                    "recurrence_id": None,
                    "recurring": False,
                    "work_ids": [],
                    "visibility": None,
                    "editable": False,
                }
            out.append((occ.key, not all_day, row["id"], row))
            if len(out) >= cap:
                truncated = True
                break
        if truncated:
            break
    out.sort(key=itemgetter(0, 1, 2))
    return [r[3] for r in out], truncated


def clear_caches() -> None:
    """Forget every prepared series and expansion (tests)."""
    _PREPARED.clear()
    _EXPANDED.clear()
