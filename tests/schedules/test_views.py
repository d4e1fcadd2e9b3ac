"""The views' read path (``api.schedules.views``): what it shows, checked from outside.

- Occurrences: random stored series (single entries, which the views show without compiling
  a rule, and recurring ones: rules from daily to yearly, intervals, BYDAY with ordinals,
  BYMONTHDAY, COUNT, UNTIL, EXDATEs, moved occurrences, five zones, all-day and timed) give
  the same occurrences as recurring-ical-events expanding the same VEVENT
  (``tests/schedules/oracle.py``), through the store's projected read and the caches.
- The list endpoint writes exactly the bytes FastAPI would write for ``OccurrenceRead``.
- The caches are keyed by record version: a change shows at once.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from api.schedules.access import Relations
from api.schedules.entries import time_fields
from api.schedules.schemas import OccurrenceRead, OccurrenceRow
from api.schedules.service import ScheduleService
from api.schedules.views import VIEW_FIELDS, clear_caches, rows
from tests.schedules.oracle import occurrences, vevent
from tests.schedules.test_entries import API, JUNE, create, view
from tests.schedules.test_recurrence import ZONES, random_rule
from tests.support.perms import World

pytestmark = pytest.mark.anyio


def random_series(rng: random.Random) -> tuple[dict[str, Any], str]:
    """Stored time fields of a random series (``time_fields``, as every writer stores them)
    and the same series as VEVENT text. Exceptions only where recurring-ical-events reads
    them as RFC 5545 does (see the note in test_recurrence)."""
    tz = rng.choice(ZONES)
    all_day = rng.random() < 0.25
    begin = datetime(
        rng.choice([2019, 2025, 2026]), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23)
    )
    start: datetime | date = begin.date() if all_day else begin
    end: datetime | date
    if all_day:
        end = begin.date() + timedelta(days=rng.randint(1, 3))
    else:
        end = begin + timedelta(minutes=rng.choice([0, 45, 90, 600, 1500]))
    # Half are single entries (most of a real calendar), the rest random rules.
    rule = random_rule(rng, all_day) if rng.random() < 0.5 else None
    exdates: list[datetime | date] = []
    moved: list[tuple[datetime | date, datetime | date, datetime | date]] = []
    several_a_day = bool(rule and ("BYHOUR" in rule or "HOURLY" in rule))
    if rule and not (several_a_day and tz != "UTC"):
        zone = ZoneInfo(tz)
        lo = datetime(2026, 1, 1, tzinfo=zone)
        known = sorted(
            occurrences(
                vevent(tz=tz, start=start, end=end, rrule=rule), lo, lo + timedelta(days=400)
            )
        )
        for first, _ in rng.sample(known, min(len(known), rng.randint(0, 3))):
            at = date.fromisoformat(first) if all_day else datetime.fromisoformat(first)
            if rng.random() < 0.5:
                exdates.append(at)
            else:
                base = at if isinstance(at, datetime) else datetime.combine(at, datetime.min.time())
                new = base + timedelta(days=rng.randint(-3, 3))
                if all_day:
                    moved.append((at, new.date(), new.date() + timedelta(days=1)))
                else:
                    moved.append((at, new, new + timedelta(hours=1)))
    fields = time_fields(
        tz=tz,
        all_day=all_day,
        start=start,
        end=end,
        rrule=rule,
        exdates=exdates,
        overrides={
            (k.isoformat()): {"start": a.isoformat(), "end": b.isoformat()} for k, a, b in moved
        },
    )
    text = vevent(tz=tz, start=start, end=end, rrule=rule, exdates=exdates, overrides=moved)
    return fields, text


def naive(text: str) -> str:
    """A row's start or end without its offset (the oracle gives wall-clock values)."""
    return (
        text if len(text) == 10 else datetime.fromisoformat(text).replace(tzinfo=None).isoformat()
    )


