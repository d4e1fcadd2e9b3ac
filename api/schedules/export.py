"""iCalendar export of stored series (RFC 5545): the rule is written as it is, never
expanded; edited occurrences become VEVENTs with RECURRENCE-ID; each zone used gets its
VTIMEZONE. Entries the reader may see only as busy time are written as "予定あり" with
CLASS:PRIVATE and nothing else (seed 001 別表1-1 7(4)(5))."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.kit.clock import from_iso
from api.schedules.recurrence import Local, parse_local

BUSY_TITLE = "予定あり"


def _dt(value: Local, tz: str) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=ZoneInfo(tz))
    return value


def _event(entry: Mapping[str, Any], full: bool, stamp: datetime) -> Any:
    import icalendar

    tz = str(entry["tz"])
    event = icalendar.Event()
    event.add("UID", str(entry["uid"]))
    event.add("DTSTAMP", stamp)
    event.add("SEQUENCE", int(entry.get("sequence") or 0))
    event.add("DTSTART", _dt(parse_local(str(entry["start"])), tz))
    event.add("DTEND", _dt(parse_local(str(entry["end"])), tz))
    if full:
        event.add("SUMMARY", str(entry.get("title") or ""))
        if entry.get("location"):
            event.add("LOCATION", str(entry["location"]))
        if entry.get("description"):
            event.add("DESCRIPTION", str(entry["description"]))
        event.add("CLASS", "PRIVATE" if entry.get("visibility") == "private" else "PUBLIC")
    else:
        event.add("SUMMARY", BUSY_TITLE)
        event.add("CLASS", "PRIVATE")
        event.add("TRANSP", "OPAQUE")
    if entry.get("rrule"):
        event.add("RRULE", icalendar.vRecur.from_ical(str(entry["rrule"])))
    for name in ("rdates", "exdates"):
        values = [_dt(parse_local(v), tz) for v in entry.get(name) or []]
        if values:
            event.add(name[:-1].upper(), values)
    return event


def _override(
    entry: Mapping[str, Any], key: str, over: Mapping[str, Any], full: bool, stamp: datetime
) -> Any:
    import icalendar

    tz = str(entry["tz"])
    event = icalendar.Event()
    event.add("UID", str(entry["uid"]))
    event.add("DTSTAMP", stamp)
    event.add("SEQUENCE", int(entry.get("sequence") or 0))
    event.add("RECURRENCE-ID", _dt(parse_local(key), tz))
    event.add("DTSTART", _dt(parse_local(str(over["start"])), tz))
    event.add("DTEND", _dt(parse_local(str(over["end"])), tz))
    if full:
        event.add("SUMMARY", str(over.get("title", entry.get("title") or "")))
        location = over.get("location", entry.get("location"))
        if location:
            event.add("LOCATION", str(location))
        event.add("CLASS", "PRIVATE" if entry.get("visibility") == "private" else "PUBLIC")
    else:
        event.add("SUMMARY", BUSY_TITLE)
        event.add("CLASS", "PRIVATE")
    return event


def calendar(
    entries: Iterable[Mapping[str, Any]],
    full: Callable[[Mapping[str, Any]], bool],
    name: str,
) -> bytes:
    """A VCALENDAR of ``entries``; ``full(entry)`` says whether its details may be shown."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//Kura//Schedules//JA")
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("X-WR-CALNAME", name)
    cal.add("X-WR-TIMEZONE", "Asia/Tokyo")
    zones: set[str] = set()
    for entry in entries:
        shown = full(entry)
        stamp = from_iso(str(entry.get("updated_at") or entry["created_at"])).astimezone(UTC)
        cal.add_component(_event(entry, shown, stamp))
        for key, over in (entry.get("overrides") or {}).items():
            cal.add_component(_override(entry, key, over, shown, stamp))
        if not entry.get("all_day"):
            zones.add(str(entry["tz"]))
    for tz in sorted(zones):
        if tz != "UTC":
            cal.subcomponents.insert(
                0, icalendar.Timezone.from_tzid(tz, first_date=date(1970, 1, 1))
            )
    data: bytes = cal.to_ical()
    return data
