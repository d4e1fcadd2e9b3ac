"""Recurrence: expand a stored series (RFC 5545 RRULE, RDATE, EXDATE, RECURRENCE-ID overrides)
into the occurrences of one viewed range, and nothing more (issue 9 §3: "expand recurrences
lazily for the viewed range, never into millions of rows").

Why not call ``recurring-ical-events`` on every view: both it and dateutil walk a rule from its
DTSTART to the viewed range, so a weekly series begun years ago costs hundreds of steps per
view, a daily one thousands (measured: 1,000 daily series begun in 2020, one month of 2026:
20 s). The view path therefore *rebases* the rule: it starts the walk at a whole number of
periods after DTSTART, just before the range, which leaves the set of occurrences unchanged
because

- every implicit BY part is made explicit first (WEEKLY → BYDAY of DTSTART's weekday, MONTHLY →
  BYMONTHDAY, YEARLY → BYMONTH + BYMONTHDAY, and BYHOUR/BYMINUTE/BYSECOND of DTSTART's time),
  so the new start's own day and time no longer shape the rule;
- the shift is a multiple of INTERVAL periods (and MONTHLY/YEARLY restart at the first day of a
  period at midnight), so INTERVAL's phase and BYSETPOS's per-period sets are the same;
- COUNT is resolved once, when the series is saved, into the instant of its last instance
  (``until``), because counting needs the walk from DTSTART.

Most rules need no walk at all: a plain DAILY, WEEKLY or MONTHLY rule (``Plain``: INTERVAL,
BYDAY, BYMONTHDAY, the time of day) has its instances in a range computed directly, a few
times cheaper than building a dateutil rule for each view; it is checked against dateutil
on random rules.

The walk runs in the series' own wall-clock time (naive datetimes of its IANA zone), then each
occurrence is placed in the zone: BYDAY=MO at 08:00 Asia/Tokyo stays a Monday even though it is
a Sunday in UTC (module-anchors §1: "RRULE wrong day across TZ"), and a DST change keeps the
local time. Durations are wall-clock (DTEND - DTSTART in local time), as recurring-ical-events
computes them; DTSTART is always the first occurrence (RFC 5545 3.8.5.3), also when the rule
does not match it. ``tests/schedules/test_recurrence.py`` checks every expansion against
recurring-ical-events on the same VEVENT, over random rules, zones, exceptions and ranges.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

# Imported with the module, not on the first rule compiled: icalendar takes ~0.1 s to import,
# which the first month view after start-up would otherwise wait for.
from icalendar.prop import vRecur

# Frequencies finer than this are refused (a minutely rule without end is millions of
# instances a year; issue 9 "Bad input").
FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
REFUSED_FREQS = ("MINUTELY", "SECONDLY")
_DU_FREQ: dict[str, Any] = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
    "HOURLY": du.HOURLY,
}
_DAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
DAY_CODES = tuple(_DAYS)
MAX_COUNT = 10_000  # COUNT above this is refused: its end cannot be found cheaply
MAX_INTERVAL = 1000
MAX_PER_SERIES = 2_000  # occurrences of one series in one answer
FOREVER = datetime(9999, 12, 31)


class RuleError(ValueError):
    """A recurrence the system does not accept; the message is Japanese (shown to people)."""


Local = datetime | date  # naive wall-clock datetime, or a date for all-day series


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``RuleError`` when unknown."""
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise RuleError(f"タイムゾーン「{name[:60]}」は不明です。") from exc


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    if not name or "\x00" in name:
        raise ValueError(name)
    return ZoneInfo(name)


def parse_local(value: str) -> Local:
    """A stored wall-clock value: ``YYYY-MM-DD`` (all-day) or ``YYYY-MM-DDTHH:MM:SS``."""
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value).replace(tzinfo=None)


def format_local(value: Local) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return value.isoformat()


_ZERO = timedelta(0)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


_SLACK = timedelta(days=2)
_BOUNDS: dict[
    tuple[tzinfo, datetime, datetime], tuple[datetime, datetime, tuple[datetime, datetime]]
]
_BOUNDS = {}


