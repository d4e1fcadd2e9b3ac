"""The business calendar rules (seed 001 別表1-1 8(4) 国民の祝日等の暦情報): weekends, public
holidays (holidays package, with 振替休日 and 国民の休日), the 12/29-1/3 closure, custom days."""

from __future__ import annotations

from datetime import date

import pytest

from api.master.calendar import BusinessCalendar, CustomDay, DayKind

cal = BusinessCalendar()


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 12), "成人の日"),
        (date(2025, 5, 6), "振替休日"),
        (date(2026, 9, 22), "国民の休日"),
        (date(2026, 1, 1), "元日"),
        (date(2025, 12, 29), "年末年始休業"),
        (date(2025, 12, 31), "年末年始休業"),
        (date(2026, 1, 2), "年末年始休業"),
        (date(2026, 1, 3), "年末年始休業"),
        (date(2026, 2, 7), "土曜日"),
        (date(2026, 2, 8), "日曜日"),
    ],
)
def test_non_business_days(day: date, name: str) -> None:
    reason = cal.reason(day)
    assert reason is not None
    assert reason.name == name
    assert not cal.is_business_day(day)


@pytest.mark.parametrize("day", [date(2025, 12, 26), date(2026, 1, 5), date(2026, 9, 24)])
def test_business_days(day: date) -> None:
    assert cal.is_business_day(day)


def test_add_business_days_across_the_closure() -> None:
    assert cal.add_business_days(date(2025, 12, 26), 1) == date(2026, 1, 5)
    assert cal.add_business_days(date(2026, 1, 5), -1) == date(2025, 12, 26)
    assert cal.add_business_days(date(2026, 1, 9), 1) == date(2026, 1, 13)  # over 成人の日
    assert cal.add_business_days(date(2026, 1, 3), 0) == date(2026, 1, 3)
    assert cal.add_business_days(date(2026, 9, 18), 1) == date(2026, 9, 24)  # silver week
    assert cal.next_business_day(date(2026, 1, 1)) == date(2026, 1, 5)


def test_business_days_between_is_the_inverse() -> None:
    a, b = date(2025, 12, 26), date(2026, 1, 13)
    n = cal.business_days_between(a, b)
    assert n == 6  # 1/5, 1/6, 1/7, 1/8, 1/9, 1/13
    assert cal.add_business_days(a, n) == b
    assert cal.business_days_between(b, a) == -n
    assert cal.business_days_between(a, a) == 0


def test_custom_days_override() -> None:
    custom = BusinessCalendar(
        [
            CustomDay(date(2026, 1, 12), DayKind.CUSTOM_OPEN, "臨時開庁"),
            CustomDay(date(2026, 6, 1), DayKind.CUSTOM_CLOSED, "システム停止日"),
        ]
    )
    assert custom.is_business_day(date(2026, 1, 12))
    reason = custom.reason(date(2026, 6, 1))
    assert reason is not None
    assert reason.kind is DayKind.CUSTOM_CLOSED
    assert custom.add_business_days(date(2026, 5, 29), 1) == date(2026, 6, 2)
    names = {d.date: d.name for d in custom.holidays_in(2026)}
    assert date(2026, 1, 12) not in names
    assert names[date(2026, 6, 1)] == "システム停止日"


def test_holidays_in_year_leaves_out_weekends() -> None:
    days = cal.holidays_in(2026)
    assert all(d.kind is not DayKind.WEEKEND for d in days)
    assert {d.date for d in days} >= {date(2026, 5, 6), date(2026, 12, 29), date(2026, 1, 2)}
    assert len(cal.non_business_days(2026)) > len(days) + 100


def _independent_count(a: date, b: date, custom: dict[date, str]) -> int:
    """Business days in (a, b] by the rules read day by day straight from the holidays
    package, without the calendar under test."""
    import holidays

    from api.master.calendar import in_closure

    jp = holidays.country_holidays("JP", years=range(a.year, b.year + 1))
    count = 0
    d = a
    while d < b:
        d = date.fromordinal(d.toordinal() + 1)
        if custom.get(d) == "open":
            count += 1
        elif custom.get(d) == "closed" or d in jp or in_closure(d) or d.weekday() >= 5:
            continue
        else:
            count += 1
    return count


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (date(2025, 12, 26), date(2026, 1, 13)),
        (date(2026, 1, 3), date(2026, 1, 4)),
        (date(2019, 4, 26), date(2019, 5, 7)),  # 2019's ten-day Golden Week
        (date(1955, 1, 1), date(1960, 12, 31)),
        (date(2020, 2, 29), date(2024, 2, 29)),
        (date(2090, 6, 1), date(2100, 12, 31)),
    ],
)
def test_counting_by_years_agrees_with_a_day_by_day_count(a: date, b: date) -> None:
    """Issue 7 item 3: counting is proportional to the years spanned, not the days; it must
    give what counting every day gives, in both directions, with custom days."""
    custom = {date(2026, 1, 3): "open", date(2026, 1, 5): "closed", date(2019, 5, 4): "open"}
    calendar = BusinessCalendar(
        CustomDay(d, DayKind.CUSTOM_OPEN if k == "open" else DayKind.CUSTOM_CLOSED)
        for d, k in custom.items()
    )
    expected = _independent_count(a, b, custom)
    assert calendar.business_days_between(a, b) == expected
    assert calendar.business_days_between(b, a) == -expected
