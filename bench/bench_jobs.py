"""The cost of durable job delivery (the outbox of ``api.jobs``) per enqueued job.

    python -m bench.bench_jobs [--n 1000] [--rounds 3]

A unit of work declares ``n`` jobs (an import batch declares one ``ingest.file`` per file).
Before the outbox the unit sent each job after commit; now it also inserts the job records in
its transaction (one bulk insert) and marks them sent (one transaction). Printed per job,
beside that baseline measured in the same run:

- ``send only``: the old path, ``n`` sends after an empty commit;
- ``outbox``: ``n`` ``uow.enqueue`` -> bulk insert in the transaction -> sends -> marked sent;
- ``worker``: what a worker adds per job: ``claim`` (running, lease) and ``finish`` (done),
  beside a bare ``records.get`` of the job;

each on a null broker (the record-store cost alone) and on the real brokers: the embedded
SQLite broker, and Redis when ``KURA_TEST_REDIS_URL`` is set. Records are SQLite in a temp
folder. Best of ``rounds`` interleaved rounds after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from api.config import Settings
from api.container import Container
from api.kit.ids import new_id
from tests.support.jobs import RecordingJobs, purge_broker


async def best(rounds: int, run: Callable[[], Awaitable[float]]) -> float:
    return min([await run() for _ in range(rounds)])


async def measure(name: str, c: Container, n: int, rounds: int) -> None:
    async def send_only() -> float:
        started = time.perf_counter()
        async with c.uow():
            pass
        for i in range(n):
            await c.jobs.send("ingest.file", {"node_id": f"N{i}"}, job_id=new_id())
        return time.perf_counter() - started

    async def outbox() -> float:
        started = time.perf_counter()
        async with c.uow() as uow:
            for i in range(n):
                uow.enqueue("ingest.file", node_id=f"N{i}")
        return time.perf_counter() - started

    ids: list[str] = []

    async def worker() -> float:
        async with c.uow() as uow:
            batch = [uow.enqueue("ingest.file", node_id=f"W{i}") for i in range(n)]
        ids[:] = batch
        started = time.perf_counter()
        for job_id in batch:
            await c.ledger.claim(job_id, "bench:1")
            await c.ledger.finish(job_id)
        return time.perf_counter() - started

    async def bare_get() -> float:
        started = time.perf_counter()
        for job_id in ids:
            await c.records.get("jobs", job_id)
        return time.perf_counter() - started

    await outbox()  # warm-up: the broker's tables and the job indexes exist from here on
    bases, news = [], []
    for _ in range(rounds):  # interleaved, so a drifting machine load hits both alike
        bases.append(await send_only())
        news.append(await outbox())
    base, new = min(bases), min(news)
    work = await best(rounds, worker)
    get = await best(rounds, bare_get)
    us = 1e6 / n
    print(
        f"{name:<14} send only {base * us:8.0f} µs/job | outbox {new * us:8.0f} µs/job "
        f"({new / base:4.2f} x, +{(new - base) * us:.0f} µs) | worker claim+finish "
        f"{work * us:6.0f} µs/job vs get {get * us:4.0f} µs"
    )


async def run_one(name: str, data: Path, n: int, rounds: int, jobs: dict[str, Any]) -> None:
    settings = Settings(data_dir=data, log_json=False, jobs=jobs)
    null = name == "null broker"
    c = Container(settings, jobs=RecordingJobs()) if null else Container(settings)
    await c.open()
    try:
        await measure(name, c, n, rounds)
    finally:
        await c.close()
        if jobs.get("broker_url"):
            purge_broker(jobs["broker_url"])  # no worker ran: leave the test database empty


async def main(n: int, rounds: int) -> None:
    print(f"{n} jobs per unit of work, best of {rounds}; SQLite records")
    with tempfile.TemporaryDirectory() as tmp:
        await run_one("null broker", Path(tmp) / "a", n, rounds, {})
        await run_one("sqlite broker", Path(tmp) / "b", n, rounds, {})
        url = os.environ.get("KURA_TEST_REDIS_URL")
        if url:
            redis = {"broker_url": url, "result_backend": url}
            await run_one("redis broker", Path(tmp) / "c", n, rounds, redis)
        else:
            print("redis broker   skipped (KURA_TEST_REDIS_URL unset)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    asyncio.run(main(args.n, args.rounds))
