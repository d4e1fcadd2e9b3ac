"""Schedules (issue 9 "Measured"): the supervisor's month view and the iCalendar import.

    python -m bench.bench_schedules [--members 200] [--works 100] [--events 10000] [--runs 24]

1. Month view for a supervisor of ``--works`` works and ``--members`` members with recurring
   entries (target p95 < 50 ms). Each member has a weekly series (begun 2024), a monthly one
   (begun 2023, 2nd Tuesday) and 8 single entries a month for 2025-2027, some linked to a work,
   one in five private; the supervisor has 5 weekly series and 10 entries a month. The view
   (``ScheduleService.view``, all works, every member) is timed over 12 different months,
   twice (the first pass compiles each series once per process). Baseline, same run: reading
   the same series from the record store (``entries_between``) without expanding them.
2. Import of a ``--events``-event Asia/Tokyo ICS with recurrences (target < 5 s, peak RSS <
   150 MB, the API responsive meanwhile): the job runs in its own process, as a worker would;
   its time and peak RSS (VmHWM) are printed beside the same process's RSS before the import
   and beside icalendar parsing the whole file at once (the library alone, baseline). While
   it runs, this process asks the API for a month view every 50 ms; the latencies are printed
   beside the same requests with no import running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import pct, peak_rss_mib, rss_mib

MONTHS = [(2026, m) for m in range(1, 13)]


def settings_for(data: Path) -> Any:
    from api.config import Settings

    return Settings(data_dir=data, log_json=False, log_level="WARNING", jobs={"eager": False})


def subject(user_id: str, org_id: str) -> Any:
    from api.permissions.policy import OrgKind, Subject

    return Subject(user_id=user_id, login_id=user_id, org_id=org_id, org_kind=OrgKind.ORDERER)


async def seed(container: Any, works: int, members: int) -> tuple[str, str]:
    """Works, memberships and entries written straight into the record store."""
    from api.kit.ids import new_id
    from api.schedules.entries import time_fields
    from api.schedules.recurrence import parse_local

    rng = random.Random(7)
    org = new_id()
    boss = new_id()
    now = "2026-01-01T00:00:00.000000Z"
    work_ids = [new_id() for _ in range(works)]
    await container.records.insert_many(
        "works",
        [
            {"id": w, "title": f"工事{i}", "status": "in_progress", "orderer_org_id": org}
            for i, w in enumerate(work_ids)
        ],
    )
    people = [new_id() for _ in range(members)]
    users = [
        {"id": u, "login_id": u, "name": f"利用者{i}", "org_id": org, "status": "active"}
        for i, u in enumerate([boss, *people])
    ]
    await container.records.insert_many("users", users)
    rows = [
        {"id": f"{w}:{boss}", "work_id": w, "user_id": boss, "role": "supervisor"} for w in work_ids
    ]
    home: dict[str, str] = {}
    for i, u in enumerate(people):
        w = work_ids[i % works]
        home[u] = w
        rows.append({"id": f"{w}:{u}", "work_id": w, "user_id": u, "role": "contractor_member"})
    await container.records.insert_many("work_members", rows)

    def entry(
        owner: str,
        title: str,
        start: str,
        end: str,
        rrule: str | None = None,
        work: str | None = None,
        private: bool = False,
    ) -> dict[str, Any]:
        eid = new_id()
        return {
            "id": eid,
            "owner_id": owner,
            "org_id": org,
            "title": title,
            "location": "",
            "description": "",
            "visibility": "private" if private else "public",
            "work_ids": [work] if work else [],
            "uid": f"{eid}@kura",
            "sequence": 0,
            "source": {"kind": "kura"},
            "created_at": now,
            "updated_at": now,
            **time_fields(
                tz="Asia/Tokyo",
                all_day=False,
                start=parse_local(start),
                end=parse_local(end),
                rrule=rrule,
            ),
        }

    batch: list[dict[str, Any]] = []
    for owner, singles, weekly in [(boss, 10, 5)] + [(u, 8, 1) for u in people]:
        for k in range(weekly):
            day = date(2024, 1, 1) + timedelta(days=k % 5)
            batch.append(
                entry(
                    owner,
                    "定例",
                    f"{day}T09:00:00",
                    f"{day}T10:00:00",
                    "FREQ=WEEKLY",
                    home.get(owner),
                )
            )
        if owner != boss:
            batch.append(
                entry(
                    owner,
                    "月例報告",
                    "2023-01-10T15:00:00",
                    "2023-01-10T16:00:00",
                    "FREQ=MONTHLY;BYDAY=2TU",
                )
            )
        for year in (2025, 2026, 2027):
            for month in range(1, 13):
                for _ in range(singles):
                    d = date(year, month, rng.randint(1, 28))
                    h = rng.randint(8, 17)
                    batch.append(
                        entry(
                            owner,
                            "打合せ",
                            f"{d}T{h:02d}:00:00",
                            f"{d}T{h:02d}:45:00",
                            work=home.get(owner) if rng.random() < 0.5 else None,
                            private=rng.random() < 0.2,
                        )
                    )
        if len(batch) > 5000:
            await container.records.insert_many("schedule_entries", batch)
            batch = []
    if batch:
        await container.records.insert_many("schedule_entries", batch)
    return boss, org


async def month_view(args: argparse.Namespace) -> None:
    from api.container import Container
    from api.schedules.service import ScheduleService

    with tempfile.TemporaryDirectory() as tmp:
        container = Container(settings_for(Path(tmp)))
        await container.open()
        try:
            started = time.perf_counter()
            boss, org = await seed(container, args.works, args.members)
            total = await container.records.count("schedule_entries")
            print(
                f"seeded {total:,} series for {args.members} members of {args.works} works "
                f"in {time.perf_counter() - started:.1f} s"
            )
            service = ScheduleService(container)
            me = subject(boss, org)
            _, _rel, owners = await service.view_scope(me, [], [], True)
            for label in ("first pass", "second pass"):
                view: list[float] = []
                base: list[float] = []
                counts: list[int] = []
                for year, month in MONTHS * (args.runs // 12 or 1):
                    frm = f"{year}-{month:02d}-01"
                    to = f"{year + month // 12}-{month % 12 + 1:02d}-01"
                    lo, hi = service.parse_range(frm, to)
                    t0 = time.perf_counter()
                    await service.entries_between(owners, lo, hi)
                    base.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    rows, _ = await service.view(me, frm, to, all_works=True)
                    view.append(time.perf_counter() - t0)
                    counts.append(len(rows))
                p95, b95 = pct(view, 0.95) * 1000, pct(base, 0.95) * 1000
                print(
                    f"month view ({label}): p50 {pct(view, 0.5) * 1000:.1f} ms, "
                    f"p95 {p95:.1f} ms (target < 50) | baseline store read p95 {b95:.1f} ms "
                    f"| ratio {p95 / b95:.1f}x | {min(counts)}-{max(counts)} occurrences"
                )
        finally:
            await container.close()


def make_ics(n: int) -> bytes:
    """An Asia/Tokyo export of ``n`` events: 70 % single, 20 % weekly with EXDATE, 5 % daily
    COUNT, 5 % all-day; some series with a moved occurrence (RECURRENCE-ID)."""
    rng = random.Random(11)
    out = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//bench//EN",
        "BEGIN:VTIMEZONE",
        "TZID:Asia/Tokyo",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0900",
        "TZOFFSETTO:+0900",
        "TZNAME:JST",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]
    made = 0
    i = 0
    while made < n:
        i += 1
        d = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 360), hours=rng.randint(8, 17))
        kind = rng.random()
        ev = [
            "BEGIN:VEVENT",
            f"UID:bench-{i}@example.jp",
            "DTSTAMP:20260101T000000Z",
            f"SUMMARY:工程打合せ {i}",
            "LOCATION:現場事務所",
            "DESCRIPTION:週間工程の確認と安全指示。資料は掲示板に掲載します。",
        ]
        if kind < 0.05:
            ev += [
                f"DTSTART;VALUE=DATE:{d:%Y%m%d}",
                f"DTEND;VALUE=DATE:{d + timedelta(days=1):%Y%m%d}",
            ]
        else:
            ev += [
                f"DTSTART;TZID=Asia/Tokyo:{d:%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Asia/Tokyo:{d + timedelta(hours=1):%Y%m%dT%H%M%S}",
            ]
        if 0.05 <= kind < 0.25:
            ev += [
                "RRULE:FREQ=WEEKLY;UNTIL=20271231T000000Z",
                f"EXDATE;TZID=Asia/Tokyo:{d + timedelta(weeks=2):%Y%m%dT%H%M%S}",
            ]
        elif 0.25 <= kind < 0.30:
            ev.append("RRULE:FREQ=DAILY;COUNT=30")
        ev.append("END:VEVENT")
        out += ev
        made += 1
        if 0.05 <= kind < 0.10 and made < n:
            moved = d + timedelta(weeks=1)
            out += [
                "BEGIN:VEVENT",
                f"UID:bench-{i}@example.jp",
                "DTSTAMP:20260101T000000Z",
                f"RECURRENCE-ID;TZID=Asia/Tokyo:{moved:%Y%m%dT%H%M%S}",
                f"DTSTART;TZID=Asia/Tokyo:{moved + timedelta(days=1):%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Asia/Tokyo:{moved + timedelta(days=1, hours=1):%Y%m%dT%H%M%S}",
                f"SUMMARY:工程打合せ {i}（変更）",
                "END:VEVENT",
            ]
            made += 1
    out.append("END:VCALENDAR")
    return ("\r\n".join(out) + "\r\n").encode()


async def child(data: str, import_id: str) -> None:
    """The job in its own process (as a worker runs it): time and memory."""
    from api.container import Container
    from api.schedules.imports import ImportService

    logging.disable(logging.WARNING)
    container = Container(settings_for(Path(data)))
    await container.open()
    before = rss_mib()
    t0 = time.perf_counter()
    state = await ImportService(container).run(import_id)
    seconds = time.perf_counter() - t0
    record = await container.records.get("schedule_imports", import_id)
    await container.close()
    print(
        json.dumps(
            {
                "state": state,
                "seconds": seconds,
                "rss_before": before,
                "peak": peak_rss_mib(),
                "report": {k: v for k, v in (record or {})["report"].items() if k != "items"},
            }
        )
    )


async def import_bench(args: argparse.Namespace) -> None:
    import httpx
    import icalendar

    from api.app import create_app
    from api.container import Container
    from api.deps import optional_subject
    from api.kit.ids import new_id
    from api.schedules.imports import ImportService

    data = make_ics(args.events)
    t0 = time.perf_counter()
    icalendar.Calendar.from_ical(data)
    parse_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        container = Container(settings_for(Path(tmp)))
        await container.open()
        org, user = new_id(), new_id()
        await container.records.insert("organizations", {"id": org, "kind": "orderer", "name": "x"})
        await container.records.insert(
            "users",
            {"id": user, "login_id": "u", "name": "計測", "org_id": org, "status": "active"},
        )
        me = subject(user, org)

        async def body() -> Any:
            yield data

        record = await ImportService(container).from_upload(me, "bench.ics", body())
        app = create_app(container=container)
        app.dependency_overrides[optional_subject] = lambda: me
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://b") as c:

            async def probe(seconds: float) -> list[float]:
                out: list[float] = []
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    s = time.perf_counter()
                    r = await c.get(
                        "/api/v1/schedules/entries",
                        params={"from": "2026-06-01", "to": "2026-07-01"},
                    )
                    assert r.status_code == 200, r.text
                    out.append(time.perf_counter() - s)
                    await asyncio.sleep(0.05)
                return out

            idle = await probe(2.0)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.bench_schedules",
                "--child",
                tmp,
                record["id"],
                stdout=subprocess.PIPE,
                env={**os.environ},
            )
            busy: list[float] = []
            while proc.returncode is None:
                busy += await probe(0.5)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 0.01)
            out = json.loads((await proc.stdout.read()).decode().strip().splitlines()[-1])  # type: ignore[union-attr]
        await container.close()
    mib = len(data) / 1024**2
    print(
        f"import of {args.events:,} events ({mib:.1f} MiB): {out['seconds']:.2f} s "
        f"(target < 5) | baseline icalendar whole-file parse {parse_s:.2f} s "
        f"| ratio {out['seconds'] / parse_s:.1f}x | state {out['state']} {out['report']}"
    )
    print(
        f"import peak RSS {out['peak']:.0f} MiB (target < 150) | the same process before the "
        f"import {out['rss_before']:.0f} MiB | growth {out['peak'] - out['rss_before']:.0f} MiB"
    )
    print(
        f"API month view during the import: p95 {pct(busy, 0.95) * 1000:.1f} ms over "
        f"{len(busy)} requests | baseline with no import p95 {pct(idle, 0.95) * 1000:.1f} ms "
        f"| ratio {pct(busy, 0.95) / pct(idle, 0.95):.1f}x"
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--works", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=24)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    asyncio.run(month_view(args))
    asyncio.run(import_bench(args))


if __name__ == "__main__":
    main()
