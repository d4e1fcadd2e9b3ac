"""The outside oracle for expansions: recurring-ical-events on the same VEVENT text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import icalendar
import recurring_ical_events


def vevent(
    *,
    tz: str,
    start: datetime | date,
    end: datetime | date,
    rrule: str | None = None,
    exdates: Sequence[datetime | date] = (),
    rdates: Sequence[datetime | date] = (),
    overrides: Sequence[tuple[datetime | date, datetime | date, datetime | date]] = (),
    uid: str = "oracle-1",
) -> str:
    """An ICS calendar of one series (``overrides``: recurrence id, new start, new end)."""

    def value(v: datetime | date) -> str:
        if isinstance(v, datetime):
            return f";TZID={tz}:{v:%Y%m%dT%H%M%S}"
        return f";VALUE=DATE:{v:%Y%m%d}"

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//oracle//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART{value(start)}",
        f"DTEND{value(end)}",
        "SUMMARY:series",
    ]
    if rrule:
        lines.append(f"RRULE:{rrule}")
    lines += [f"EXDATE{value(x)}" for x in exdates]
    lines += [f"RDATE{value(r)}" for r in rdates]
    lines.append("END:VEVENT")
    for rid, s, e in overrides:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            f"RECURRENCE-ID{value(rid)}",
            f"DTSTART{value(s)}",
            f"DTEND{value(e)}",
            "SUMMARY:moved",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def occurrences(text: str, lo: datetime, hi: datetime) -> set[tuple[str, str]]:
    """(start, end) of every occurrence between ``lo`` and ``hi`` (ISO text)."""
    cal = icalendar.Calendar.from_ical(text)
    out = set()
    for event in recurring_ical_events.of(cal).between(lo, hi):
        out.add((_iso(event["DTSTART"].dt), _iso(event["DTEND"].dt)))
    return out


def _iso(v: datetime | date) -> str:
    if isinstance(v, datetime):
        return v.replace(tzinfo=None).isoformat()
    return v.isoformat()
