"""Schedules (issue 9 "Measured"): the supervisor's month view and the iCalendar import.

    python -m bench.bench_schedules [--members 200] [--works 100] [--events 10000] [--runs 24]

1. Month view for a supervisor of ``--works`` works and ``--members`` members with recurring
   entries (target p95 < 50 ms). Each member has a weekly series (begun 2024; every fourth
   one with two EXDATEs and a moved occurrence in 2026, as groupware series have), a monthly
   one (begun 2023, 2nd Tuesday), every tenth a weekday morning meeting (begun 2025), and
   8 single entries a month for 2025-2027, some linked to a work, one in five private; the
   supervisor has 5 weekly series and 10 entries a month. The month view of every member of
   all works is asked through the HTTP API (``GET /schedules/entries``, in process), which
   is what the calendar page waits for, over 12 different months, three times:
   1. each month's first view ever: the store holds only series (seeded straight into it),
      so the view reads them and its month buckets (``api.schedules.months``) are made
      after the answer, off the request (as after a change of every member at once);
   2. the first views in a fresh process (nothing prepared, expanded or shown in it: the
      caches are cleared), reading the month buckets the first pass left;
   3. the same views again, caches warm.
   The target is checked on passes 2 and 3: every view of a month seen before since its
   people's last change; pass 1 is printed beside them. Wall
   time and the process's CPU time (the store's reader threads included) are printed, with
   the load average: on a shared machine the wall time is mostly waiting for a core.
   The process's garbage collector is set as ``kura serve`` sets it (``api.ops.collector``),
   and the app is warmed up as its start does (``api.app.warm_up``: routes built).
   Baseline, same run: reading the same series from the record store as whole records
   (``entries_between`` without a projection), timed after the view, never before it.
   Check: in every pass, the rows of June 2026 equal the compiled engine's expansion of
   those records.
2. Import of a ``--events``-event Asia/Tokyo ICS with recurrences (target < 5 s, peak RSS <
   150 MB, the API responsive meanwhile): the job runs in its own process, as a worker would;
   its time, CPU time and peak RSS (VmHWM) are printed beside the same process's RSS before
   the import and beside icalendar parsing the whole file at once (the library alone,
   baseline). While it runs, this process asks the API for a month view every 50 ms; the
   latencies are printed beside the same requests with no import running. Check: every
   series of the file is imported, none skipped, and every moved occurrence is stored on its
   series. ``--events`` counts VEVENTs: about 5 % of them are moved occurrences
   (RECURRENCE-ID) of a weekly series, so the report's "imported" (series) is that much
   smaller than ``--events`` (10,000 VEVENTs: 9,518 series and 482 moved occurrences).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Outcome, pct, peak_rss_mib, rss_mib

MONTHS = [(2026, m) for m in range(1, 13)]
PASSES = (
    "1: first view of each month ever, no month buckets: series read, buckets made after",
    "2: first view in a fresh process, month buckets stored",
    "3: the same views again, caches warm",
)


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
        exdates: list[Any] | None = None,
        overrides: dict[str, Any] | None = None,
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
                exdates=exdates or (),
                overrides=overrides,
            ),
        }

    batch: list[dict[str, Any]] = []
    people_index = {u: i for i, u in enumerate(people)}
    for owner, singles, weekly in [(boss, 10, 5)] + [(u, 8, 1) for u in people]:
        n = people_index.get(owner, -1)
        for k in range(weekly):
            day = date(2024, 1, 1) + timedelta(days=k % 5)
            exceptions: dict[str, Any] = {}
            if n % 4 == 0:  # two weeks off and one meeting moved, in 2026
                exceptions = {
                    "exdates": [
                        parse_local("2026-05-04T09:00:00"),
                        parse_local("2026-08-10T09:00:00"),
                    ],
                    "overrides": {
                        "2026-06-15T09:00:00": {
                            "start": "2026-06-16T13:00:00",
                            "end": "2026-06-16T14:00:00",
                            "title": "定例（火曜に変更）",
                        }
                    },
                }
            batch.append(
                entry(
                    owner,
                    "定例",
                    f"{day}T09:00:00",
                    f"{day}T10:00:00",
                    "FREQ=WEEKLY",
                    home.get(owner),
                    **exceptions,
                )
            )
        if n % 10 == 0:
            batch.append(
                entry(
                    owner,
                    "朝礼",
                    "2025-04-01T08:00:00",
                    "2025-04-01T08:15:00",
                    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
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


def expected_rows(entries: list[dict[str, Any]], lo: datetime, hi: datetime) -> list[Any]:
    """(owner, start, end) of every occurrence of whole stored records, by the compiled
    engine (``Series.between``, checked against recurring-ical-events in the tests)."""
    from api.schedules.entries import compile_stored

    out = []
    for entry in entries:
        series = compile_stored(entry)
        for occ in series.between(lo, hi):
            pair = []
            for value in (occ.start, occ.end):
                if isinstance(value, datetime):
                    pair.append(value.replace(tzinfo=series.tz).isoformat())
                else:
                    pair.append(value.isoformat())
            out.append((entry["owner_id"], *pair))
    return sorted(out)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def month_view(args: argparse.Namespace, outcome: Outcome) -> None:
    import httpx

    from api.app import create_app, warm_up
    from api.container import Container
    from api.deps import optional_subject
    from api.ops import collector
    from api.schedules import months
    from api.schedules.service import ScheduleService
    from api.schedules.views import clear_caches

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
            app = create_app(container=container)
            app.dependency_overrides[optional_subject] = lambda: me
            _, _rel, owners = await service.view_scope(me, [], [], True)
            await warm_up(app)  # as the app's start (its lifespan) does under kura serve
            collector.tune()  # as kura serve does once it is up
            transport = httpx.ASGITransport(app)
            every: list[float] = []
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                for label in PASSES:
                    if label == PASSES[1]:
                        # A fresh process: nothing prepared, expanded or shown in this one;
                        # the month buckets the first views made are in the store.
                        await container.settle()
                        clear_caches()
                    view: list[float] = []
                    cpu: list[float] = []
                    base: list[float] = []
                    counts: list[int] = []
                    for year, month in MONTHS * (args.runs // 24 or 1):
                        frm = f"{year}-{month:02d}-01"
                        to = f"{year + month // 12}-{month % 12 + 1:02d}-01"
                        t0, c0 = time.perf_counter(), time.process_time()
                        r = await client.get(
                            "/api/v1/schedules/entries",
                            params={"from": frm, "to": to, "all_works": "true"},
                        )
                        view.append(time.perf_counter() - t0)
                        cpu.append(time.process_time() - c0)
                        outcome.expect(r.status_code == 200, f"month view {frm}: {r.status_code}")
                        rows = r.json()
                        counts.append(len(rows))
                        lo, hi = service.parse_range(frm, to)
                        t0 = time.perf_counter()
                        whole = await service.entries_between(owners, lo, hi)
                        base.append(time.perf_counter() - t0)
                        if (year, month) == (2026, 6):
                            got = sorted((x["owner_id"], x["start"], x["end"]) for x in rows)
                            outcome.expect(
                                got == expected_rows(whole, lo, hi),
                                "June 2026: the view's rows differ from the engine's expansion",
                            )
                    if label != PASSES[0]:
                        every += view
                    p95, b95 = pct(view, 0.95) * 1000, pct(base, 0.95) * 1000
                    print(
                        f"month view ({label}): p50 {pct(view, 0.5) * 1000:.1f} ms, "
                        f"p95 {p95:.1f} ms wall, CPU p50 {pct(cpu, 0.5) * 1000:.1f} / "
                        f"p95 {pct(cpu, 0.95) * 1000:.1f} ms | baseline store read of the "
                        f"same series (whole records) p95 {b95:.1f} ms | ratio "
                        f"{p95 / b95:.2f}x | {min(counts)}-{max(counts)} occurrences "
                        f"| load {load()}"
                    )
            # What ``kura schedules months`` costs (after an upgrade or a restore): every
            # person's buckets of the 12 months made anew
            from api.schedules.recurrence import zone

            await container.records.drop_collection(months.MONTHS)
            t0 = time.perf_counter()
            people, made = await months.build(
                container.records,
                zone("Asia/Tokyo"),
                "Asia/Tokyo",
                MONTHS[0],
                MONTHS[-1],
                service._view_series,
            )
            print(
                f"kura schedules months for {len(MONTHS)} months: {made:,} buckets of {people} "
                f"people in {time.perf_counter() - t0:.2f} s"
            )
            p95 = pct(every, 0.95) * 1000
            small = None
            if args.works < 100 or args.members < 200:
                small = f"run with {args.works} works, {args.members} members"
            print(
                "  "
                + outcome.verdict(
                    f"month view p95 < 50 ms (months viewed before: passes 2 and 3): {p95:.1f} ms",
                    p95 < 50,
                    small,
                )
            )
        finally:
            await container.close()


def make_ics(n: int) -> bytes:
    """An Asia/Tokyo export of ``n`` VEVENTs: 70 % single, 20 % weekly with EXDATE, 5 % daily
    COUNT, 5 % all-day; a quarter of the weekly series with a moved occurrence (a VEVENT of
    its own with the series' UID and a RECURRENCE-ID, counted in ``n``)."""
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
    t0, c0 = time.perf_counter(), time.process_time()
    state = await ImportService(container).run(import_id)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    record = await container.records.get("schedule_imports", import_id)
    # After the timed part: the moved occurrences stored on their series (a VEVENT with a
    # RECURRENCE-ID is part of its series, not an entry of its own).
    moved = 0
    async for entry in container.records.scan("schedule_entries"):
        moved += len(entry.get("overrides") or {})
    await container.close()
    print(
        json.dumps(
            {
                "state": state,
                "seconds": seconds,
                "cpu": cpu,
                "rss_before": before,
                "peak": peak_rss_mib(),
                "moved": moved,
                "report": {k: v for k, v in (record or {})["report"].items() if k != "items"},
            }
        )
    )


async def import_bench(args: argparse.Namespace, outcome: Outcome) -> None:
    import httpx
    import icalendar

    from api.app import create_app
    from api.container import Container
    from api.deps import optional_subject
    from api.kit.ids import new_id
    from api.ops import collector
    from api.schedules.imports import ImportService

    data = make_ics(args.events)
    series = len(set(re.findall(rb"UID:(\S+)", data)))
    moved = data.count(b"RECURRENCE-ID")
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
        collector.tune()  # as kura serve does once it is up
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
    report = out["report"]
    outcome.expect(out["state"] == "done", f"import state {out['state']}")
    outcome.expect(
        (report.get("imported"), report.get("skipped")) == (series, 0),
        f"import: {report.get('imported')} imported, {report.get('skipped')} skipped, "
        f"the file has {series} series",
    )
    outcome.expect(
        out["moved"] == moved,
        f"import: {out['moved']} moved occurrences stored, the file has {moved}",
    )
    # The report counts series: the file's VEVENTs are its series plus the moved
    # occurrences (RECURRENCE-ID), which are stored on their series.
    print(
        f"file: {args.events:,} VEVENTs = {series:,} series + {moved:,} moved occurrences "
        f"(RECURRENCE-ID, stored on their series: {out['moved']:,})"
    )
    print(
        f"import of {args.events:,} events ({mib:.1f} MiB): {out['seconds']:.2f} s wall, "
        f"{out['cpu']:.2f} s CPU (target < 5) | baseline icalendar whole-file parse "
        f"{parse_s:.2f} s | ratio {out['seconds'] / parse_s:.2f}x | state {out['state']} "
        f"{report} | load {load()}"
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
    small = f"run with {args.events:,} events" if args.events < 10_000 else None
    seconds = out["seconds"]
    print("  " + outcome.verdict(f"import < 5 s: {seconds:.2f} s", seconds < 5, small))
    peak = out["peak"]
    print("  " + outcome.verdict(f"import peak RSS < 150 MB: {peak:.0f} MiB", peak < 150, small))


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
    outcome = Outcome()
    asyncio.run(month_view(args, outcome))
    asyncio.run(import_bench(args, outcome))
    sys.exit(outcome.exit_code())


if __name__ == "__main__":
    main()