async def test_view_occurrences_equal_recurring_ical_events(settings: Settings) -> None:
    container = Container(settings)
    await container.open()
    try:
        rng = random.Random(20260601)
        owner = new_id()
        cases: dict[str, tuple[str, str | None]] = {}  # id -> VEVENT, zone of an all-day one
        records = []
        for _ in range(300):
            fields, text = random_series(rng)
            entry_id = new_id()
            cases[entry_id] = (text, fields["tz"] if fields["all_day"] else None)
            records.append(
                {
                    "id": entry_id,
                    "owner_id": owner,
                    "title": "予定",
                    "location": "",
                    "description": "長い説明" * 200,  # never read by a view
                    "visibility": "public",
                    "work_ids": [],
                    "uid": f"{entry_id}@kura",
                    **fields,
                }
            )
        await container.records.insert_many("schedule_entries", records)
        service = ScheduleService(container)
        rel = Relations(owner)
        for month in range(1, 13):
            name = rng.choice(ZONES)
            zone = ZoneInfo(name)
            lo = datetime(2026, month, rng.randint(1, 28), tzinfo=zone)
            hi = lo + timedelta(days=rng.choice([1, 7, 31, 42]))
            for attempt in ("cold", "cached"):
                if attempt == "cold":
                    clear_caches()
                entries = await service.entries_between({owner}, lo, hi, fields=VIEW_FIELDS)
                rows, cut = views_rows(entries, rel, owner, lo, hi)
                assert not cut
                got: dict[str, set[tuple[str, str]]] = {}
                for row in rows:
                    got.setdefault(str(row["series_id"]), set()).add(
                        (naive(row["start"]), naive(row["end"]))
                    )
                for entry_id, (text, day_zone) in cases.items():
                    if day_zone not in (None, name):
                        # recurring-ical-events reads dates as floating (compared with the
                        # range's dates); the engine places an all-day date at midnight of
                        # the entry's zone (as test_recurrence, compare in that zone only).
                        continue
                    want = occurrences(text, lo, hi)
                    assert got.get(entry_id, set()) == want, (attempt, text, lo, hi)
                assert len({row["id"] for row in rows}) == len(rows)  # each occurrence once
    finally:
        await container.close()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-06-01T08:00:00", "2026-06-01T09:00:00"),  # ends as the range begins
        ("2026-06-01T08:00:00", "2026-06-01T09:00:01"),
        ("2026-06-01T09:00:00", "2026-06-01T09:00:00"),  # zero length at the beginning
        ("2026-06-08T09:00:00", "2026-06-08T09:00:00"),  # zero length at the end
        ("2026-06-08T08:59:59", "2026-06-08T10:00:00"),
        ("2026-06-08T09:00:00", "2026-06-08T10:00:00"),  # begins as the range ends
        ("2026-05-31", "2026-06-01"),  # all-day, the day before
        ("2026-06-01", "2026-06-02"),
        ("2026-06-08", "2026-06-09"),  # all-day, the day the range ends at 09:00
    ],
)
async def test_single_entries_at_the_edges_of_the_range(
    settings: Settings, start: str, end: str
) -> None:
    """A single entry is shown without compiling a rule: the edges as recurring-ical-events
    draws them (start < to and from < end; zero length: from <= start < to)."""
    container = Container(settings)
    await container.open()
    try:
        tz, owner, entry_id = "Asia/Tokyo", new_id(), new_id()
        all_day = len(start) == 10
        first = date.fromisoformat(start) if all_day else datetime.fromisoformat(start)
        last = date.fromisoformat(end) if all_day else datetime.fromisoformat(end)
        fields = time_fields(tz=tz, all_day=all_day, start=first, end=last, rrule=None)
        await container.records.insert(
            "schedule_entries",
            {"id": entry_id, "owner_id": owner, "title": "端", "visibility": "public", **fields},
        )
        zone = ZoneInfo(tz)
        lo, hi = datetime(2026, 6, 1, 9, tzinfo=zone), datetime(2026, 6, 8, 9, tzinfo=zone)
        if all_day:
            lo, hi = lo.replace(hour=0), hi.replace(hour=0) + timedelta(hours=9)
        entries = await ScheduleService(container).entries_between(
            {owner}, lo, hi, fields=VIEW_FIELDS
        )
        got = {
            (naive(r["start"]), naive(r["end"]))
            for r in views_rows(entries, Relations(owner), owner, lo, hi)[0]
        }
        assert got == occurrences(vevent(tz=tz, start=first, end=last), lo, hi)
    finally:
        await container.close()


def views_rows(
    entries: list[dict[str, Any]], rel: Relations, me: str, lo: datetime, hi: datetime
) -> tuple[list[OccurrenceRow], bool]:
    return rows(entries, rel, {me: "本人"}, lo, hi, me, 100_000)


async def test_the_list_is_written_as_fastapi_writes_the_model(world: World) -> None:
    """The list endpoint writes its rows with pydantic's encoder straight from the typed rows:
    the bytes equal FastAPI's validate-then-``json.dumps`` of ``OccurrenceRead`` (every field,
    in order, busy rows included)."""
    work = (await world.work())["id"]
    await create(
        world,
        title="定例",
        start="2026-06-01T09:00",
        end="2026-06-01T10:00",
        rrule="FREQ=WEEKLY;COUNT=3",
        work_ids=[work],
    )
    await create(
        world,
        title="非公開",
        start="2026-06-02T13:00",
        end="2026-06-02T14:00",
        visibility="private",
    )
    await create(
        world, title="終日", start="2026-06-05", end="2026-06-06", all_day=True, location="現場"
    )
    r = await world.client("builder").get(f"{API}/entries", params={**JUNE, "work_id": work})
    assert r.status_code == 200, r.text
    rows = r.json()
    assert {row["busy_only"] for row in rows} == {True, False}
    model = TypeAdapter(list[OccurrenceRead])
    expected = json.dumps(
        model.dump_python(model.validate_python(rows), mode="json"),
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    ).encode()
    assert r.content == expected
    assert r.headers["content-type"] == "application/json"


