"""Month buckets (``api.schedules.months``): the stored occurrences of a person's month give a
view exactly what their series give, and no change of a series leaves a bucket behind
(issue 9 "Measured": the supervisor's month of seed 001 別表1-1 7(2) at p95 < 50 ms; 別表1-1
7(1)(3)(5)(6): entries created, changed, deleted and imported show at once).

- Random series (single entries, rules from daily to yearly, EXDATEs, moved occurrences, five
  zones, all-day and timed) and text with quotes and control characters: over ranges of a
  day, a week, a month of the system's zone, a six-week month grid and a turn of the year,
  the rows rendered from the buckets are byte for byte the rows rendered from the series.
- Each way of writing a series (create, change, an occurrence edited or cancelled, delete,
  an iCalendar import, the erasure of a work) deletes its owner's buckets in its own unit of
  work; the next view shows the change and makes them again.
- A series with more occurrences in a month than an answer shows of one series makes its
  owner's month "live": views read that owner's series.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.cli._run import with_container
from api.config import RecordsSettings, Settings
from api.container import Container
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.schedules import months
from api.schedules.access import Relations
from api.schedules.entries import time_fields
from api.schedules.service import ScheduleService
from api.schedules.views import VIEW_FIELDS, clear_caches, in_range, prepare, render
from storage.query import Eq, Query
from tests.conftest import server_env
from tests.schedules.test_entries import API, create, view
from tests.schedules.test_import import finished, upload
from tests.schedules.test_views import random_series
from tests.support.perms import World

pytestmark = pytest.mark.anyio

TOKYO = ZoneInfo("Asia/Tokyo")
ODD = ['"', "\\", "\n", "\x00", "\u2028", "工", "事", "😀", "a", " "]


async def _series_rows(
    service: ScheduleService, rel: Relations, owners: set[str], lo: datetime, hi: datetime
) -> bytes:
    clear_caches()
    found = await service.entries_between(owners, lo, hi, fields=VIEW_FIELDS)
    shown = in_range([prepare(e) for e in found], lo, hi)
    body, _ = render(shown, rel, NAMES, rel.user_id, 100_000)
    return body


async def _bucket_rows(
    service: ScheduleService, rel: Relations, owners: set[str], lo: datetime, hi: datetime
) -> bytes:
    zone_name = service.settings.timezone
    spans = months.month_span(lo, hi, TOKYO)
    assert spans
    await months.fill(service.records, owners, spans, zone_name, service._view_series)
    clear_caches()  # what follows reads the buckets only
    stored = await months.read(service.records, owners, spans, zone_name)
    assert {owner for owner, _ in stored} == owners
    bounds = (to_iso(lo), to_iso(hi), len(spans) > 1)
    body, _ = render((), rel, NAMES, rel.user_id, 100_000, stored, bounds)
    return body


NAMES: dict[str, str] = {}


@pytest.fixture(params=["embedded", pytest.param("mongodb", marks=pytest.mark.servers)])
async def store(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Container]:
    """A container on SQLite, and on MongoDB when the real test servers are up (the buckets'
    transactions and reads on both record stores)."""
    if request.param == "mongodb":
        records = RecordsSettings(
            backend="mongodb",
            mongo_uri=server_env("KURA_TEST_MONGO_URI"),
            mongo_db=f"kura_months_{uuid.uuid4().hex[:12]}",
        )
        settings = settings.model_copy(update={"records": records})
    container = Container(settings)
    await container.open()
    try:
        yield container
    finally:
        drop = getattr(container.records, "drop_database", None)
        if drop is not None:
            await drop()
        await container.close()


async def test_buckets_give_the_rows_the_series_give(store: Container) -> None:
    container = store
    rng = random.Random(20261202)
    me, other = new_id(), new_id()
    work = new_id()
    NAMES.update({me: "監督員", other: 'a"b\\c'})
    records = []
    for i in range(240):
        fields, _ = random_series(rng)
        entry_id = new_id()
        title = "".join(rng.choice(ODD) for _ in range(rng.randint(0, 8)))
        for moved in (fields.get("overrides") or {}).values():
            if rng.random() < 0.5:
                moved["title"] = title + "（変更）"
                moved["location"] = "別会場\n2階"
        records.append(
            {
                "id": entry_id,
                "owner_id": me if i % 2 else other,
                "title": title,
                "location": rng.choice(["", "現場事務所", 'x"y']),
                "visibility": rng.choice(["public", "private"]),
                "work_ids": [work] if i % 3 else [],
                "uid": f"{entry_id}@kura",
                **fields,
            }
        )
    await container.records.insert_many("schedule_entries", records)
    service = ScheduleService(container)
    rel = Relations(me, my_roles={work: "supervisor"}, members={other: {work}})
    owners = {me, other}
    ranges = [
        (datetime(2026, 6, 1, tzinfo=TOKYO), datetime(2026, 7, 1, tzinfo=TOKYO)),
        (datetime(2026, 5, 31, tzinfo=TOKYO), datetime(2026, 7, 12, tzinfo=TOKYO)),  # grid
        (datetime(2026, 3, 10, 9, tzinfo=TOKYO), datetime(2026, 3, 17, 9, tzinfo=TOKYO)),
        (datetime(2026, 12, 31, 15, tzinfo=TOKYO), datetime(2027, 1, 1, 15, tzinfo=TOKYO)),
        (datetime(2025, 12, 28, tzinfo=TOKYO), datetime(2026, 2, 8, tzinfo=TOKYO)),
    ]
    for lo, hi in ranges:
        want = await _series_rows(service, rel, owners, lo, hi)
        got = await _bucket_rows(service, rel, owners, lo, hi)
        assert got == want, (lo, hi)
        assert len(want) > 2


def test_month_span_counts_the_months_of_the_zone() -> None:
    lo = datetime(2026, 5, 31, tzinfo=TOKYO)
    spans = months.month_span(lo, datetime(2026, 7, 12, tzinfo=TOKYO), TOKYO)
    assert [m for m, _, _ in spans] == ["2026-05", "2026-06", "2026-07"]
    assert spans[1][1] == datetime(2026, 6, 1, tzinfo=TOKYO)
    # 2026-06-01 00:00 in Tokyo is 2026-05-31 15:00 UTC: still June's bucket only
    utc_first = datetime(2026, 5, 31, 15, tzinfo=ZoneInfo("UTC"))
    june = months.month_span(utc_first, lo + timedelta(days=31), TOKYO)
    assert [m for m, _, _ in june] == ["2026-06"]
    # more months than a grid: the series are read
    assert months.month_span(lo, lo + timedelta(days=100), TOKYO) == []


async def _buckets(world: World, owner: str) -> list[str]:
    await world.container.settle()
    page = await world.container.records.find(
        months.MONTHS, Query(where=(Eq("owner_id", owner),), limit=100)
    )
    return sorted(str(d["id"]) for d in page.items)


async def _viewed(world: World, who: str = "supervisor") -> list[dict[str, Any]]:
    """A view, then its buckets made (the fill runs after the answer)."""
    rows = await view(world, who)
    await world.container.settle()
    return rows


async def test_every_write_of_a_series_deletes_its_owners_buckets(world: World) -> None:
    """7(1)(5): a change shows at once, though the month was stored before it."""
    me = world.user_id("supervisor")
    client = world.client("supervisor")
    entry = await create(world, title="打合せ", rrule="FREQ=WEEKLY;COUNT=4")
    await _viewed(world)
    assert await _buckets(world, me) == [f"{me}|Asia/Tokyo|2026-06"]
    assert [r["title"] for r in await _viewed(world)] == ["打合せ"] * 4

    # change of the series
    r = await client.patch(
        f"{API}/entries/{entry['id']}", json={"version": entry["version"], "title": "定例"}
    )
    assert r.status_code == 200, r.text
    entry = r.json()
    assert await _buckets(world, me) == []
    assert [r["title"] for r in await _viewed(world)] == ["定例"] * 4
    assert await _buckets(world, me) == [f"{me}|Asia/Tokyo|2026-06"]

    # one occurrence edited, one cancelled
    rows = await _viewed(world)
    r = await client.put(
        f"{API}/entries/{entry['id']}/occurrences/{rows[1]['recurrence_id']}",
        json={"version": entry["version"], "title": "定例（変更）"},
    )
    assert r.status_code == 200, r.text
    entry = r.json()
    assert await _buckets(world, me) == []
    assert [r["title"] for r in await _viewed(world)] == ["定例", "定例（変更）", "定例", "定例"]
    r = await client.delete(
        f"{API}/entries/{entry['id']}/occurrences/{rows[0]['recurrence_id']}",
        params={"version": entry["version"]},
    )
    assert r.status_code == 200, r.text
    entry = r.json()["entry"]
    assert await _buckets(world, me) == []
    assert [r["title"] for r in await _viewed(world)] == ["定例（変更）", "定例", "定例"]

    # delete
    r = await client.delete(f"{API}/entries/{entry['id']}", params={"version": entry["version"]})
    assert r.status_code == 204, r.text
    assert await _buckets(world, me) == []
    assert await _viewed(world) == []


async def test_an_import_deletes_the_buckets_of_its_owner(world: World) -> None:
    """7(6): entries imported from an iCalendar file show at once."""
    me = world.user_id("supervisor")
    await create(world, title="既存")
    await _viewed(world)
    assert await _buckets(world, me)
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//JA\r\nBEGIN:VEVENT\r\n"
        "UID:imp-1@example.jp\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Asia/Tokyo:20260610T090000\r\nDTEND;TZID=Asia/Tokyo:20260610T100000\r\n"
        "SUMMARY:取り込み\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    r = await upload(world, ics)
    assert r.status_code in (200, 201, 202), r.text
    assert (await finished(world, r.json()["id"]))["state"] == "done"
    assert sorted(r["title"] for r in await _viewed(world)) == sorted(["既存", "取り込み"])


async def test_erasing_a_work_deletes_the_buckets_of_its_entries_owners(world: World) -> None:
    """Issue 12 §1 (seed 001 §3-6): buckets copy titles; the work's erasure takes them too."""
    from api.handovers.schedules import erase_schedules

    me = world.user_id("supervisor")
    work = (await world.work())["id"]
    await create(world, title="現場立会", work_ids=[work])
    await _viewed(world)
    assert await _buckets(world, me)
    async with world.container.uow() as uow:
        await erase_schedules(world.container, uow, work)
    assert await _buckets(world, me) == []
    assert await _viewed(world) == []


