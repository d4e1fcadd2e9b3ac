"""When applicants may write (seed 004 第1 2, 第2 2(1), 第3).

- ``apply`` (当初申請 and 再申請, 第1 2(1), 第3 1): the round's filing period, weekday hours
  (9:00-17:00 by default, the round's setting), business days of the master calendar only
  (土・日・祝日 and 12/29-1/3 closed: ``api.master.calendar``; the round names whose calendar);
- ``correct`` (訂正申請, 第3 2): after the filing period until the correction deadline, same
  hours;
- ``add`` (追加申請, 第2 2(1)): the additional-application period, same hours.

Hours are a half-open interval in Japan time: open at 9:00:00, closed from 17:00:00 on. Outside
them every applicant write is refused with the next open time (``OutsideWindow``, 409);
reading stays possible. The time comes from ``container.clock``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from api.errors import Conflict
from api.master.calendar import BusinessCalendar

JST = ZoneInfo("Asia/Tokyo")
Kind = Literal["apply", "correct", "add"]
KINDS: tuple[str, ...] = ("apply", "correct", "add")
KIND_LABELS: dict[str, str] = {"apply": "申請", "correct": "訂正申請", "add": "追加申請"}
_WEEKDAYS = "月火水木金土日"


class OutsideWindow(Conflict):
    code = "outside_window"
    title = "受付時間外です。"


def jst_date(at: datetime) -> date:
    return at.astimezone(JST).date()


def fmt_day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日（{_WEEKDAYS[d.weekday()]}）"


def fmt_time(at: datetime) -> str:
    local = at.astimezone(JST)
    return f"{fmt_day(local.date())}{local.hour}:{local.minute:02d}"


def _clock(value: str, default: time) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Period:
    start: date
    end: date


@dataclass(frozen=True)
class Window:
    kind: str
    open: bool
    period: Period | None
    opens: time
    closes: time
    next_open: datetime | None  # now when open; None when the period is over or absent
    closes_at: datetime | None  # when open: today's closing time

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "open": self.open,
            "period": (
                {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
                if self.period
                else None
            ),
            "hours": {"open": self.opens.strftime("%H:%M"), "close": self.closes.strftime("%H:%M")},
            "next_open_at": _iso(self.next_open),
            "closes_at": _iso(self.closes_at),
            "message": self.message(),
        }

    def message(self) -> str:
        """What the applicant reads when refused (and on the page while closed)."""
        label = KIND_LABELS[self.kind]
        if self.open:
            return f"{label}を受け付けています（本日{_hm(self.closes)}まで）。"
        hours = f"{_hm(self.opens)}～{_hm(self.closes)}"
        if self.period is None:
            return f"この受付には{label}の期間がありません。"
        span = f"{fmt_day(self.period.start)}～{fmt_day(self.period.end)}"
        rule = (
            f"{label}ができるのは、{span}の{hours}です（土・日・祝日及び12月29日～1月3日を除く）。"
        )
        if self.next_open is None:
            return f"{label}の期間は終了しました。{rule}"
        return f"受付時間外です。{rule}次の受付開始は{fmt_time(self.next_open)}です。"


def _hm(t: time) -> str:
    return f"{t.hour}:{t.minute:02d}"


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def period_of(round_: Mapping[str, Any], kind: str) -> Period | None:
    def day(key: str) -> date | None:
        value = round_.get(key)
        return date.fromisoformat(value) if isinstance(value, str) and value else None

    if kind == "apply":
        start, end = day("filing_start"), day("filing_end")
    elif kind == "correct":
        filing_end, end = day("filing_end"), day("correction_deadline")
        start = filing_end + timedelta(days=1) if filing_end else None
    else:
        start, end = day("additional_start"), day("additional_end")
    if start is None or end is None or end < start:
        return None
    return Period(start, end)


def window(
    round_: Mapping[str, Any], calendar: BusinessCalendar, now: datetime, kind: str
) -> Window:
    hours = round_.get("hours") or {}
    opens = _clock(str(hours.get("open") or ""), time(9, 0))
    closes = _clock(str(hours.get("close") or ""), time(17, 0))
    period = period_of(round_, kind)
    if period is None:
        return Window(kind, False, None, opens, closes, None, None)
    local = now.astimezone(JST)
    day = max(local.date(), period.start)
    while day <= period.end:
        if calendar.is_business_day(day):
            start = datetime.combine(day, opens, JST)
            end = datetime.combine(day, closes, JST)
            if local < start:
                return Window(kind, False, period, opens, closes, start, None)
            if local < end:
                return Window(kind, True, period, opens, closes, now, end)
        day += timedelta(days=1)
    return Window(kind, False, period, opens, closes, None, None)


def require_open(
    round_: Mapping[str, Any], calendar: BusinessCalendar, now: datetime, kind: str
) -> Window:
    found = window(round_, calendar, now, kind)
    if not found.open:
        raise OutsideWindow(
            found.message(), kind=kind, next_open_at=_iso(found.next_open), window=found.as_dict()
        )
    return found


def overview(
    round_: Mapping[str, Any], calendar: BusinessCalendar, now: datetime
) -> dict[str, Any]:
    """Every window of the round at ``now`` plus the paper deadline's state."""
    paper = round_.get("paper_deadline")
    return {
        "now": _iso(now),
        "windows": {k: window(round_, calendar, now, k).as_dict() for k in KINDS},
        "paper_deadline_passed": bool(paper and jst_date(now) > date.fromisoformat(str(paper))),
    }
