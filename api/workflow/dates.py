"""Dates of the workflow: the JST calendar day of an instant, and deadlines checked against the
master calendar (seed 001 別表1-1 8(4) 暦情報; issue 10 §2 "deadlines count business days")."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from api.errors import ValidationFailed
from api.master.calendar import BusinessCalendar

JST = timezone(timedelta(hours=9))
# The requested answer date suggested for a new proposal: this many business days ahead.
DEFAULT_ANSWER_DAYS = 5


def jst_day(at: datetime) -> date:
    return at.astimezone(JST).date()


def parse_day(value: str, field: str, label: str) -> date:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{label}を YYYY-MM-DD で入力してください。", field=field) from exc
    return day


def business_day(
    calendar: BusinessCalendar,
    value: str,
    field: str,
    label: str,
    *,
    not_before: date | None = None,
) -> str:
    """``value`` if it is a business day not before ``not_before``; otherwise a 400 naming the
    field and why (the holiday's name, 土曜日, 年末年始休業, ...)."""
    day = parse_day(value, field, label)
    if not_before is not None and day < not_before:
        raise ValidationFailed(
            f"{label}は {not_before.isoformat()} 以降の日付を指定してください。", field=field
        )
    reason = calendar.reason(day)
    if reason is not None:
        nxt = calendar.next_business_day(day)
        raise ValidationFailed(
            f"{label}（{day.isoformat()}）は{reason.name}で営業日ではありません。"
            f"次の営業日は {nxt.isoformat()} です。",
            field=field,
        )
    return day.isoformat()


def business_days_left(calendar: BusinessCalendar, today: date, due: str | None) -> int | None:
    """Business days from ``today`` to ``due`` (negative: overdue), or None without a date."""
    if not due:
        return None
    return calendar.business_days_between(today, date.fromisoformat(due))
