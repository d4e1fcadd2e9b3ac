"""Tree benchmark: pages of a 10,000-entry folder, through the API and straight from the store.

    python -m bench.bench_tree [--entries 10000] [--limit 100] [--samples 200]

One folder of ``--entries`` children (2% folders) on the embedded SQLite store. For each sort
(name, date, size, type) and order, every page's cursor is collected first; then ``--samples``
random pages are fetched (a) through ``GET /api/v1/nodes/{id}/children`` in process (httpx
ASGI transport: routing, permission check, validation, JSON) and (b) with a raw
``records.find`` of the same query (the baseline). Prints p50/p95 in ms.
Target (issue 3): a 10,000-entry folder page p95 < 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from api.app import API_PREFIX, create_app
from api.archive.models import NODES, sort_name
from api.archive.nodes import _SORT_FIELD, ensure_indexes
from api.archive.router_export import router as export_router
from api.archive.router_tree import router as tree_router
from api.config import Settings
from api.container import Container
from api.deps import optional_subject
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from bench.common import pct_upper
from storage.query import Eq, Query

OPERATOR = Subject(new_id(), "bench", new_id(), OrgKind.OPERATOR)
_TYPES = ["application/pdf", "image/jpeg", "text/plain", "application/xml", ""]


async def run(entries: int, limit: int, samples: int, data: Path) -> None:
    import httpx

    container = Container(Settings(data_dir=data, log_json=False, jobs={"eager": True}))
    await container.open()
    try:
        await ensure_indexes(container.records)
        work_id = new_id()
        await container.records.insert("works", {"id": work_id, "title": "工事", "acl": []})
        top = new_id()
        rng = random.Random(1)
        rows: list[dict[str, Any]] = []
        for i in range(entries):
            folder = i % 50 == 0
            name = f"{'D' if folder else 'F'}{rng.randrange(entries):06d}-{i}.pdf"
            rows.append(
                {
                    "id": new_id(),
                    "work_id": work_id,
                    "parent_id": top,
                    "kind": "folder" if folder else "file",
                    "name": name,
                    "sort_name": sort_name(name),
                    "path": f"/BIG/{name}",
                    "depth": 2,
                    "size": 0 if folder else rng.randrange(10**7),
                    "sha256": None if folder else "0" * 64,
                    "content_type": "" if folder else rng.choice(_TYPES),
                    "ingest": None if folder else {"state": "done", "reason": None},
                    "meta": {},
                    "created_at": "2026-01-01T00:00:00.000000Z",
                    "updated_at": f"2026-{rng.randrange(1, 13):02d}-01T00:00:00.000000Z",
                }
            )
        rows.append(
            {
                "id": top,
                "work_id": work_id,
                "parent_id": work_id,
                "kind": "folder",
                "name": "BIG",
                "sort_name": "big",
                "path": "/BIG",
                "depth": 1,
                "size": 0,
                "content_type": "",
                "created_at": "2026-01-01T00:00:00.000000Z",
                "updated_at": "2026-01-01T00:00:00.000000Z",
            }
        )
        await container.records.insert_many(NODES, rows)

        app = create_app(container=container)
        app.include_router(tree_router, prefix=API_PREFIX)
        app.include_router(export_router, prefix=API_PREFIX)

        async def as_operator() -> Subject:
            return OPERATOR

        app.dependency_overrides[optional_subject] = as_operator
        transport = httpx.ASGITransport(app=app)
        print(f"{entries} entries in one folder, pages of {limit}, {samples} random pages each")
        print(f"{'sort':12s} {'API p50':>8s} {'API p95':>8s} {'find p50':>9s} {'find p95':>9s}")
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            url = f"{API_PREFIX}/nodes/{top}/children"
            for sort, field in _SORT_FIELD.items():
                for order in ("asc", "desc"):
                    d = -1 if order == "desc" else 1
                    cursors: list[str | None] = [None]
                    while True:
                        params: dict[str, Any] = {"sort": sort, "order": order, "limit": limit}
                        if cursors[-1]:
                            params["cursor"] = cursors[-1]
                        body = (await client.get(url, params=params)).json()
                        if not body["next_cursor"]:
                            break
                        cursors.append(body["next_cursor"])
                    picks = [rng.choice(cursors) for _ in range(samples)]
                    api_ms: list[float] = []
                    raw_ms: list[float] = []
                    for cursor in picks:
                        params = {"sort": sort, "order": order, "limit": limit}
                        if cursor:
                            params["cursor"] = cursor
                        t = time.perf_counter()
                        r = await client.get(url, params=params)
                        api_ms.append((time.perf_counter() - t) * 1000)
                        assert r.status_code == 200
                        q = Query(
                            where=(Eq("parent_id", top),),
                            sort=(("kind", -1), (field, d), ("id", d)),
                            limit=limit,
                            cursor=cursor,
                        )
                        t = time.perf_counter()
                        await container.records.find(NODES, q)
                        raw_ms.append((time.perf_counter() - t) * 1000)
                    print(
                        f"{sort + ' ' + order:12s} {statistics.median(api_ms):8.2f} "
                        f"{pct_upper(api_ms, 0.95):8.2f} {statistics.median(raw_ms):9.2f} "
                        f"{pct_upper(raw_ms, 0.95):9.2f}"
                    )
        print("target: API p95 < 30 ms")
    finally:
        await container.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="kura-bench-tree-"))
    try:
        asyncio.run(run(args.entries, args.limit, args.samples, base / "data"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