async def test_a_change_shows_at_once(world: World) -> None:
    """Prepared series and expansions are cached by record version: every change (title,
    time, rule, one occurrence) is in the next view."""
    client = world.client("supervisor")
    entry = await create(
        world,
        title="定例",
        start="2026-06-01T09:00",
        end="2026-06-01T10:00",
        rrule="FREQ=WEEKLY;COUNT=4",
    )
    single = await create(world, title="単発", start="2026-06-03T15:00", end="2026-06-03T16:00")
    assert len(await view(world, "supervisor")) == 5
    r = await client.patch(
        f"{API}/entries/{single['id']}",
        json={"version": single["version"], "title": "単発（変更）", "start": "2026-06-04T15:00"},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"{API}/entries/{entry['id']}",
        json={"version": entry["version"], "rrule": "FREQ=WEEKLY;COUNT=2"},
    )
    assert r.status_code == 200, r.text
    entry = r.json()
    r = await client.delete(
        f"{API}/entries/{entry['id']}/occurrences/20260608T090000",
        params={"version": entry["version"]},
    )
    assert r.status_code == 200, r.text
    assert [(o["title"], o["start"]) for o in await view(world, "supervisor")] == [
        ("定例", "2026-06-01T09:00:00+09:00"),
        ("単発（変更）", "2026-06-04T15:00:00+09:00"),
    ]


async def test_a_series_changed_after_the_first_read_comes_in_its_new_version(
    world: World,
) -> None:
    """A view reads ids and versions first and the fields of versions not prepared yet after
    (``ScheduleService.prepared``): a series changed in between comes in its new version,
    one deleted in between is left out, one of a person not on screen too."""
    changed = await create(world, title="前", start="2026-06-02T10:00", end="2026-06-02T11:00")
    gone = await create(world, title="消える", start="2026-06-03T10:00", end="2026-06-03T11:00")
    other = await create(
        world, "builder", title="他人", start="2026-06-04T10:00", end="2026-06-04T11:00"
    )
    stubs = [{"id": e["id"], "version": e["version"]} for e in (changed, gone, other)]
    client = world.client("supervisor")
    r = await client.patch(
        f"{API}/entries/{changed['id']}", json={"version": changed["version"], "title": "後"}
    )
    assert r.status_code == 200, r.text
    r = await client.delete(f"{API}/entries/{gone['id']}", params={"version": gone["version"]})
    assert r.status_code == 204, r.text
    clear_caches()
    service = ScheduleService(world.container)
    got = await service.prepared(stubs, {world.user_id("supervisor")})
    assert [(p.id, p.version, p.title) for p in got if p is not None] == [
        (changed["id"], changed["version"] + 1, "後")
    ]
    # Now prepared: the same stubs again read nothing but give the same answer.
    again = await service.prepared(
        [{"id": changed["id"], "version": changed["version"] + 1}], {world.user_id("supervisor")}
    )
    assert again == got


def test_rows_are_written_as_pydantic_writes_any_text() -> None:
    """The rows are JSON joined from pieces cached with each occurrence
    (``views.render``): for any title, place, owner name and work id, with quotes,
    backslashes, control characters, non-BMP and Japanese text, full and busy rows, the
    bytes equal pydantic's encoding of the same ``OccurrenceRead`` rows, and the answer
    parses as them."""
    from api.schedules.views import in_range, prepare, render

    rng = random.Random(12)
    alphabet = ['"', "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "\u2028", "工", "事", "😀", "a", " "]

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))

    me, other = "me", "other"
    works = [text(6) or "w" for _ in range(3)]
    entries = []
    for i in range(60):
        owner = rng.choice([me, other])
        fields = time_fields(
            tz="Asia/Tokyo",
            all_day=False,
            start=datetime(2026, 6, 1 + i % 28, 9),
            end=datetime(2026, 6, 1 + i % 28, 10),
            rrule="FREQ=DAILY;COUNT=2" if i % 3 == 0 else None,
        )
        entries.append(
            {
                "id": f"e{i:03d}",
                "version": 1,
                "owner_id": owner,
                "visibility": rng.choice(["public", "private"]),
                "work_ids": rng.sample(works, rng.randint(0, 2)),
                "title": text(12),
                "location": text(8),
                **fields,
            }
        )
    rel = Relations(me, my_roles={works[0]: "supervisor"}, members={other: {works[0]}})
    names = {me: text(10), other: text(10)}
    lo = datetime(2026, 6, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    hi = lo + timedelta(days=31)
    body, cut = render(in_range([prepare(e) for e in entries], lo, hi), rel, names, me, 10_000)
    assert not cut
    model = TypeAdapter(list[OccurrenceRead])
    rows = model.validate_json(body)
    assert {r.busy_only for r in rows} == {True, False}
    assert body == model.dump_json(rows)
