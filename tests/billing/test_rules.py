"""The pure rules, each against values worked out by hand from its source."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from api.billing.rules import (
    Line,
    closing_period_end,
    end_of_next_month,
    fee_months,
    fiscal_year,
    month_before,
    period_end,
    registration_number_valid,
    tax_on,
    term_end_after,
    termination_deadline,
    totals,
    yen,
)


def test_tax_is_computed_once_per_rate_per_invoice() -> None:
    """消費税法施行令第70条の10: three lines of 335円 at 10% are 1,005円, tax 100円 (100.5
    rounded down once); rounding each line (33.5 → 33) would give 99円 (OCA PR #421)."""
    result = totals([Line(1, 335, "10")] * 3)
    assert (result.net, result.tax, result.total) == (1005, 100, 1105)
    assert sum(tax_on(335, "10") for _ in range(3)) == 99  # what the law does not allow


def test_rates_are_kept_apart() -> None:
    result = totals([Line(2, 1250, "10"), Line(1, 999, "8"), Line(3, 100, "10")])
    assert [(r.rate, r.net, r.tax) for r in result.by_rate] == [("10", 2800, 280), ("8", 999, 79)]
    assert result.total == 2800 + 280 + 999 + 79


def test_credit_tax_rounds_toward_zero() -> None:
    assert tax_on(-1005, "10") == -100


def test_money_is_never_a_float() -> None:
    assert yen("120000") == 120000
    assert yen(Decimal("5")) == 5
    with pytest.raises(ValueError, match="not a whole number"):
        yen("10.5")
    with pytest.raises(TypeError):
        yen(True)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("T7000012050002", True),  # 国税庁's 法人番号 with "T"
        ("T1180301018771", True),  # a listed company's 法人番号
        ("T7000012050003", False),  # last digit changed: the check digit no longer fits
        ("T6000012050002", False),  # check digit changed
        ("7000012050002", False),  # no "T"
        ("T700001205000", False),  # 12 digits
        ("Ｔ7000012050002", False),  # full-width T
    ],
)
def test_registration_number(number: str, valid: bool) -> None:
    """T + 13 digits; the first digit is 9 - (Σ Pn×Qn mod 9) (法人番号 省令第2条)."""
    assert registration_number_valid(number) is valid


@pytest.mark.parametrize(
    ("day", "fy"),
    [(date(2026, 3, 31), 2025), (date(2026, 4, 1), 2026), (date(2027, 1, 1), 2026)],
)
def test_fiscal_year(day: date, fy: int) -> None:
    """地方自治法第208条: April to March."""
    assert fiscal_year(day) == fy


def test_closing_period() -> None:
    """地方自治法第235条の5: 出納の閉鎖は翌年度の5月31日."""
    assert closing_period_end(2026) == date(2027, 5, 31)


@pytest.mark.parametrize(
    ("start", "years", "months", "end"),
    [
        (date(2025, 4, 1), 1, 0, date(2026, 3, 31)),
        (date(2024, 2, 29), 1, 0, date(2025, 2, 28)),  # 民法143条2項ただし書: no 2月29日
        (date(2024, 2, 29), 4, 0, date(2028, 2, 28)),  # the 応当日 exists again
        (date(2024, 1, 31), 0, 1, date(2024, 2, 29)),  # no 2月31日: the month's last day
        (date(2025, 1, 31), 0, 1, date(2025, 2, 28)),
        (date(2025, 3, 31), 0, 1, date(2025, 4, 30)),
    ],
)
def test_period_end_follows_the_civil_code(start: date, years: int, months: int, end: date) -> None:
    assert period_end(start, years=years, months=months) == end


def test_renewals_never_drift_from_the_anchor() -> None:
    """A term renewed from 2024-02-29 ends on 2月28日 each year and never moves to the 27th
    (module anchors §3: 29th-31st anniversaries)."""
    anchor, first = date(2024, 2, 29), date(2024, 2, 28)
    assert [term_end_after(anchor, n, first) for n in range(5)] == [
        date(2024, 2, 28),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 28),
    ]


def test_deadlines_of_a_fiscal_year_term() -> None:
    """seed 000: 満了する日の１か月前 and 前年度２月中旬."""
    assert month_before(date(2027, 3, 31)) == date(2027, 2, 28)
    assert month_before(date(2028, 3, 31)) == date(2028, 2, 29)  # leap year
    assert termination_deadline(date(2027, 3, 31)) == date(2027, 2, 15)
    # A term not ending with the fiscal year has only the clause's deadline.
    assert termination_deadline(date(2026, 9, 30)) == date(2026, 8, 30)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2026, 6, 1), date(2026, 8, 31), 3),  # 92 days
        (date(2026, 6, 1), date(2026, 7, 1), 1),  # 31 days
        (date(2026, 6, 1), date(2026, 7, 2), 2),  # 32 days
        (date(2026, 6, 1), date(2026, 6, 1), 1),
        (date(2028, 2, 1), date(2028, 2, 29), 1),  # leap February, 29 days
    ],
)
def test_fee_months(start: date, end: date, months: int) -> None:
    """Precedent (module anchors §3): months = ceil(工期/31)."""
    assert fee_months(start, end) == months


def test_end_of_next_month() -> None:
    assert end_of_next_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert end_of_next_month(date(2027, 12, 15)) == date(2028, 1, 31)
    assert end_of_next_month(date(2028, 1, 1)) == date(2028, 2, 29)
