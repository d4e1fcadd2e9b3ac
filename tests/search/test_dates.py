"""Dates typed into the search form, Western and 和暦 (table-driven)."""

from __future__ import annotations

from datetime import date

import pytest

from api.search.dates import DateInputError, date_bound, parse_date_span

D = date

VALID: list[tuple[str, date, date]] = [
    ("2024-04-01", D(2024, 4, 1), D(2024, 4, 1)),
    ("2024/4/1", D(2024, 4, 1), D(2024, 4, 1)),
    ("2024.4.1", D(2024, 4, 1), D(2024, 4, 1)),
    ("2024年4月1日", D(2024, 4, 1), D(2024, 4, 1)),
    ("２０２４年４月１日", D(2024, 4, 1), D(2024, 4, 1)),
    ("２０２４－０４－０１", D(2024, 4, 1), D(2024, 4, 1)),
    ("2024年4月", D(2024, 4, 1), D(2024, 4, 30)),
    ("2024/2", D(2024, 2, 1), D(2024, 2, 29)),
    ("2023-02", D(2023, 2, 1), D(2023, 2, 28)),
    ("2024年", D(2024, 1, 1), D(2024, 12, 31)),
    ("2024", D(2024, 1, 1), D(2024, 12, 31)),
    ("令和6年4月1日", D(2024, 4, 1), D(2024, 4, 1)),
    ("令和６年４月１日", D(2024, 4, 1), D(2024, 4, 1)),
    ("R6.4.1", D(2024, 4, 1), D(2024, 4, 1)),
    ("r6.4.1", D(2024, 4, 1), D(2024, 4, 1)),
    ("Ｒ６．４．１", D(2024, 4, 1), D(2024, 4, 1)),
    ("R6/4/1", D(2024, 4, 1), D(2024, 4, 1)),
    ("R6-4-1", D(2024, 4, 1), D(2024, 4, 1)),
    ("R 6.4.1", D(2024, 4, 1), D(2024, 4, 1)),
    ("令和6年4月", D(2024, 4, 1), D(2024, 4, 30)),
    ("R6.4", D(2024, 4, 1), D(2024, 4, 30)),
    ("令和6年", D(2024, 1, 1), D(2024, 12, 31)),
    ("R6", D(2024, 1, 1), D(2024, 12, 31)),
    ("令和元年", D(2019, 5, 1), D(2019, 12, 31)),
    ("令和元年5月1日", D(2019, 5, 1), D(2019, 5, 1)),
    ("R1.5", D(2019, 5, 1), D(2019, 5, 31)),
    ("H31.4.30", D(2019, 4, 30), D(2019, 4, 30)),
    ("平成31年", D(2019, 1, 1), D(2019, 4, 30)),
    ("平成31年4月", D(2019, 4, 1), D(2019, 4, 30)),
    ("平成元年", D(1989, 1, 8), D(1989, 12, 31)),
    ("平成元年1月", D(1989, 1, 8), D(1989, 1, 31)),
    ("H1.1.8", D(1989, 1, 8), D(1989, 1, 8)),
    ("昭和64年", D(1989, 1, 1), D(1989, 1, 7)),
    ("S64.1.7", D(1989, 1, 7), D(1989, 1, 7)),
    ("昭和50年3月", D(1975, 3, 1), D(1975, 3, 31)),
    ("大正15年", D(1926, 1, 1), D(1926, 12, 24)),
    ("  令和6年  ", D(2024, 1, 1), D(2024, 12, 31)),
]

INVALID: list[tuple[str, str]] = [
    ("平成31年5月1日", "期間外"),  # 令和 began on 2019-05-01
    ("H31.5.1", "期間外"),
    ("令和元年4月", "期間外"),
    ("令和元年4月30日", "期間外"),
    ("R1.4.30", "期間外"),
    ("平成32年", "期間外"),
    ("昭和64年1月8日", "期間外"),
    ("平成元年1月7日", "期間外"),
    ("R0.1.1", "年が正しくありません"),
    ("6年", "読み取れません"),  # an era year without its era is ambiguous
    ("6/4/1", "読み取れません"),
    ("24-04-01", "読み取れません"),
    ("2024-13-01", "存在しない"),
    ("2024-02-30", "存在しない"),
    ("2023-02-29", "存在しない"),
    ("R6.2.30", "存在しない"),
    ("2024年13月", "存在しない"),
    ("きのう", "読み取れません"),
    ("X6.1.1", "読み取れません"),
    ("", "空"),
    ("   ", "空"),
]


@pytest.mark.parametrize(("text", "start", "end"), VALID)
def test_valid(text: str, start: date, end: date) -> None:
    span = parse_date_span(text)
    assert (span.start, span.end) == (start, end)


@pytest.mark.parametrize(("text", "fragment"), INVALID)
def test_invalid(text: str, fragment: str) -> None:
    with pytest.raises(DateInputError) as caught:
        parse_date_span(text)
    assert fragment in str(caught.value)


def test_bounds_take_the_right_end() -> None:
    assert date_bound("令和6年", upper=False) == "2024-01-01"
    assert date_bound("令和6年", upper=True) == "2024-12-31"
    assert date_bound("2024年2月", upper=True) == "2024-02-29"
    assert date_bound(None, upper=True) is None
    assert date_bound("", upper=False) is None