async def test_a_series_with_more_than_an_answer_shows_keeps_its_month_live(
    store: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An hourly series has 720 occurrences in June; an answer shows 100 of one series here.
    monkeypatch.setattr(months, "MAX_PER_SERIES", 100)
    container = store
    owner = new_id()
    entry_id = new_id()
    fields = time_fields(
        tz="Asia/Tokyo",
        all_day=False,
        start=datetime(2026, 6, 1, 0, 0),
        end=datetime(2026, 6, 1, 0, 5),
        rrule="FREQ=HOURLY",
    )
    await container.records.insert(
        "schedule_entries",
        {"id": entry_id, "owner_id": owner, "title": "監視", "visibility": "public", **fields},
    )
    service = ScheduleService(container)
    lo, hi = datetime(2026, 6, 1, tzinfo=TOKYO), datetime(2026, 7, 1, tzinfo=TOKYO)
    spans = months.month_span(lo, hi, TOKYO)
    made = await months.fill(container.records, {owner}, spans, "Asia/Tokyo", service._view_series)
    assert made == 1
    doc = await container.records.get(
        months.MONTHS, months.bucket_id(owner, "Asia/Tokyo", "2026-06")
    )
    assert doc is not None
    assert doc["live"] is True
    assert doc["series"] == []
    assert await months.read(container.records, {owner}, spans, "Asia/Tokyo") == []


def test_kura_schedules_months_makes_the_buckets_of_everyone_with_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kura schedules months`` (after an upgrade or a restore): every person with entries
    gets a bucket per month, once (run again, it makes none); bad months are refused."""
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "kura"))
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    people = [new_id() for _ in range(3)]

    async def seed(c: Container) -> None:
        rows = []
        for i, owner in enumerate(people):
            fields = time_fields(
                tz="Asia/Tokyo",
                all_day=False,
                start=datetime(2026, 5 + i, 10, 9),
                end=datetime(2026, 5 + i, 10, 10),
                rrule=None,
            )
            rows.append({"id": new_id(), "owner_id": owner, "title": "打合せ", **fields})
        await c.records.insert_many("schedule_entries", rows)

    with_container(seed)
    runner = CliRunner()
    first = runner.invoke(cli, ["schedules", "months", "--from", "2026-05", "--to", "2026-07"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("9 month buckets made for 3 people")

    async def count(c: Container) -> int:
        return await c.records.count(months.MONTHS)

    assert with_container(count) == 9
    again = runner.invoke(cli, ["schedules", "months", "--from", "2026-05", "--to", "2026-07"])
    assert again.output.startswith("0 month buckets made for 3 people"), again.output
    bad = runner.invoke(cli, ["schedules", "months", "--from", "2026-13", "--to", "2026-07"])
    assert bad.exit_code == 2
    assert "is not a month" in bad.output
    backwards = runner.invoke(cli, ["schedules", "months", "--from", "2026-07", "--to", "2026-05"])
    assert backwards.exit_code == 2
    assert "--to is before --from" in backwards.output


async def test_a_change_while_a_fill_reads_leaves_no_bucket_of_the_old_state(
    store: Container,
) -> None:
    """A fill reads the series outside its transaction: a change committed meanwhile bumps
    the owner's generation, and the fill drops that owner's bucket (the other owner's stays)."""
    container = store
    me, other = new_id(), new_id()
    service = ScheduleService(container)
    rows = []
    for owner in (me, other):
        fields = time_fields(
            tz="Asia/Tokyo",
            all_day=False,
            start=datetime(2026, 6, 3, 9),
            end=datetime(2026, 6, 3, 10),
            rrule=None,
        )
        rows.append({"id": new_id(), "owner_id": owner, "title": "前", **fields})
    await container.records.insert_many("schedule_entries", rows)
    lo, hi = datetime(2026, 6, 1, tzinfo=TOKYO), datetime(2026, 7, 1, tzinfo=TOKYO)
    spans = months.month_span(lo, hi, TOKYO)

    async def read_then_change(owners: set[str], start: datetime, end: datetime) -> Any:
        found = await service._view_series(owners, start, end)
        async with container.uow() as uow:  # what every writer of a series does
            await uow.records.update("schedule_entries", rows[0]["id"], {"title": "後"}, 1)
            await months.changed(uow.records, [me])
        return found  # the old state

    records, zone_name = container.records, "Asia/Tokyo"
    made = await months.fill(records, {me, other}, spans, zone_name, read_then_change)
    assert made == 1
    assert await records.get(months.MONTHS, months.bucket_id(me, zone_name, "2026-06")) is None
    kept = await months.read(records, {me, other}, spans, zone_name)
    assert [owner for owner, _ in kept] == [other]
    # the next fill makes it from the new state
    assert await months.fill(records, {me}, spans, zone_name, service._view_series) == 1
    ((_, series),) = await months.read(records, {me}, spans, zone_name)
    assert series[0][4] == "後"
