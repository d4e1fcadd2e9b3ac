"""The import's plain-form reader (``api.schedules.ical._plain_component``) against icalendar.

Each VEVENT an import reads goes through the plain-form reader when it can (string
operations, a few times faster than icalendar's object tree); every event must come out as
icalendar + ``x_wr_timezone`` make it. Checked on random events that mix what groupware
exports write (IANA, Windows, UTC and floating times, X-WR-TIMEZONE, all-day dates, DURATION,
RRULE, EXDATE/RDATE lists, RECURRENCE-ID, escaped text, parameters, lower-case names, broken
values, repeated properties), on the hand-written groupware export and on a calendar
server's export, whose events all take the fast way.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.schedules import ical

DATA = Path(__file__).parent / "data"
ZONE_IDS = [
    "Asia/Tokyo",
    "UTC",
    "Etc/UTC",
    "America/New_York",
    "Tokyo Standard Time",
    "Eastern Standard Time",
    "Custom Zone",
    "/mozilla.org/20050126_1/Asia/Tokyo",
]
X_WR = [None, None, "Asia/Tokyo", "America/New_York", "UTC"]
UIDS = ["ev-1@example.jp", "ev\\,2", "ev 3", " "]
TEXTS = [
    "工程打合せ",
    "現場\\, 事務所",
    "a\\;b",
    "一行目\\n二行目",
    "改行\\N大文字",
    "バック\\\\スラッシュ",
    "コロン\\:付き",
    "  前後の空白  ",
    "",
]


def moment(rng: random.Random, at: datetime, all_day: bool, *, zoned: bool = True) -> str:
    """``;params:value`` of a DATE or DATE-TIME in one of the forms exports write."""
    if all_day:
        return rng.choice([";VALUE=DATE:", ":"]) + f"{at:%Y%m%d}"
    kind = rng.choice(["", ";VALUE=DATE-TIME"])
    form = rng.random()
    if form < 0.3 or not zoned:
        return f"{kind}:{at:%Y%m%dT%H%M%S}"  # floating
    if form < 0.5:
        return f"{kind}:{at:%Y%m%dT%H%M%S}Z"
    return f"{kind};TZID={rng.choice(ZONE_IDS)}:{at:%Y%m%dT%H%M%S}"


def random_event(rng: random.Random) -> str:
    at = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), 30)
    all_day = rng.random() < 0.2
    lines = ["BEGIN:VEVENT"]
    if rng.random() < 0.9:
        lines.append("UID:" + rng.choice(UIDS))
    lines.append("DTSTAMP:20260101T000000Z")
    if rng.random() < 0.97:
        lines.append("DTSTART" + moment(rng, at, all_day))
    end = rng.random()
    if end < 0.6:
        lines.append("DTEND" + moment(rng, at + timedelta(hours=1, days=int(all_day)), all_day))
    elif end < 0.75:
        lines.append(f"DURATION:{rng.choice(['PT1H', 'PT45M', 'P1D', 'P2DT3H', '-PT1H', 'PX'])}")
    for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
        if rng.random() < 0.8:
            param = rng.choice(["", ";LANGUAGE=ja", ';ALTREP="cid:x@y"', ";X-P=1"])
            lines.append(f"{rng.choice([name, name.lower()])}{param}:{rng.choice(TEXTS)}")
    if rng.random() < 0.4:
        rule = rng.choice(
            [
                "FREQ=WEEKLY",
                "freq=daily;count=5",
                "FREQ=WEEKLY;UNTIL=20271231T000000Z;BYDAY=MO,WE",
                "FREQ=MONTHLY;BYDAY=2TU",
                "FREQ=YEARLY;UNTIL=20300101",
                "FREQ=FORTNIGHTLY",
            ]
        )
        lines.append(f"RRULE:{rule}")
        for name in ("EXDATE", "RDATE"):
            for _ in range(rng.choice([0, 0, 1, 2])):
                days = [
                    at + timedelta(days=7 * rng.randint(1, 9)) for _ in range(rng.randint(1, 3))
                ]
                head = moment(rng, days[0], all_day)
                params, _, first = head.partition(":")
                values = [first] + [
                    f"{d:%Y%m%d}"
                    if all_day
                    else f"{d:%Y%m%dT%H%M%S}" + ("Z" if first.endswith("Z") else "")
                    for d in days[1:]
                ]
                if name == "RDATE" and rng.random() < 0.1:
                    params, values = ";VALUE=PERIOD", [f"{days[0]:%Y%m%dT%H%M%S}Z/PT1H"]
                lines.append(f"{name}{params}:{','.join(values)}")
    if rng.random() < 0.15:
        lines.append("RECURRENCE-ID" + moment(rng, at + timedelta(days=7), all_day))
    for name, values in (
        ("CLASS", ["PUBLIC", "PRIVATE", "confidential"]),
        ("STATUS", ["CONFIRMED", "CANCELLED", "tentative"]),
        ("SEQUENCE", ["0", "3", "+2", "abc", ""]),
    ):
        if rng.random() < 0.3:
            lines.append(f"{name}:{rng.choice(values)}")
    if rng.random() < 0.05:
        lines.append("EXRULE:FREQ=WEEKLY;COUNT=2")
    if rng.random() < 0.3:
        lines.append(
            rng.choice(
                [
                    "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
                    "ATTENDEE;CN=監督:mailto:a@b.jp",
                    'ORGANIZER;CN="監督, 一郎":mailto:a@b.jp',
                    "TRANSP:OPAQUE",
                ]
            )
        )
    if rng.random() < 0.04:
        lines.append("SUMMARY:二つ目")  # a repeated property
    if rng.random() < 0.03:
        lines.append("DTEND:2026")  # a broken value
    lines.append("END:VEVENT")
    rng.shuffle(lines[1:-1])
    return "\r\n".join(lines) + "\r\n"


def outcome(read: Any) -> Any:
    try:
        return read()
    except ical.EventError as exc:
        return ("skipped", str(exc))
    except Exception as exc:  # icalendar's own failures on broken input
        return ("failed", type(exc).__name__)


def same_as_icalendar(text: str, zones: ical.Zones, x_wr: str | None) -> bool:
    """Whether the plain form took the event; asserts it reads as icalendar does."""
    plain = ical._plain_component(text, zones, x_wr)
    if plain is None:
        return False
    slow = outcome(lambda: ical._event(ical._icalendar_component(text, zones, x_wr), text, zones))
    fast = outcome(lambda: ical._event(plain, text, zones))
    assert fast == slow, text
    return True


@pytest.mark.parametrize("seed", range(3))
def test_random_events_read_as_icalendar_reads_them(seed: int) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(400):
        x_wr = rng.choice(X_WR)
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
        if x_wr:
            lines.append(f"X-WR-TIMEZONE:{x_wr}")
        lines += ["BEGIN:VEVENT", "UID:x", "DTSTART:20260101", "END:VEVENT", "END:VCALENDAR"]
        zones = ical.Zones(ical.scan("\r\n".join(lines) + "\r\n", 10))
        taken += same_as_icalendar(random_event(rng), zones, x_wr)
    assert taken > 80, taken  # many events here are made to leave the plain form


def plain_export(n: int) -> bytes:
    """An Asia/Tokyo export as calendar servers write it: VTIMEZONE, TZID times, weekly
    series with EXDATE and a moved occurrence, daily COUNT series, all-day events."""
    rng = random.Random(5)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VTIMEZONE",
             "TZID:Asia/Tokyo", "BEGIN:STANDARD", "DTSTART:19700101T000000",
             "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "TZNAME:JST", "END:STANDARD",
             "END:VTIMEZONE"]  # fmt: skip
    for i in range(n):
        at = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 360), hours=rng.randint(8, 17))
        lines += [
            "BEGIN:VEVENT",
            f"UID:plain-{i}@example.jp",
            "DTSTAMP:20260101T000000Z",
            f"SUMMARY:工程打合せ {i}\\, 現場",
            "DESCRIPTION:安全指示。\\n資料は掲示板に掲載。",
        ]
        if i % 10 == 0:
            lines += [f"DTSTART;VALUE=DATE:{at:%Y%m%d}", f"DTEND;VALUE=DATE:{at:%Y%m%d}"]
        else:
            lines += [
                f"DTSTART;TZID=Asia/Tokyo:{at:%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Asia/Tokyo:{at + timedelta(hours=1):%Y%m%dT%H%M%S}",
            ]
        if i % 5 == 1:
            lines += [
                "RRULE:FREQ=WEEKLY;UNTIL=20271231T000000Z",
                f"EXDATE;TZID=Asia/Tokyo:{at + timedelta(weeks=2):%Y%m%dT%H%M%S}",
                "END:VEVENT",
                "BEGIN:VEVENT",
                f"UID:plain-{i}@example.jp",
                f"RECURRENCE-ID;TZID=Asia/Tokyo:{at + timedelta(weeks=1):%Y%m%dT%H%M%S}",
                f"DTSTART;TZID=Asia/Tokyo:{at + timedelta(weeks=1, days=1):%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Asia/Tokyo:{at + timedelta(weeks=1, days=1, hours=1):%Y%m%dT%H%M%S}",
                "SUMMARY:変更回",
            ]
        elif i % 5 == 2:
            lines.append("RRULE:FREQ=DAILY;COUNT=30")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_exports_read_alike_and_plain_ones_take_the_fast_way() -> None:
    """The groupware export: its two events in Outlook's own zone go to icalendar, the other
    two are plain. A calendar server's export: every event (480) is plain."""
    for data, plain in (((DATA / "groupware.ics").read_bytes(), 2), (plain_export(400), 480)):
        text, _ = ical.decode(data)
        scanned = ical.scan(text, 10_000)
        zones = ical.Zones(scanned)
        taken = sum(same_as_icalendar(t, zones, scanned.x_wr_timezone) for t in scanned.events)
        assert taken == plain


def test_outlook_custom_zone_goes_to_icalendar() -> None:
    """A TZID named by the file's own VTIMEZONE (Outlook's quoted "(UTC+09:00) 大阪、札幌、東京")
    is outside the plain form: icalendar reads the event, ``Zones`` matches the zone."""
    text, _ = ical.decode((DATA / "groupware.ics").read_bytes())
    scanned = ical.scan(text, 10)
    zones = ical.Zones(scanned)
    custom = [t for t in scanned.events if "大阪" in t]
    assert custom
    assert all(ical._plain_component(t, zones, None) is None for t in custom)
    assert {ical.parse_event(t, zones, None).tz for t in custom} == {"Asia/Tokyo"}
