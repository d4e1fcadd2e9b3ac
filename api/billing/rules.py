"""Pure rules of billing: money, tax, the registration number, fiscal years, periods.

Nothing here reads a clock or a store, so every figure is reproducible from its inputs and
each rule is tested against values worked out by hand from its source:

- Money is an ``int`` of yen. Tariff prices are integers; rates are ``Decimal`` fractions
  (``Decimal("0.10")``); a float never appears.
- Consumption tax is computed **once per rate per invoice** on the sum of that rate's lines
  and rounded down (切り捨て) to the yen: 消費税法第57条の4第1項第5号 and 消費税法施行令第70条の10
  (適格請求書の消費税額等: 税率ごとに区分した課税資産の譲渡等の税抜価額の合計額に税率を乗じて
  得た金額、1円未満の端数は処理: one rounding per rate per invoice). Rounding each line and
  adding the rounded taxes is what the law does not allow (module anchors §3: "rounded line
  subtotals != total", OCA PR #421; Odoo l10n_jp ``round_globally``).
- The 適格請求書発行事業者登録番号 is "T" and 13 digits; for a corporation the digits are its
  法人番号, whose first digit is a check digit (法人番号の指定等に関する省令 第2条).
- Fiscal years are those of 地方自治法第208条 (4月1日から翌年3月31日); the 出納整理期間 runs to
  5月31日 of the next year (地方自治法第235条の5: 出納の閉鎖は翌年度の5月31日).
- Periods follow 民法第143条: a period of months or years ends on the day before the day
  corresponding to its start; when that month has no such day, on the month's last day.
- The months of a per-work fee are ceil(工期の日数 / 31) (module anchors §3, precedent
  sct.or.jp/work/cals/fee/: 10,000円/月, months = ceil(工期/31), refund if shortened).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

Yen = int

STANDARD_RATE = Decimal("0.10")  # 標準税率 10% (消費税法第29条 7.8% + 地方消費税 2.2%)
REDUCED_RATE = Decimal("0.08")  # 軽減税率 8% (not used by these services; kept for lines)
RATES: Mapping[str, Decimal] = {"10": STANDARD_RATE, "8": REDUCED_RATE}
ROUNDING_NOTE = "消費税額は税率ごとに合計した金額に税率を乗じ、1円未満を切り捨てています。"

_REGISTRATION = re.compile(r"^T[1-9][0-9]{12}$")


# -- money ---------------------------------------------------------------------------------


def yen(value: int | str | Decimal) -> Yen:
    """An amount of yen from an int or an exact decimal string; fractions are refused."""
    if isinstance(value, bool):
        raise TypeError("an amount is not a bool")
    if isinstance(value, int):
        return value
    number = Decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number of yen: {value!r}")
    return int(number)


def rate_of(code: str) -> Decimal:
    """The tax rate of a rate code (``"10"`` → 0.10)."""
    try:
        return RATES[code]
    except KeyError as exc:
        raise ValueError(f"unknown tax rate {code!r}") from exc


@dataclass(frozen=True)
class Line:
    """One invoice line: quantity × unit price, tax-exclusive, at one rate."""

    quantity: int
    unit_price: Yen
    rate: str = "10"

    @property
    def amount(self) -> Yen:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class RateTotal:
    rate: str
    net: Yen
    tax: Yen


@dataclass(frozen=True)
class Totals:
    by_rate: tuple[RateTotal, ...]
    net: Yen
    tax: Yen
    total: Yen


def tax_on(net: Yen, rate: str) -> Yen:
    """Tax on one rate's total, rounded toward zero (a credit note's tax mirrors its
    invoice's: -1,234 yen net has -123 yen tax, not -124)."""
    raw = Decimal(net) * rate_of(rate)
    return int(raw.quantize(Decimal(1), rounding=ROUND_DOWN))


def totals(lines: Iterable[Line]) -> Totals:
    """Sum the lines per rate, then tax each rate's sum once (消費税法施行令第70条の10)."""
    nets: dict[str, Yen] = {}
    for line in lines:
        rate_of(line.rate)
        nets[line.rate] = nets.get(line.rate, 0) + line.amount
    by_rate = tuple(
        RateTotal(rate, net, tax_on(net, rate))
        for rate, net in sorted(nets.items(), key=lambda kv: -RATES[kv[0]])
    )
    net = sum(r.net for r in by_rate)
    tax = sum(r.tax for r in by_rate)
    return Totals(by_rate, net, tax, net + tax)


