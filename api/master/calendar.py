"""The business calendar used for deadlines (seed 001 別表1-1 8(4): 国民の祝日等の暦情報).

A day is a business day unless it is a Saturday or Sunday, a Japanese public holiday (the
``holidays`` package: 国民の祝日, 振替休日 and 国民の休日), inside the office closure from
December 29 to January 3 (年末年始, 行政機関の休日に関する法律 第1条), or a custom "closed"
day. A custom "open" day overrides all of those (e.g. a Saturday opened for a filing window).

Pure given the custom days: build one with ``BusinessCalendar(custom_days)`` and ask it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache

import holidays

CLOSURE_NAME = "年末年始休業"
_WEEKDAY_NAMES = {5: "土曜日", 6: "日曜日"}
_MAX_STEPS = 366 * 20  # guard against a calendar with no business day at all
# The dates the API accepts (the range of the ``holidays`` data the calendar is checked on).
FIRST_DAY = date(1955, 1, 1)
LAST_DAY = date(2100, 12, 31)


class DayKind(StrEnum):
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    CLOSURE = "closure"
    CUSTOM_CLOSED = "closed"
    CUSTOM_OPEN = "open"


@dataclass(frozen=True)
class CustomDay:
    """An operator-defined day: ``closed`` adds a non-business day, ``open`` removes one."""

    date: date
    kind: DayKind  # CUSTOM_CLOSED or CUSTOM_OPEN
    name: str = ""


@dataclass(frozen=True)
class NonBusinessDay:
    date: date
    kind: DayKind
    name: str


# Every year the API accepts (FIRST_DAY..LAST_DAY, plus what ``add`` can reach) stays cached.
@lru_cache(maxsize=256)
def _public_holidays(year: int) -> dict[date, str]:
    """Japan's public holidays of one year with Japanese names (cached; the data is static)."""
    return dict(holidays.country_holidays("JP", years=year, language="ja").items())


def in_closure(d: date) -> bool:
    """December 29 to January 3: the year-end office closure."""
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def _weekdays_after(lo: date, hi: date) -> int:
    """Monday-to-Friday days in ``(lo, hi]``."""
    weeks, rest = divmod((hi - lo).days, 7)
    first = (lo.weekday() + 1) % 7
    return weeks * 5 + sum(1 for i in range(rest) if (first + i) % 7 < 5)


class BusinessCalendar:
    def __init__(self, custom_days: Iterable[CustomDay] | Mapping[date, CustomDay] = ()) -> None:
        days = custom_days.values() if isinstance(custom_days, Mapping) else custom_days
        self.custom: dict[date, CustomDay] = {c.date: c for c in days}

    def reason(self, d: date) -> NonBusinessDay | None:
        """Why ``d`` is not a business day, or None when it is one."""
        custom = self.custom.get(d)
        if custom is not None:
            if custom.kind is DayKind.CUSTOM_OPEN:
                return None
            return NonBusinessDay(d, DayKind.CUSTOM_CLOSED, custom.name or "休業日")
        holiday = _public_holidays(d.year).get(d)
        if holiday is not None:
            return NonBusinessDay(d, DayKind.HOLIDAY, holiday)
        if in_closure(d):
            return NonBusinessDay(d, DayKind.CLOSURE, CLOSURE_NAME)
        if d.weekday() >= 5:
            return NonBusinessDay(d, DayKind.WEEKEND, _WEEKDAY_NAMES[d.weekday()])
        return None

    def is_business_day(self, d: date) -> bool:
        return self.reason(d) is None

    def next_business_day(self, d: date) -> date:
        """``d`` itself when it is a business day, else the first business day after it."""
        for _ in range(_MAX_STEPS):
            if self.is_business_day(d):
                return d
            d += timedelta(days=1)
        raise ValueError("no business day found")

    def add_business_days(self, d: date, n: int) -> date:
        """The date ``n`` business days after ``d`` (before it when ``n`` is negative).

        ``d`` itself is never counted, so adding 1 to a Friday gives the next Monday (if that
        is a business day) and adding 0 returns ``d`` unchanged.
        """
        step = timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        steps = 0
        while remaining:
            d += step
            steps += 1
            if steps > _MAX_STEPS:
                raise ValueError("no business day found")
            if self.is_business_day(d):
                remaining -= 1
        return d

    def business_days_between(self, a: date, b: date) -> int:
        """Business days after ``a`` up to and including ``b``; negative when ``b < a``.

        The inverse of ``add_business_days`` whenever ``b`` is a business day. Counted in
        time proportional to the years spanned, not the days: the weekdays by arithmetic,
        then a correction for each day that is special (holiday, closure, custom day).
        """
        if a == b:
            return 0
        lo, hi, sign = (a, b, 1) if a < b else (b, a, -1)
        count = _weekdays_after(lo, hi)
        for d in self._special_days(lo, hi):
            count += int(self.is_business_day(d)) - int(d.weekday() < 5)
        return sign * count

    def _special_days(self, lo: date, hi: date) -> set[date]:
        """Days in ``(lo, hi]`` that may differ from the plain weekday rule."""
        days: set[date] = set()
        for year in range(lo.year, hi.year + 1):
            days.update(_public_holidays(year))
            days.update(date(year, 1, d) for d in (1, 2, 3))
            days.update(date(year, 12, d) for d in (29, 30, 31))
        days.update(self.custom)
        return {d for d in days if lo < d <= hi}

    def holidays_in(self, year: int) -> list[NonBusinessDay]:
        """The named non-business days of ``year`` (holidays, closure, custom closed days),
        leaving out ordinary weekends and days a custom "open" day re-opened."""
        return [r for r in self.non_business_days(year) if r.kind is not DayKind.WEEKEND]

    def non_business_days(self, year: int) -> list[NonBusinessDay]:
        """Every non-business day of ``year`` with its reason, weekends included."""
        out: list[NonBusinessDay] = []
        d = date(year, 1, 1)
        while d.year == year:
            reason = self.reason(d)
            if reason is not None:
                out.append(reason)
            d += timedelta(days=1)
        return out
