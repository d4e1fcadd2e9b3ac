"""``kura check`` and ``kura reindex`` over many works on the embedded backends.

    python -m bench.bench_check [--n 100000] [--batch 1000]

SQLite records + tantivy index in a temp folder. For n/10 and n works it prints, beside the
baselines (a bare ``records.scan`` over the same records, and a bare ``index.scan_stamps``):
wall time of each phase, the peak of Python allocations during it (tracemalloc, measured in a
second, traced run so the timings stay untraced) and the process peak RSS so far
(``ru_maxrss``, a high-water mark; tantivy's Rust heap shows only there). Flat memory means
the traced peak of ``reindex`` does not grow with n; ``check`` holds an id -> stamp map.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from api.config import Settings
from api.consistency import check, reindex
from api.container import Container
from api.kit.ids import new_id
from api.works.indexing import work_acl

PLACES = ["広島県", "岡山県", "山口市", "福山市", "呉市", "尾道市", "三原市", "東広島市"]
WORKS = ["道路改良", "橋梁補修", "河川改修", "砂防堰堤", "舗装修繕", "トンネル補強", "法面対策"]
ORGS = [new_id() for _ in range(40)]


def make_work(i: int, rnd: random.Random) -> dict[str, Any]:
    year = 2015 + rnd.randrange(10)
    start = f"{year}-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}"
    org = rnd.choice(ORGS)
    now = f"{year}-01-01T00:00:00.{i % 1000000:06d}Z"
    work: dict[str, Any] = {
        "id": new_id(),
        "kind": rnd.choice(["construction", "service"]),
        "title": f"{rnd.choice(PLACES)}{rnd.choice(WORKS)}工事 第{i}工区",
        "number": f"R{year}-{i:06d}",
        "orderer_org_id": org,
        "contractor_org_ids": [rnd.choice(ORGS)],
        "location": {"address": f"{rnd.choice(PLACES)}{i}番地", "municipality_code": "34207"},
        "period_start": start,
        "period_end": f"{year + 1}-03-31",
        "business_type": f"{rnd.randrange(1, 30):02d}",
        "category": "道路",
        "planned_price": rnd.randrange(10**6, 10**9),
        "status": rnd.choice(["registered", "in_progress", "completed", "archived"]),
        "created_by": "bench",
        "created_at": now,
        "updated_at": now,
    }
    members = [{"user_id": new_id(), "role": "supervisor"} for _ in range(2)]
    work["acl"] = work_acl(work, members)
    return work


async def load(container: Container, n: int, batch: int) -> None:
    rnd = random.Random(7)
    for lo in range(0, n, batch):
        chunk = [make_work(i, rnd) for i in range(lo, min(n, lo + batch))]
        await container.records.insert_many("works", chunk)


async def bare_scan(container: Container) -> int:
    return sum([1 async for _ in container.records.scan("works")])


async def bare_stamps(container: Container) -> int:
    return sum([1 async for _ in container.index.scan_stamps("work")])


async def measure(
    label: str, fn: Callable[[], Awaitable[Any]], rows: list[tuple[str, float, float, float]]
) -> Any:
    t0 = time.perf_counter()
    result = await fn()
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    await fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append((label, seconds, peak / 2**20, rss))
    return result


async def run(n: int, batch: int, root: Path) -> None:
    settings = Settings(data_dir=root, log_json=False, jobs={"eager": True})
    container = Container(settings)
    await container.open()
    try:
        t0 = time.perf_counter()
        await load(container, n, batch)
        print(f"-- n={n}: loaded {n} works in {time.perf_counter() - t0:.1f} s")
        rows: list[tuple[str, float, float, float]] = []
        await measure("baseline records.scan", lambda: bare_scan(container), rows)
        res = await measure("reindex", lambda: reindex(container, batch=batch), rows)
        assert res.counts["work"] == n, res.counts
        await measure("baseline index.scan_stamps", lambda: bare_stamps(container), rows)
        report = await measure("check (clean)", lambda: check(container, batch=batch), rows)
        assert report.clean, report.lines()[:5]
        assert report.records_checked == n
        base = rows[0][1]
        print(f"{'phase':28} {'time s':>8} {'x scan':>7} {'py peak MiB':>12} {'maxrss MiB':>11}")
        for label, seconds, peak, rss in rows:
            print(f"{label:28} {seconds:8.2f} {seconds / base:7.1f} {peak:12.1f} {rss:11.0f}")
    finally:
        await container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    for n in sorted({max(1, args.n // 10), args.n}):
        with tempfile.TemporaryDirectory(prefix="kura-bench-check-") as tmp:
            asyncio.run(run(n, args.batch, Path(tmp)))


if __name__ == "__main__":
    main()