def _local_bounds(
    tz: tzinfo, lo_utc: datetime, hi_utc: datetime
) -> tuple[datetime, datetime, tuple[datetime, datetime]]:
    """``[lo_utc, hi_utc)`` as naive wall-clock values of ``tz`` and as naive UTC (cached: a
    view asks it of hundreds of series in a few zones)."""
    key = (tz, lo_utc, hi_utc)
    found = _BOUNDS.get(key)
    if found is None:
        if len(_BOUNDS) >= 256:
            _BOUNDS.clear()
        found = _BOUNDS[key] = (
            lo_utc.astimezone(tz).replace(tzinfo=None),
            hi_utc.astimezone(tz).replace(tzinfo=None),
            (_naive_utc(lo_utc), _naive_utc(hi_utc)),
        )
    return found


def _as_dt(value: Local) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time())


@dataclass(frozen=True)
class Rule:
    """A parsed RRULE with every implicit part made explicit (see the module docstring)."""

    freq: str
    interval: int
    kwargs: Mapping[str, Any]
    count: int | None
    until: datetime | None  # naive local (inclusive), from UNTIL or resolved COUNT

    @cached_property
    def plain(self) -> Plain | None:
        """The rule as a ``Plain`` walk when it is a plain daily or weekly one, else None."""
        return _plain(self)


@dataclass(frozen=True)
class Plain:
    """A rule that needs no walk from its start: DAILY, WEEKLY or MONTHLY whose only parts
    are INTERVAL, WKST, BYDAY (ordinals only when MONTHLY), or for MONTHLY BYMONTHDAY
    instead of BYDAY, and the time of day (BYHOUR/BYMINUTE/BYSECOND). That is most rules
    people write ("every weekday", "every other Monday", "the 2nd Tuesday", "the 15th").
    Its instances in a range are computed directly (``walk``); they equal dateutil's
    (``tests/schedules/test_recurrence.py`` compares them on random rules)."""

    freq: str
    interval: int
    wkst: int
    days: frozenset[int]  # weekdays (0 = Monday) of DAILY/WEEKLY; empty: every day (DAILY)
    nth: tuple[tuple[int, int], ...]  # MONTHLY BYDAY: (weekday, n); n = 0: every such day
    monthdays: tuple[int, ...]  # MONTHLY BYMONTHDAY (negative: from the month's end)
    times: tuple[time, ...]

    def walk(
        self, start: datetime, until: datetime | None, lo: datetime, hi: datetime
    ) -> Iterator[datetime]:
        """Instants of the rule begun at ``start`` with ``lo <= t <= hi`` (naive local),
        unordered."""
        lo = max(lo, start)
        if until is not None:
            hi = min(hi, until)
        if lo > hi:
            return
        first, last = lo.date(), hi.date()
        if self.freq == "MONTHLY":
            # The month of DTSTART is active, then every INTERVAL-th.
            month = first.year * 12 + first.month - 1
            lag = (month - (start.year * 12 + start.month - 1)) % self.interval
            month += (self.interval - lag) % self.interval
            while month <= last.year * 12 + last.month - 1:
                year, index = divmod(month, 12)
                for day in self._month_days(year, index + 1):
                    yield from self._at(day, lo, hi)
                month += self.interval
            return
        if self.freq == "WEEKLY":
            # Weeks begin on WKST; the week of DTSTART is active, then every INTERVAL-th.
            week0 = start.date() - timedelta(days=(start.weekday() - self.wkst) % 7)
            step = timedelta(days=7 * self.interval)
            for wd in self.days:
                day = first + timedelta(days=(wd - first.weekday()) % 7)
                week = (day - timedelta(days=(wd - self.wkst) % 7) - week0).days // 7
                if week % self.interval:
                    day += timedelta(days=7 * (self.interval - week % self.interval))
                while day <= last:
                    yield from self._at(day, lo, hi)
                    day += step
            return
        lag = (first - start.date()).days % self.interval
        day = first + timedelta(days=(self.interval - lag) % self.interval)
        step = timedelta(days=self.interval)
        while day <= last:
            if not self.days or day.weekday() in self.days:
                yield from self._at(day, lo, hi)
            day += step

    def _month_days(self, year: int, month: int) -> set[date]:
        size = _calendar.monthrange(year, month)[1]
        numbers: set[int] = set()
        for n in self.monthdays:
            numbers.add(n if n > 0 else size + n + 1)
        if self.nth:
            weekday1 = _calendar.weekday(year, month, 1)
            for wd, n in self.nth:
                matching = range(1 + (wd - weekday1) % 7, size + 1, 7)
                if n == 0:
                    numbers.update(matching)
                elif -len(matching) <= n <= len(matching):
                    numbers.add(matching[n - 1 if n > 0 else n])
        return {date(year, month, d) for d in numbers if 1 <= d <= size}

    def _at(self, day: date, lo: datetime, hi: datetime) -> Iterator[datetime]:
        for at in self.times:
            t = datetime.combine(day, at)
            if lo <= t <= hi:
                yield t


