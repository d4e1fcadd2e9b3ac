"""Dates typed into the search form: Western and Japanese era (和暦) notations, as day ranges.

Issue 3 item 5: "Dates typed as 令和6年 or R6.4.1 are understood." Every input is NFKC-folded
first (全角 digits and letters, ／ and ．), then read as one of:

- ``2024-04-01``, ``2024/4/1``, ``2024.4.1``, ``2024年4月1日``  → that day
- ``2024-04``, ``2024/4``, ``2024年4月``                          → the whole month
- ``2024``, ``2024年``                                            → the whole year
- ``令和6年4月1日``, ``R6.4.1``, ``R6/4/1``, ``R6-4-1``, ``令和元年5月1日`` → that day
- ``令和6年4月``, ``R6.4``                                        → the month
- ``令和6年``, ``R6``, ``平成31年``                               → the year, clipped to the era

An era date must lie inside its era (令和 begins 2019-05-01, 平成 ends 2019-04-30 and so on):
``平成31年5月1日`` and ``令和元年4月`` are refused, ``平成31年`` means 2019-01-01..2019-04-30.
A bare era year without an era (``6年``) is ambiguous and refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta


class DateInputError(ValueError):
    """An input that is not a date we understand; the message is Japanese (shown to users)."""


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: date
    end: date  # inclusive


ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1), date(9999, 12, 31)),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    Era("明治", "M", date(1868, 10, 23), date(1912, 7, 29)),
)
_BY_NAME = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}


@dataclass(frozen=True)
class DateSpan:
    """An inclusive range of days."""

    start: date
    end: date


_SEP = r"[-/.]"
_WESTERN = re.compile(
    rf"^(?P<y>\d{{4}})(?:(?:{_SEP}|年)(?P<m>\d{{1,2}})(?:(?:{_SEP}|月)(?P<d>\d{{1,2}})日?|月)?)?年?$"
)
_ERA = re.compile(
    rf"^(?P<era>令和|平成|昭和|大正|明治|[RHSTM])\s*(?P<y>\d{{1,2}}|元)"
    rf"(?:(?:{_SEP}|年)(?P<m>\d{{1,2}})(?:(?:{_SEP}|月)(?P<d>\d{{1,2}})日?|月)?)?年?$"
)


def _fold(text: str) -> str:
    value = unicodedata.normalize("NFKC", text).strip().upper()
    return re.sub(r"\s+", "", value)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _span(year: int, month: str | None, day: str | None, raw: str) -> DateSpan:
    try:
        if month is None:
            return DateSpan(date(year, 1, 1), date(year, 12, 31))
        m = int(month)
        if day is None:
            return DateSpan(date(year, m, 1), _month_end(year, m))
        when = date(year, m, int(day))
    except ValueError as exc:
        raise DateInputError(f"「{raw}」は存在しない日付です。") from exc
    return DateSpan(when, when)


def parse_date_span(text: str) -> DateSpan:
    """The days an input denotes (a day, a month or a year). Raises ``DateInputError``."""
    raw = text.strip()
    value = _fold(text)
    if not value:
        raise DateInputError("日付が空です。")
    western = _WESTERN.match(value)
    if western:
        return _span(int(western["y"]), western["m"], western["d"], raw)
    era_match = _ERA.match(value)
    if not era_match:
        raise DateInputError(
            f"「{raw}」は日付として読み取れません。"
            "例: 2024-04-01、2024年4月、令和6年4月1日、R6.4.1、令和6年"
        )
    era = _BY_NAME[era_match["era"]]
    era_year = 1 if era_match["y"] == "元" else int(era_match["y"])
    if era_year < 1:
        raise DateInputError(f"「{raw}」の年が正しくありません。")
    year = era.start.year + era_year - 1
    span = _span(year, era_match["m"], era_match["d"], raw)
    start, end = max(span.start, era.start), min(span.end, era.end)
    if start > end:
        raise DateInputError(
            f"「{raw}」は{era.name}の期間外です"
            f"（{era.name}は{era.start.isoformat()}から"
            + ("" if era.end.year == 9999 else f"{era.end.isoformat()}まで")
            + "）。"
        )
    return DateSpan(start, end)


def date_bound(text: str | None, *, upper: bool) -> str | None:
    """An ISO date for a range bound: the first day of the input's span, or its last day for
    an upper bound (``令和6年`` as "to" means through 2024-12-31)."""
    if text is None or not text.strip():
        return None
    span = parse_date_span(text)
    return (span.end if upper else span.start).isoformat()
