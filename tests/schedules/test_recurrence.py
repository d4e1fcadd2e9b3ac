"""The expansion engine (``api.schedules.recurrence``) against an outside oracle:
recurring-ical-events expanding the same VEVENT text (``tests/schedules/oracle.py``), over
random rules (daily to yearly, intervals, BYDAY with ordinals, BYMONTHDAY incl. 31 and -1,
BYSETPOS, COUNT, UNTIL), zones with and without DST (Tokyo, UTC, New York, Berlin, Lord Howe's
half-hour change), all-day and timed series, EXDATEs, moved occurrences and ranges from a day
to six weeks, with series begun up to seven years before the range (the rebased walk).

Known difference, excluded on purpose: recurring-ical-events matches exceptions on UTC *and*
local naive times at once, so in a zone east of UTC an EXDATE or RECURRENCE-ID at local 08:00
also hits another instance whose UTC time is 08:00 (e.g. ``BYHOUR=8,17`` in Tokyo). The
engine matches in the series' zone only (RFC 5545 3.8.5.1); cases with several instances a day
and exceptions are therefore compared in UTC only."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.schedules.recurrence import RuleError, compile_series, format_local, parse_local
from tests.schedules.oracle import occurrences, vevent

ZONES = ["Asia/Tokyo", "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def random_rule(rng: random.Random, all_day: bool) -> str | None:
    if rng.random() < 0.1:
        return None
    freq = rng.choice(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"] + ([] if all_day else ["HOURLY"]))
    parts = [f"FREQ={freq}"]
    if freq == "HOURLY":
        parts.append(f"INTERVAL={rng.randint(5, 30)}")
    elif rng.random() < 0.5:
        parts.append(f"INTERVAL={rng.randint(1, 4)}")
    if freq == "WEEKLY" and rng.random() < 0.6:
        parts.append("BYDAY=" + ",".join(rng.sample(DAYS, rng.randint(1, 3))))
    if freq == "MONTHLY":
        pick = rng.random()
        if pick < 0.3:
            parts.append(f"BYDAY={rng.choice(['1', '2', '-1', '3'])}{rng.choice(DAYS)}")
        elif pick < 0.5:
            parts.append(f"BYMONTHDAY={rng.choice([1, 15, 28, 30, 31, -1])}")
        elif pick < 0.6:
            parts.append("BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1")
    if freq == "YEARLY" and rng.random() < 0.3:
        parts.append(f"BYMONTH={rng.randint(1, 12)}")
    if freq == "DAILY" and not all_day and rng.random() < 0.2:
        parts.append("BYHOUR=8,17")
    end = rng.random()
    if end < 0.3:
        parts.append(f"COUNT={rng.randint(1, 60)}")
    elif end < 0.5:
        until = datetime(2027, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
        parts.append(f"UNTIL={until:%Y%m%d}" if all_day else f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


def one_case(rng: random.Random) -> tuple[set[tuple[str, str]], set[tuple[str, str]], str]:
    tz = rng.choice(ZONES)
    zone = ZoneInfo(tz)
    all_day = rng.random() < 0.25
    begin = datetime(
        rng.choice([2019, 2024, 2026]),
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.choice([0, 30]),
    )
    start: datetime | date
    end: datetime | date
    if all_day:
        start = begin.date()
        end = start + timedelta(days=rng.randint(1, 3))
    else:
        start = begin
        end = begin + timedelta(minutes=rng.choice([0, 30, 60, 90, 600, 1500]))
    rule = random_rule(rng, all_day)
    lo = datetime(2026, rng.randint(1, 12), 1, tzinfo=zone)
    hi = lo + timedelta(days=rng.choice([1, 7, 31, 42]))
    plain = vevent(tz=tz, start=start, end=end, rrule=rule)
    known = sorted(occurrences(plain, lo - timedelta(days=400), hi))
    exdates: list[datetime | date] = []
    moved: list[tuple[datetime | date, datetime | date, datetime | date]] = []
    several_a_day = bool(rule and ("BYHOUR" in rule or "HOURLY" in rule))
    if not (several_a_day and tz != "UTC"):
        for first, _ in rng.sample(known, min(len(known), rng.randint(0, 3))):
            at = parse_local(first)
            if rng.random() < 0.5:
                exdates.append(at)
                continue
            base = at if isinstance(at, datetime) else datetime.combine(at, datetime.min.time())
            new = base + timedelta(days=rng.randint(-3, 3))
            if all_day:
                moved.append((at, new.date(), new.date() + timedelta(days=1)))
            else:
                moved.append((at, new, new + timedelta(hours=1)))
    text = vevent(tz=tz, start=start, end=end, rrule=rule, exdates=exdates, overrides=moved)
    want = occurrences(text, lo, hi)
    series = compile_series(
        tz_name=tz,
        all_day=all_day,
        start=format_local(start),
        end=format_local(end),
        rrule=rule,
        exdates=[format_local(x) for x in exdates],
        overrides={
            format_local(k): {"start": format_local(a), "end": format_local(b)} for k, a, b in moved
        },
    )
    got = {(format_local(o.start), format_local(o.end)) for o in series.between(lo, hi)}
    return got, want, f"{tz} {start}..{end} {rule} ex={exdates} moved={moved} {lo}..{hi}"


@pytest.mark.parametrize("seed", range(4))
def test_expansion_equals_recurring_ical_events(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(120):
        got, want, case = one_case(rng)
        assert got == want, case


def test_rules_are_applied_in_the_series_zone() -> None:
    """Module-anchors §1 (RRULE wrong day across TZ): Monday 08:00 in Tokyo is Sunday 23:00
    UTC; a weekly rule of the Tokyo series yields Mondays in Tokyo."""
    series = compile_series(
        tz_name="Asia/Tokyo",
        all_day=False,
        start="2026-06-01T08:00:00",
        end="2026-06-01T08:30:00",
        rrule="FREQ=WEEKLY",
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    got = series.between(datetime(2026, 6, 1, tzinfo=tokyo), datetime(2026, 7, 1, tzinfo=tokyo))
    assert sorted(o.start.weekday() for o in got) == [0] * 5  # type: ignore[union-attr]


def test_dst_keeps_the_local_time() -> None:
    """A 09:00 New York meeting stays at 09:00 across the change of 2026-03-08 (UTC moves)."""
    series = compile_series(
        tz_name="America/New_York",
        all_day=False,
        start="2026-03-02T09:00:00",
        end="2026-03-02T10:00:00",
        rrule="FREQ=WEEKLY;COUNT=3",
    )
    ny = ZoneInfo("America/New_York")
    got = sorted(
        o.start
        for o in series.between(datetime(2026, 3, 1, tzinfo=ny), datetime(2026, 4, 1, tzinfo=ny))
    )
    assert [
        (d.replace(tzinfo=ny).utcoffset() or timedelta()).total_seconds() / 3600 for d in got
    ] == [-5, -4, -4]  # type: ignore[union-attr]
    assert {d.hour for d in got} == {9}  # type: ignore[union-attr]


def test_a_series_begun_long_ago_is_expanded_cheaply_and_exactly() -> None:
    """The rebased walk: a daily series begun in 1990 gives exactly June 2026's days."""
    series = compile_series(
        tz_name="Asia/Tokyo",
        all_day=False,
        start="1990-01-01T07:00:00",
        end="1990-01-01T07:15:00",
        rrule="FREQ=DAILY;INTERVAL=3",
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    got = sorted(
        o.start
        for o in series.between(
            datetime(2026, 6, 1, tzinfo=tokyo), datetime(2026, 7, 1, tzinfo=tokyo)
        )
    )
    first = (date(2026, 6, 1) - date(1990, 1, 1)).days % 3
    assert [d.day for d in got] == list(range(1 + (3 - first) % 3, 31, 3))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;COUNT=5",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=10001",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z",
        "FREQ=FORTNIGHTLY",
        "FREQ=DAILY;BYMONTHDAY=0",
        "FREQ=DAILY;X-NAME=1",
    ],
)
def test_refused_rules(rule: str) -> None:
    with pytest.raises(RuleError) as exc:
        compile_series(
            tz_name="Asia/Tokyo",
            all_day=False,
            start="2026-06-01T08:00:00",
            end="2026-06-01T08:30:00",
            rrule=rule,
        )
    assert re.search(r"[ぁ-んァ-ン一-龥]", str(exc.value))  # a Japanese message


