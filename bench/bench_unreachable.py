"""Unreachable backends: how long each adapter takes to report a dead server.

    python -m bench.bench_unreachable [--repeat 3]

Every adapter is pointed at a local port nothing listens on and each call must fail with
``BackendUnavailable`` (or a not-ok health entry). The contract tests check that it fails,
and that the adapters' own timeouts cut a server that never answers; how fast is measured
here, where a busy machine gives a slow figure instead of a red test.

Baseline in the same run: the operating system refusing a TCP connection to the same port
(``socket.create_connection``), the least any client can take to learn the server is gone.
Targets: what an API request may wait before answering 503 (issue 2: "fast, clear
failures"): the job queue's own health and enqueue timeouts, 5 s for the record store and
the search index, 15 s for the S3 store's seven calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from api.config import Settings
from api.kit.jobs import ENQUEUE_TIMEOUT_S, HEALTH_TIMEOUT_S, CeleryJobQueue
from storage.errors import BackendUnavailable

DEAD_HOST, DEAD_PORT = "127.0.0.1", 1
MiB = 1 << 20
SHIM = "tests.support.es_shim:AsyncPlainJsonNode"

Case = Callable[[Path], Awaitable[None]]


def baseline_refused(repeat: int = 200) -> float:
    """Median seconds for the OS to refuse a TCP connection to the dead port."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.suppress(OSError):
            socket.create_connection((DEAD_HOST, DEAD_PORT), 2).close()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _refused(call: Awaitable[Any]) -> None:
    try:
        await call
    except BackendUnavailable:
        return
    raise AssertionError("an unreachable backend answered")


def _queue(data: Path, kind: str) -> CeleryJobQueue:
    jobs = (
        {"broker_url": f"redis://{DEAD_HOST}:{DEAD_PORT}/0"}
        | {"result_backend": f"redis://{DEAD_HOST}:{DEAD_PORT}/0"}
        if kind == "redis"
        else {"broker_url": "sqla+sqlite:////nonexistent-kura-dir/x/broker.sqlite3"}
    )
    return CeleryJobQueue(Settings(data_dir=data, jobs=jobs))


def celery_health(kind: str) -> Case:
    async def run(data: Path) -> None:
        queue = _queue(data, kind)
        try:
            health = await queue.health()
            assert not health.ok
        finally:
            queue.close()

    return run


def celery_enqueue(kind: str) -> Case:
    async def run(data: Path) -> None:
        queue = _queue(data, kind)
        try:
            await _refused(queue.enqueue("system.ping"))
        finally:
            queue.close()

    return run


async def mongo(data: Path) -> None:
    from storage.records.mongo import MongoRecordStore

    uri = f"mongodb://{DEAD_HOST}:{DEAD_PORT}/?directConnection=true"
    store = MongoRecordStore(uri, "kura_nowhere", timeout_s=0.3)
    await store.open()
    try:
        await _refused(store.get("c", "a"))
        await _refused(store.insert("c", {"id": "a"}))
        assert not (await store.health()).ok
    finally:
        await store.close()


async def _chunks(n: int, size: int = MiB) -> AsyncIterator[bytes]:
    for _ in range(n):
        yield b"x" * size


async def _read(store: Any, key: str) -> None:
    async for _ in store.get(key):
        pass


async def _keys(store: Any) -> None:
    async for _ in store.list(""):
        pass


async def s3(data: Path) -> None:
    from storage.blobs.s3 import S3BlobStore

    store = S3BlobStore(f"{DEAD_HOST}:{DEAD_PORT}", "k", "s", "kura", part_size=5 * MiB)
    await _refused(store.open())
    assert not (await store.health()).ok
    await _refused(store.put("x", _chunks(1, 1)))
    await _refused(store.put("big", _chunks(8)))
    await _refused(_read(store, "x"))
    await _refused(store.stat("x"))
    await _refused(_keys(store))
    await store.close()


async def elasticsearch(data: Path) -> None:
    from indexer.backends.elasticsearch import ElasticsearchIndex
    from indexer.query import SearchQuery

    es = ElasticsearchIndex(
        [f"http://{DEAD_HOST}:{DEAD_PORT}"], "kura-none", node_class=SHIM, timeout_s=2
    )
    assert not (await es.health()).ok
    await _refused(es.search(SearchQuery(acl=None)))
    await _refused(es.upsert([{"id": "w1", "type": "work", "title": "x", "stamp": 1}]))
    await _refused(es.open())
    await es.close()


CASES: list[tuple[str, Case, float]] = [
    ("celery redis: health", celery_health("redis"), HEALTH_TIMEOUT_S + 0.5),
    ("celery sqlite: health", celery_health("sqlite"), HEALTH_TIMEOUT_S + 0.5),
    ("celery redis: enqueue", celery_enqueue("redis"), ENQUEUE_TIMEOUT_S),
    ("celery sqlite: enqueue", celery_enqueue("sqlite"), ENQUEUE_TIMEOUT_S),
    ("mongodb: get, insert, health", mongo, 5.0),
    ("s3: open .. list (7 calls)", s3, 15.0),
    ("elasticsearch: health .. open (4 calls)", elasticsearch, 5.0),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_unreachable", description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each case (median, worst)")
    args = ap.parse_args(argv)
    base = baseline_refused()
    print(f"dead address {DEAD_HOST}:{DEAD_PORT}")
    print(f"baseline: TCP connection refused by the OS, median {base * 1000:.3f} ms")
    print(
        f"{'case':<42}{'median s':>10}{'x baseline':>12}{'worst s':>10}{'target s':>10}"
        f"{'worst/target':>14}"
    )
    failed = []
    for name, case, target in CASES:
        times = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="kura-bench-dead-") as tmp:
                started = time.perf_counter()
                asyncio.run(case(Path(tmp)))
                times.append(time.perf_counter() - started)
        worst = max(times)
        verdict = "" if worst < target else "  FAIL"
        if verdict:
            failed.append(name)
        print(
            f"{name:<42}{statistics.median(times):>10.2f}{statistics.median(times) / base:>12,.0f}"
            f"{worst:>10.2f}{target:>10.1f}{worst / target:>14.2f}{verdict}"
        )
    print(f"{'FAIL: ' + ', '.join(failed) if failed else 'PASS'}: every adapter gives up in time")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