_PLAIN_PARTS = frozenset({"interval", "wkst", "byweekday", "byhour", "byminute", "bysecond"})


def _plain(rule: Rule) -> Plain | None:
    parts = set(rule.kwargs)
    monthly = rule.freq == "MONTHLY"
    if monthly:
        parts.discard("bymonthday")
        if "bymonthday" in rule.kwargs and "byweekday" in rule.kwargs:
            return None  # both: their intersection; left to dateutil
    if rule.freq not in ("DAILY", "WEEKLY", "MONTHLY") or not parts <= _PLAIN_PARTS:
        return None
    days: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for day in rule.kwargs.get("byweekday") or ():
        weekday, n = (day.weekday, day.n or 0) if isinstance(day, du.weekday) else (int(day), 0)
        if n and not monthly:
            return None  # an ordinal outside MONTHLY: not plain
        days.add(weekday)
        nth.add((weekday, n))
    monthdays = tuple(int(d) for d in rule.kwargs.get("bymonthday") or ())
    if rule.freq == "WEEKLY" and not days:
        return None
    if monthly and not (nth or monthdays):
        return None
    if len({n == 0 for _, n in nth}) > 1:
        return None  # ordinals mixed with plain weekdays: dateutil yields nothing; keep it
    hours = rule.kwargs.get("byhour")
    minutes = rule.kwargs.get("byminute")
    seconds = rule.kwargs.get("bysecond")
    if not hours or not minutes or not seconds:
        return None
    times = tuple(sorted(time(h, m, s) for h in hours for m in minutes for s in seconds if s < 60))
    if not times:
        return None
    return Plain(
        freq=rule.freq,
        interval=rule.interval,
        wkst=int(rule.kwargs.get("wkst", 0)),
        days=frozenset(days) if not monthly else frozenset(),
        nth=tuple(sorted(nth)) if monthly else (),
        monthdays=monthdays,
        times=times,
    )