def random_plain_rule(rng: random.Random) -> str:
    """A DAILY, WEEKLY or MONTHLY rule of the kinds ``Plain`` computes without a walk, and
    some it must leave to dateutil (ordinals mixed with plain weekdays, BYSETPOS)."""
    freq = rng.choice(["DAILY", "WEEKLY", "MONTHLY"])
    parts = [f"FREQ={freq}"]
    if rng.random() < 0.6:
        parts.append(f"INTERVAL={rng.randint(1, 5)}")
    if freq == "MONTHLY":
        pick = rng.random()
        ordinals = ["", "1", "2", "-1", "5", "-5", "3", "4", "-2"]
        if pick < 0.4:
            days = rng.sample(DAYS, rng.randint(1, 2))
            parts.append("BYDAY=" + ",".join(rng.choice(ordinals) + d for d in days))
        elif pick < 0.8:
            numbers = [rng.choice([1, 15, 28, 29, 30, 31, -1, -2, -31]) for _ in range(2)]
            parts.append("BYMONTHDAY=" + ",".join(str(n) for n in numbers[: rng.randint(1, 2)]))
        elif pick < 0.9:
            parts.append("BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1")
    elif rng.random() < 0.6:
        parts.append("BYDAY=" + ",".join(rng.sample(DAYS, rng.randint(1, 4))))
    if rng.random() < 0.3:
        parts.append("WKST=" + rng.choice(DAYS))
    if rng.random() < 0.2:
        parts.append("BYHOUR=" + ",".join(str(h) for h in rng.sample(range(24), 2)))
    if rng.random() < 0.1:
        parts.append("BYMINUTE=0,30")
    end = rng.random()
    if end < 0.3:
        parts.append(f"COUNT={rng.randint(1, 40)}")
    elif end < 0.5:
        until = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%S}")
    return ";".join(parts)


