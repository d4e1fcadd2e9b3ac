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
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
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


_CACHES: list[Lru[Any, Any]] = []


class Lru(Generic[K, V]):
    """A small least-recently-used map (one per process; reads and writes from the event
    loop only)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[K, V] = OrderedDict()
        _CACHES.append(self)

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
    until: str = ""  # UTC ISO of the end (the overlap test of a month's stored occurrences)
    # The occurrence's full row as JSON text around what depends on the reader (``_row``):
    # head ... "work_id":| mid ... "owner_name":| tail ... "work_ids":
    text: tuple[bytes, bytes, bytes] = (b"", b"", b"")


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


_PREPARED: Lru[tuple[str, int], Prepared | None] = Lru(25_000)
_EXPANDED: Lru[tuple[str, int, str, str], tuple[Shown, ...]] = Lru(8_000)
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
        entry_id = str(entry["id"])
        owner = str(entry["owner_id"])
        title = str(entry.get("title") or "")
        location = str(entry.get("location") or "")
        all_day = bool(entry["all_day"])
        recurring = bool(rrule or rdates)
        if plain:
            tz = zone(str(entry["tz"]))
            start, end = _local(str(entry["start"])), _local(str(entry["end"]))
            if isinstance(start, datetime) == all_day or type(start) is not type(end):
                return None
            if end < start:  # of one type, checked above
                return None
            # A single entry's stored UTC bounds (``time_fields``) are its start and end,
            # and its stored wall values are what isoformat writes (``format_local``).
            shown_start = _written(str(entry["start"]), start, tz)
            shown_end = _written(str(entry["end"]), end, tz)
            single = Shown(
                str(entry["range_start"]),
                shown_start,
                shown_end,
                until=str(entry["range_end"]),
                text=occurrence_text(entry_id, title, all_day, False, location, owner)(
                    shown_start, shown_end, None, None, None
                ),
            )
        else:
            series = compile_stored(entry)
        return Prepared(
            entry_id,
            int(entry.get("version") or 0),
            owner,
            PRIVATE if entry.get("visibility") == PRIVATE else PUBLIC,
            tuple(entry.get("work_ids") or ()),
            title,
            location,
            all_day,
            recurring,
            single,
            series,
        )
    except (RuleError, ValueError, KeyError, TypeError):
        return None


# A string as JSON the way pydantic's encoder writes it: non-ASCII as it is, quotes,
# backslashes and control characters escaped (the C encoder of ``json``; the bytes are
# compared with pydantic's on random text in ``tests/schedules/test_views.py``).
_js: Callable[[str], str] = json.encoder.encode_basestring


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


def occurrence_text(
    series_id: str, title: str, all_day: bool, recurring: bool, location: str, owner: str
) -> Callable[[str, str, str | None, str | None, str | None], tuple[bytes, bytes, bytes]]:
    """``Shown.text`` of the occurrences of one series: an occurrence's full row
    (``OccurrenceRead``, every field in its order) as UTF-8 JSON, cut where the reader's
    values go (work, owner's name, works, visibility and whether they may edit), as a
    function of (start, end, recurrence id, edited title, edited place); what every
    occurrence of the series shares is quoted once. Made once per occurrence and cached with
    it (``Shown``), or, for a month's stored occurrences, as a view writes them
    (``_Rows.add_stored``): a view joins bytes instead of building and encoding thousands of
    dicts. Starts, ends and recurrence ids are ISO text, which JSON quotes as it is."""
    sid = _js(series_id)
    title_q = _js(title)
    day = "true" if all_day else "false"
    tail_end = f',"recurring":{"true" if recurring else "false"},"work_ids":'
    plain_tail = f',"series_id":{sid},"recurrence_id":null{tail_end}'.encode()
    same_mid = _mid(location, owner)

    def text(
        start: str, end: str, rid: str | None, title: str | None, location: str | None
    ) -> tuple[bytes, bytes, bytes]:
        if rid is None:
            row_id, tail = sid, plain_tail
        else:
            row_id = f'{sid[:-1]}:{rid}"'
            tail = f',"series_id":{sid},"recurrence_id":"{rid}"{tail_end}'.encode()
        head = (
            f'{{"id":{row_id},"title":{title_q if title is None else _js(title)},'
            f'"start":"{start}","end":"{end}","all_day":{day},"work_id":'
        ).encode()
        return head, same_mid if location is None else _mid(location, owner), tail

    return text


def _utc(value: datetime, offset: timedelta) -> str:
    utc = (value - offset).isoformat()
    return utc + ".000000Z" if len(utc) == 19 else to_iso((value - offset).replace(tzinfo=UTC))


def _expand(prepared: Prepared, lo: datetime, hi: datetime) -> tuple[Shown, ...]:
    series = prepared.series
    assert series is not None
    tz = series.tz
    out: list[Shown] = []
    text = occurrence_text(
        prepared.id,
        prepared.title,
        prepared.all_day,
        prepared.recurring,
        prepared.location,
        prepared.owner,
    )
    utcoffset = tz.utcoffset
    for occ in series.between(lo, hi):
        value, rid, override = occ.start, occ.recurrence_id, occ.override
        if isinstance(value, datetime):
            # ``_stamp`` and ``_shown`` inlined: most of a view's occurrences are timed ones
            # of a series, and each call and ``isoformat`` counts thousands of times over
            iso = value.isoformat()
            offset = utcoffset(value) or _ZERO
            start = iso + _offset(offset)
            key = _utc(value, offset)
            until = occ.end
            assert isinstance(until, datetime)
            until_offset = utcoffset(until) or _ZERO
            end = until.isoformat() + _offset(until_offset)
            until_key = _utc(until, until_offset)
            # rid_key's compact form (20260601T090000), without strftime; an occurrence
            # that was not moved starts at its recurrence id (the same object)
            if rid is None:
                rid_text = None
            elif rid is value:
                rid_text = iso.replace("-", "").replace(":", "")
            else:
                rid_text = rid.isoformat().replace("-", "").replace(":", "")
        else:
            key, start = _stamp(value, tz)
            until_key, end = _stamp(occ.end, tz)
            rid_text = None if rid is None else rid.isoformat().replace("-", "")
        if override is None:
            title_text = location_text = None
        else:
            title, location = override.fields.get("title"), override.fields.get("location")
            title_text = None if title is None else str(title)
            location_text = None if location is None else str(location)
        out.append(
            Shown(
                key,
                start,
                end,
                rid_text,
                title_text,
                location_text,
                until_key,
                text(start, end, rid_text, title_text, location_text),
            )
        )
    return tuple(out)


_MIDS: dict[tuple[str, str], bytes] = {}


def _mid(location: str, owner: str) -> bytes:
    """The row piece from ``busy_only`` to ``owner_name``: one bytes object per (place,
    owner), shared by the cached occurrences (most of a person's entries share both)."""
    found = _MIDS.get((location, owner))
    if found is None:
        if len(_MIDS) >= 20_000:
            _MIDS.clear()
        found = _MIDS[(location, owner)] = _make_mid(location, owner)
    return found


def _make_mid(location: str, owner: str) -> bytes:
    text = f',"busy_only":false,"location":{_js(location)},"owner_id":{_js(owner)},"owner_name":'
    return text.encode()


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
    start (all-day first on a day, then by id), and whether ``cap`` cut the answer: the rows
    ``render`` writes, read back."""
    shown = in_range([prepare(e) for e in entries], lo, hi)
    body, truncated = render(shown, rel, names, me, cap)
    found: list[OccurrenceRow] = json.loads(body)
    return found, truncated


def in_range(
    series: Iterable[Prepared | None], lo: datetime, hi: datetime
) -> Iterator[tuple[Prepared, Sequence[Shown]]]:
    """Prepared series (None: a record that does not compile, left out) with their
    occurrences in ``[lo, hi)``, as ``render`` takes them."""
    lo_iso, hi_iso = to_iso(lo), to_iso(hi)
    for prepared in series:
        if prepared is not None:
            yield prepared, occurrences(prepared, lo, hi, lo_iso, hi_iso)


# A month's stored series as ``api.schedules.months`` keeps them (JSON arrays): id, version,
# visibility, work ids, title, place, all day, recurring, occurrences; each occurrence: UTC
# start, UTC end, start and end as the API writes them, recurrence id, edited title, edited
# place.
StoredSeries = Sequence[Any]


def render(
    series: Iterable[tuple[Prepared, Sequence[Shown]]],
    rel: Relations,
    names: Mapping[str, str],
    me: str,
    cap: int,
    stored: Iterable[tuple[str, Sequence[StoredSeries]]] = (),
    bounds: tuple[str, str, bool] = ("", "", False),
) -> tuple[bytes, bool]:
    """Series with their occurrences in the range (``in_range``), and owners' stored series
    (``stored``: month buckets, ``api.schedules.months``, whose occurrences are kept when they
    overlap ``bounds``: the range as UTC ISO strings and whether the months are several, so
    an occurrence over a month's end comes twice and is shown once), as the reader may see
    them: the JSON list of ``OccurrenceRead`` the list endpoint sends, sorted by start
    (all-day first on a day, then by id), and whether ``cap`` cut the answer. The stored
    series come first, so a cut answer is always the same."""
    rows = _Rows(rel, names, me, cap)
    lo_iso, hi_iso, several = bounds
    for owner, kept in stored:
        for one in kept:
            if rows.add_stored(owner, one, lo_iso, hi_iso, several):
                return rows.body()
    for prepared, shown in series:
        if shown and rows.add_shown(prepared, shown):
            break
    return rows.body()


class _Rows:
    """The rows of one answer: (sort key, pieces), the key being the UTC start (fixed width),
    0 for an all-day row or 1, and the row's id, as one string (faster to sort than tuples
    with many equal starts); the pieces are joined once, at the end."""

    def __init__(self, rel: Relations, names: Mapping[str, str], me: str, cap: int) -> None:
        self.rel = rel
        self.names = names
        self.me = me
        self.cap = cap
        self.out: list[tuple[str, tuple[bytes, ...]]] = []
        self.truncated = False
        self._quoted: dict[str, bytes] = {}
        # (work ids, the reader's own, visibility) -> the row's work and end pieces: series
        # of the same works share them
        self._ends: dict[tuple[tuple[str, ...], bool, str], tuple[bytes, bytes]] = {}
        self._seen: set[tuple[str, str]] = set()

    def name(self, owner: str) -> bytes:
        found = self._quoted.get(owner)
        if found is None:
            found = self._quoted[owner] = _js(self.names.get(owner, "")).encode()
        return found

    def ends(self, owner: str, visibility: str, work_ids: tuple[str, ...]) -> tuple[bytes, bytes]:
        """The work and end pieces of a row the reader sees in full."""
        mine = owner == self.me
        key = (work_ids, mine, visibility)
        made = self._ends.get(key)
        if made is None:
            my_roles = self.rel.my_roles
            works = [w for w in work_ids if w in my_roles or mine]
            made = self._ends[key] = (
                _js(works[0]).encode() if works else b"null",
                (
                    "["
                    + ",".join(_js(w) for w in works)
                    + f'],"visibility":"{visibility}",'
                    + f'"editable":{"true" if mine else "false"}}}'
                ).encode(),
            )
        return made

    def cut(self) -> bool:
        """Whether the answer is full (``cap``): then it is cut there."""
        if len(self.out) >= self.cap:
            del self.out[self.cap :]
            self.truncated = True
        return self.truncated

    def busy(self, owner: str, series_id: str, all_day: bool, occs: Iterable[Shown]) -> None:
        """7(4): only that the time is taken; the id reveals nothing of the entry."""
        day = "true" if all_day else "false"
        timed = "0" if all_day else "1"
        middle = f',"all_day":{day},"work_id":null,"busy_only":true,"location":null,'
        busy_tail = (
            f'"owner_id":{_js(owner)},"owner_name":'.encode(),
            self.name(owner),
            b',"series_id":null,"recurrence_id":null,"recurring":false,"work_ids":[],'
            b'"visibility":null,"editable":false}',
        )
        for occ in occs:
            digest = hashlib.sha256(f"{series_id}|{occ.start}".encode()).hexdigest()
            row_id = f"busy-{digest[:24]}"
            head = (
                f'{{"id":"{row_id}","title":null,"start":{_js(occ.start)},'
                f'"end":{_js(occ.end)}{middle}'
            ).encode()
            self.out.append((occ.key + timed + row_id, (head, *busy_tail)))

    def add_shown(self, prepared: Prepared, shown: Sequence[Shown]) -> bool:
        """A series read from the store, with its occurrences; whether the answer is full."""
        owner = prepared.owner
        if not self.rel.sees(owner, prepared.visibility, prepared.work_ids):
            self.busy(owner, prepared.id, prepared.all_day, shown)
            return self.cut()
        work, rest = self.ends(owner, prepared.visibility, prepared.work_ids)
        name = self.name(owner)
        timed = "0" if prepared.all_day else "1"
        out = self.out
        for occ in shown:
            head, mid, tail = occ.text
            row_id = f"{prepared.id}:{occ.rid}" if occ.rid else prepared.id
            out.append((occ.key + timed + row_id, (head, work, mid, name, tail, rest)))
        return self.cut()

    def add_stored(
        self, owner: str, series: StoredSeries, lo_iso: str, hi_iso: str, several: bool
    ) -> bool:
        """A stored series of ``owner`` (see ``render``); whether the answer is full. Its rows
        are written here from the stored values (``occurrence_text``), with no object per
        occurrence in between."""
        sid, _, visibility, work_ids, title, location, all_day, recurring, occs = series
        kept = [
            o
            for o in occs
            # as ``occurrences`` for a single entry and ``Series.between``: start < hi and
            # lo < end; one of zero length: lo <= start < hi
            if (lo_iso <= o[0] < hi_iso if o[0] == o[1] else o[0] < hi_iso and lo_iso < o[1])
        ]
        if several:
            seen = self._seen
            fresh = []
            for o in kept:
                once = (sid, o[4] or o[0])
                if once not in seen:
                    seen.add(once)
                    fresh.append(o)
            kept = fresh
        if not kept:
            return False
        visibility = PRIVATE if visibility == PRIVATE else PUBLIC
        works = tuple(work_ids)
        if not self.rel.sees(owner, visibility, works):
            self.busy(owner, sid, all_day, (Shown(o[0], o[2], o[3]) for o in kept))
            return self.cut()
        work, rest = self.ends(owner, visibility, works)
        name = self.name(owner)
        timed = "0" if all_day else "1"
        text = occurrence_text(sid, title, all_day, recurring, location, owner)
        out = self.out
        for key, _, start, end, rid, o_title, o_location in kept:
            head, mid, tail = text(start, end, rid, o_title, o_location)
            row_id = sid if rid is None else f"{sid}:{rid}"
            out.append((key + timed + row_id, (head, work, mid, name, tail, rest)))
        return self.cut()

    def body(self) -> tuple[bytes, bool]:
        out = self.out
        out.sort(key=itemgetter(0))
        # One join of every piece: the rows are never copied into strings of their own.
        pieces: list[bytes] = [b"["]
        for row in out:
            pieces += row[1]
            pieces.append(b",")
        if out:
            pieces[-1] = b"]"
        else:
            pieces.append(b"]")
        return b"".join(pieces), self.truncated


_SHOWN: Lru[tuple[str, str, int], bool] = Lru(4_096)


def first_view(owners: set[str], lo: datetime, hi: datetime) -> bool:
    """Whether this process shows the series of ``owners`` in ``[lo, hi)`` for the first
    time (then it has next to nothing prepared for them, and the view reads every field it
    needs at once instead of ids and versions first); remembers the range."""
    key = (to_iso(lo), to_iso(hi), hash(frozenset(owners)))
    if _SHOWN.get(key) is not None:
        return False
    _SHOWN.put(key, True)
    return True


def clear_caches() -> None:
    """Forget every prepared series, expansion, range shown and decoded month bucket (tests;
    the benchmark's fresh process): every ``Lru`` of the schedules."""
    for cache in _CACHES:
        cache.clear()