@lru_cache(maxsize=1024)
def _rule_parts(text: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The parts of an RRULE value as icalendar reads them (cached: a view compiles hundreds
    of series whose rules are a few distinct texts, and reading one costs more than the rest
    of compiling its series). Tuples, so no caller can change a cached value."""
    try:
        parts = vRecur.from_ical(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise RuleError("繰り返しの規則(RRULE)を読み取れません。") from exc
    return tuple((str(k).upper(), tuple(v)) for k, v in parts.items())


def parse_rule(text: str, start: Local, tz: tzinfo) -> Rule:
    """Parse ``text`` (the value of RRULE) for a series starting at ``start`` (naive local)
    in ``tz``. Raises ``RuleError`` for rules refused here."""
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or len(text) > 500:
        raise RuleError("繰り返しの規則が正しくありません。")
    values: dict[str, list[Any]] = {k: list(v) for k, v in _rule_parts(text)}
    freq = str((values.pop("FREQ", [""]) or [""])[0]).upper()
    if freq in REFUSED_FREQS:
        raise RuleError("分・秒単位の繰り返しは登録できません(予定が膨大になるため)。")
    if freq not in _DU_FREQ:
        raise RuleError("繰り返しの頻度(FREQ)が正しくありません。")
    interval = int((values.pop("INTERVAL", [1]) or [1])[0])
    if not 1 <= interval <= MAX_INTERVAL:
        raise RuleError("繰り返しの間隔(INTERVAL)が正しくありません。")
    count_v = values.pop("COUNT", None)
    until_v = values.pop("UNTIL", None)
    if count_v and until_v:
        raise RuleError("COUNT と UNTIL は同時に指定できません。")
    count = int(count_v[0]) if count_v else None
    if count is not None and not 1 <= count <= MAX_COUNT:
        raise RuleError(f"繰り返し回数(COUNT)は 1 から {MAX_COUNT:,} までです。")
    until = _local_until(until_v[0], start, tz) if until_v else None
    start_dt = _as_dt(start)
    kw: dict[str, Any] = {"interval": interval}
    wkst = values.pop("WKST", None)
    if wkst:
        kw["wkst"] = _DAYS[str(wkst[0]).upper()[-2:]]
    byday = values.pop("BYDAY", None)
    if byday:
        kw["byweekday"] = tuple(_weekday(str(d)) for d in byday)
    for key, name, lo, hi in (
        ("BYMONTH", "bymonth", 1, 12),
        ("BYMONTHDAY", "bymonthday", -31, 31),
        ("BYYEARDAY", "byyearday", -366, 366),
        ("BYWEEKNO", "byweekno", -53, 53),
        ("BYSETPOS", "bysetpos", -366, 366),
        ("BYHOUR", "byhour", 0, 23),
        ("BYMINUTE", "byminute", 0, 59),
        ("BYSECOND", "bysecond", 0, 60),
    ):
        got = values.pop(key, None)
        if got:
            numbers = tuple(int(x) for x in got)
            if any(not lo <= n <= hi or (n == 0 and lo < 0) for n in numbers):
                raise RuleError(f"{key} の値が正しくありません。")
            kw[name] = numbers
    if values:
        raise RuleError(f"対応していない繰り返しの指定です({', '.join(sorted(values))})。")
    # Make the implicit parts explicit (RFC 5545 3.3.10: taken from DTSTART).
    if freq == "WEEKLY" and "byweekday" not in kw:
        kw["byweekday"] = (start_dt.weekday(),)
    if freq == "MONTHLY" and not ({"byweekday", "bymonthday", "byyearday"} & kw.keys()):
        kw["bymonthday"] = (start_dt.day,)
    if freq == "YEARLY" and not (
        {"byweekday", "bymonthday", "byyearday", "byweekno", "bymonth"} & kw.keys()
    ):
        kw["bymonth"] = (start_dt.month,)
        kw["bymonthday"] = (start_dt.day,)
    elif (
        freq == "YEARLY"
        and "bymonth" in kw
        and not ({"byweekday", "bymonthday", "byyearday", "byweekno"} & kw.keys())
    ):
        kw["bymonthday"] = (start_dt.day,)
    if freq != "HOURLY":
        kw.setdefault("byhour", (start_dt.hour,))
    kw.setdefault("byminute", (start_dt.minute,))
    kw.setdefault("bysecond", (start_dt.second,))
    rule = Rule(freq, interval, kw, count, until)
    if count is not None:
        rule = Rule(freq, interval, kw, count, _count_end(rule, start_dt))
    return rule


def _weekday(code: str) -> du.weekday:
    code = code.strip().upper()
    day = _DAYS.get(code[-2:])
    if day is None:
        raise RuleError("BYDAY の曜日が正しくありません。")
    n = code[:-2]
    if not n or n == "+":
        return du.weekday(day)
    number = int(n)
    if number == 0 or not -53 <= number <= 53:
        raise RuleError("BYDAY の番号が正しくありません。")
    return du.weekday(day, number)


def _local_until(value: Any, start: Local, tz: tzinfo) -> datetime:
    """UNTIL as naive local wall time of the series (inclusive bound).

    As recurring-ical-events reads it: a UTC value is converted to the zone; a date UNTIL of a
    timed series means that date at 00:00 UTC; a date UNTIL of an all-day series, that date."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(tz).replace(tzinfo=None)
    if isinstance(value, date):
        if isinstance(start, datetime):
            return datetime.combine(value, time(), UTC).astimezone(tz).replace(tzinfo=None)
        return datetime.combine(value, time())
    raise RuleError("UNTIL の値が正しくありません。")


def _rrule(rule: Rule, dtstart: datetime) -> du.rrule:
    return du.rrule(
        _DU_FREQ[rule.freq], dtstart=dtstart, until=rule.until, cache=False, **rule.kwargs
    )


def _count_end(rule: Rule, start: datetime) -> datetime:
    """The last of the first COUNT instances (dateutil counts only matching instances; an
    unmatched DTSTART is an extra occurrence, as in recurring-ical-events)."""
    assert rule.count is not None
    last = start
    for n, when in enumerate(
        du.rrule(_DU_FREQ[rule.freq], dtstart=start, count=rule.count, cache=False, **rule.kwargs)
    ):
        last = when
        if n + 1 >= rule.count:
            break
    return last


def _rebased_start(rule: Rule, start: datetime, before: datetime) -> datetime:
    """A start a whole number of periods after ``start``, at or before ``before`` (see the
    module docstring); ``start`` itself when no whole period fits."""
    if before <= start:
        return start
    n = rule.interval
    if rule.freq in ("DAILY", "WEEKLY"):
        days = 1 if rule.freq == "DAILY" else 7
        k = (before - start).days // (days * n)
        return start + timedelta(days=k * days * n)
    if rule.freq == "HOURLY":
        hours = int((before - start).total_seconds() // 3600)
        return start + timedelta(hours=(hours // n) * n)
    if rule.freq == "MONTHLY":
        months = (before.year - start.year) * 12 + before.month - start.month
        k = months // n
        if k <= 0:
            return start
        index = start.year * 12 + start.month - 1 + k * n
        return datetime(index // 12, index % 12 + 1, 1)
    k = (before.year - start.year) // n  # YEARLY
    if k <= 0:
        return start
    return datetime(start.year + k * n, 1, 1)


@dataclass(frozen=True)
class Override:
    """One occurrence edited on its own (RECURRENCE-ID): new times and/or fields."""

    start: Local
    end: Local
    fields: Mapping[str, Any] = field(default_factory=dict)


class Occurrence(NamedTuple):
    recurrence_id: Local | None  # None: the series has no recurrence
    start: Local
    end: Local
    override: Override | None = None


@dataclass
class Series:
    """A stored series, ready to expand (built once per record version; see ``compile``)."""

    tz: ZoneInfo
    all_day: bool
    start: Local
    end: Local
    rule: Rule | None = None
    rdates: tuple[Local, ...] = ()
    exdates: frozenset[Local] = frozenset()
    overrides: Mapping[Local, Override] = field(default_factory=dict)

    @cached_property
    def duration(self) -> timedelta:
        return _as_dt(self.end) - _as_dt(self.start)

    def _instants(self, lo: datetime, hi: datetime) -> Iterator[datetime]:
        """Rule, DTSTART and RDATE instants (naive local) with ``lo <= t <= hi``."""
        start = _as_dt(self.start)
        seen: set[datetime] = set()
        for t in (start, *(_as_dt(r) for r in self.rdates)):
            if lo <= t <= hi and t not in seen and (t is not start or self._start_counts()):
                seen.add(t)
                yield t
        if self.rule is None:
            return
        if self.rule.until is not None and self.rule.until < lo:
            return
        plain = self.rule.plain
        if plain is not None:
            found: Iterable[datetime] = plain.walk(start, self.rule.until, lo, hi)
        else:
            begin = _rebased_start(self.rule, start, lo)
            found = _rrule(self.rule, begin).between(lo, hi, inc=True)
        for t in found:
            if t not in seen:
                seen.add(t)
                yield t

    def _start_counts(self) -> bool:
        """DTSTART is an occurrence unless it lies after the rule's UNTIL (as in
        recurring-ical-events)."""
        rule = self.rule
        return rule is None or rule.until is None or _as_dt(self.start) <= rule.until

    def _excluded(self, t: datetime) -> bool:
        key: Local = t.date() if self.all_day else t
        return key in self.exdates or t.date() in self.exdates or key in self.overrides

    def between(self, lo_utc: datetime, hi_utc: datetime) -> list[Occurrence]:
        """Occurrences overlapping ``[lo_utc, hi_utc)`` (aware datetimes), unordered; at most
        ``MAX_PER_SERIES``. Overlap as recurring-ical-events: ``start < hi`` and ``lo < end``;
        a zero-length occurrence counts when ``lo <= start < hi``."""
        dur = self.duration
        lo, hi, bounds = _local_bounds(self.tz, lo_utc, hi_utc)
        out: list[Occurrence] = []
        excepted = bool(self.exdates or self.overrides)
        recurring = bool(self.rule or self.rdates)
        all_day = self.all_day
        # Wall-clock slack: a DST change or an all-day date moves instants by hours.
        for t in self._instants(lo - dur - _SLACK, hi + _SLACK):
            if excepted and self._excluded(t):
                continue  # excluded, or replaced by its edited occurrence (below)
            end = t + dur
            if self._overlaps(t, end, bounds):
                start: Local = t.date() if all_day else t
                out.append(
                    Occurrence(
                        start if recurring else None,
                        start,
                        end.date() if all_day else end,
                    )
                )
                if len(out) >= MAX_PER_SERIES:
                    return out
        for key, over in self.overrides.items():
            if key in self.exdates:
                continue
            if self._overlaps(_as_dt(over.start), _as_dt(over.end), bounds):
                out.append(Occurrence(key, over.start, over.end, over))
        return out

    def _overlaps(self, start: datetime, end: datetime, bounds: tuple[datetime, datetime]) -> bool:
        """Whether wall-clock ``start``..``end`` overlaps ``bounds`` (naive UTC). The UTC
        instants are the wall values less their zone offset (fold 0, as an aware value of the
        zone compares); the zone's ``utcoffset`` is cached, ``replace`` is not."""
        lo, hi = bounds
        utcoffset = self.tz.utcoffset
        a = start - (utcoffset(start) or _ZERO)
        if start == end:  # zero length: as compared in the zone, wall values
            return lo <= a < hi
        b = end - (utcoffset(end) or _ZERO)
        return a < hi and lo < b

    def first_last(self) -> tuple[datetime, datetime] | None:
        """UTC bounds of every occurrence: a start at or before the first and an end at or
        after the last (``FOREVER`` for a rule without end), or None when every instance is
        excluded. Cheap: a rule is walked only until one instance survives its exceptions,
        and at most ``MAX_COUNT`` instances."""
        dur = self.duration
        start = _as_dt(self.start)
        overrides = [o for k, o in self.overrides.items() if k not in self.exdates]
        lows = [start, *(_as_dt(r) for r in self.rdates), *(_as_dt(o.start) for o in overrides)]
        highs = [start + dur, *(_as_dt(r) + dur for r in self.rdates)]
        highs += [_as_dt(o.end) for o in overrides]
        unbounded = self.rule is not None and self.rule.until is None
        if self.rule is not None and self.rule.until is not None:
            highs.append(self.rule.until + dur)
        alive = bool(overrides) or any(
            not self._excluded(t)
            for t in (start, *(_as_dt(r) for r in self.rdates))
            if t is not start or self._start_counts()
        )
        if not alive and self.rule is not None:
            for n, t in enumerate(_rrule(self.rule, start)):
                if not self._excluded(t):
                    alive = True
                    break
                if n >= MAX_COUNT:
                    alive = True  # too long to prove empty; keep it
                    break
        if not alive:
            return None
        first = min(lows).replace(tzinfo=self.tz).astimezone(UTC)
        if unbounded:
            return first, FOREVER.replace(tzinfo=UTC)
        return first, max(highs).replace(tzinfo=self.tz).astimezone(UTC)


def compile_series(
    *,
    tz_name: str,
    all_day: bool,
    start: str,
    end: str,
    rrule: str | None = None,
    rdates: Sequence[str] = (),
    exdates: Sequence[str] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Series:
    """A ``Series`` from stored values (wall-clock strings); ``RuleError`` when refused."""
    tz = zone(tz_name)
    s, e = parse_local(start), parse_local(end)
    if all_day != (not isinstance(s, datetime)) or type(s) is not type(e):
        raise RuleError("開始と終了の形式が一致しません。")
    if _as_dt(e) < _as_dt(s):
        raise RuleError("終了は開始より後にしてください。")
    rule = parse_rule(rrule, s, tz) if rrule else None
    over: dict[Local, Override] = {}
    for key, value in (overrides or {}).items():
        over[parse_local(key)] = Override(
            parse_local(str(value["start"])),
            parse_local(str(value["end"])),
            {k: v for k, v in value.items() if k not in ("start", "end")},
        )
    return Series(
        tz=tz,
        all_day=all_day,
        start=s,
        end=e,
        rule=rule,
        rdates=tuple(parse_local(r) for r in rdates),
        exdates=frozenset(parse_local(x) for x in exdates),
        overrides=over,
    )


def month_days(year: int, month: int) -> int:
    return _calendar.monthrange(year, month)[1]