# -- the registration number -----------------------------------------------------------------


def corporate_check_digit(base12: str) -> int:
    """The check digit of a 法人番号: 9 - (Σ Pn×Qn mod 9), Pn the n-th digit of the 12-digit
    base from its lowest digit, Qn = 1 for odd n and 2 for even n (省令第2条)."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), 1))
    return 9 - total % 9


def registration_number_valid(value: str) -> bool:
    """ "T" + 13 digits whose first digit checks the other twelve (適格請求書発行事業者登録番号:
    消費税法第57条の2; the 13 digits of a corporation are its 法人番号)."""
    if not _REGISTRATION.match(value):
        return False
    digits = value[1:]
    return int(digits[0]) == corporate_check_digit(digits[1:])


# -- fiscal years ----------------------------------------------------------------------------


def fiscal_year(day: date) -> int:
    """The municipal fiscal year of a day: April to March (地方自治法第208条第1項)."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_start(year: int) -> date:
    return date(year, 4, 1)


def fiscal_year_end(year: int) -> date:
    return date(year + 1, 3, 31)


def closing_period_end(year: int) -> date:
    """The last day of the 出納整理期間 of fiscal year ``year`` (地方自治法第235条の5)."""
    return date(year + 1, 5, 31)


def annual_due_date(year: int) -> date:
    """Annual fees invoiced from April are paid by the end of June (seed 000 手続きフロー:
    利用料支払請求書（様式情運-4）・４月以降に請求・６月末までに支払)."""
    return date(year, 6, 30)


# -- calendar periods --------------------------------------------------------------------------


def last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def shift_months(day: date, months: int) -> date:
    """The day ``months`` later (or earlier) with the same day number, or the month's last
    day when the month is shorter (1月31日 + 1 month = 2月28日/29日)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: date, *, years: int = 0, months: int = 0) -> date:
    """The last day of a period of ``years``/``months`` whose first day is ``start`` (民法第143条
    第2項: the day before the corresponding day; the month's last day when there is none).

    2025-04-01 + 1 year ends 2026-03-31; 2024-02-29 + 1 year has no 2025-02-29 and ends
    2025-02-28; 2024-01-31 + 1 month has no 2月31日 and ends 2024-02-29."""
    total = years * 12 + months
    if total <= 0:
        raise ValueError("a period has at least one month")
    index = start.year * 12 + start.month - 1 + total
    year, month = divmod(index, 12)
    month += 1
    if start.day > calendar.monthrange(year, month)[1]:
        return last_day(year, month)
    return date(year, month, start.day) - timedelta(days=1)


def month_before(day: date) -> date:
    """ "満了する日の1か月前" of a term ending on ``day``: the same day a month earlier, or that
    month's last day (3月31日 → 2月28日, in a leap year 2月29日)."""
    return shift_months(day, -1)


def end_of_next_month(day: date) -> date:
    """翌月末: the last day of the month after ``day`` (due date of a per-work fee request)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return last_day(year, month)


def fee_months(start: date, end: date) -> int:
    """Billable months of a work's period: ceil(days / 31), the days counted inclusively
    (module anchors §3 precedent: months = ceil(工期/31)). A period of one day is one month."""
    if end < start:
        raise ValueError("the period ends before it starts")
    days = (end - start).days + 1
    return -(-days // 31)


def termination_deadline(term_end: date) -> date:
    """利用終了通知の期限 (seed 000 手続きフロー: 利用終了は前年度２月中旬までに通知): 2月15日 for a
    term ending with a fiscal year (3月31日). A term that ends on another day (a first term
    begun mid-year and not aligned) has only the renewal clause's deadline (``month_before``).
    The result is never later than the clause's deadline."""
    clause = month_before(term_end)
    if (term_end.month, term_end.day) == (3, 31):
        return min(date(term_end.year, 2, 15), clause)
    return clause


def term_end_after(anchor: date, renewals: int, first_end: date) -> date:
    """The end of the term after ``renewals`` automatic one-year extensions, counted from the
    anchor (the day after the first term) so that a term starting on 2月29日 or a 31st never
    drifts (module anchors §3: Lago's 29th-31st anniversaries billed twice)."""
    if renewals == 0:
        return first_end
    return period_end(anchor, years=renewals)


def fiscal_years_between(first: date, last: date) -> Sequence[int]:
    """Every fiscal year that has a day in [first, last]."""
    return range(fiscal_year(first), fiscal_year(last) + 1)