@pytest.mark.parametrize("seed", range(2))
def test_plain_rules_give_what_dateutil_gives(seed: int) -> None:
    """``Plain.walk`` (no walk from DTSTART) against dateutil walking the same rule from
    DTSTART, over random plain rules, starts years back and ranges from an instant to 100
    days; rules it does not take stay with dateutil."""
    from dateutil import rrule as du

    from api.schedules.recurrence import _DU_FREQ, parse_rule

    rng = random.Random(seed)
    plain = 0
    for _ in range(1500):
        text = random_plain_rule(rng)
        start = datetime(
            rng.choice([2019, 2025, 2026]),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.choice([0, 30]),
        )
        rule = parse_rule(text, start, ZoneInfo("Asia/Tokyo"))
        if rule.plain is None:
            continue
        plain += 1
        lo = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
        hi = lo + timedelta(days=rng.choice([0, 1, 7, 31, 45, 100]), hours=rng.randint(0, 30))
        walked = du.rrule(
            _DU_FREQ[rule.freq], dtstart=start, until=rule.until, cache=False, **rule.kwargs
        )
        want = set(walked.between(lo, hi, inc=True))
        assert set(rule.plain.walk(start, rule.until, lo, hi)) == want, (text, start, lo, hi)
    assert plain > 1000  # most of them are plain
