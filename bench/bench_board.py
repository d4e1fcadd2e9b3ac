"""Unread titles at sign-in for a supervisor of many works (issue 9, measured: 500 works with
1,000,000 posts in all, p95 < 20 ms on the embedded stack, the count equal to the list).

    python -m bench.bench_board [--works 500] [--posts 1000000] [--samples 200]

The embedded stack (SQLite records, tantivy, local blobs) in a temp folder. Works, memberships
and posts are written in bulk with the records ``api.bulletins`` writes (posts carry their scope
principals; the supervisor reads every post). The supervisor's unread rows are made for the
newest posts: a usual day (``--unread``, default 2,000) and a long absence (``--backlog``,
default 100,000). Then, signed in with a real bearer token, the home page's call
``GET /api/v1/bulletins/unread?limit=50`` is timed ``--samples`` times, interleaved with the
baseline ``GET /api/v1/auth/me`` (the lightest signed-in call through the same app). The
count is checked against the list by walking every page, and "mark all read" everywhere is
timed at the end of each scenario. Also timed: the first page of one work's board (2,000 posts)
and a raw ``records.count`` + ``find`` of the same rows (what the store itself costs).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.bulletins.models import POSTS, READ_MARKS, UNREAD
from api.bulletins.scope import post_acl
from api.bulletins.unread import UnreadTracker, row_id
from api.config import Settings
from api.container import Container
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.users.schemas import UserCreate
from api.users.service import UserService
from api.works.models import MEMBERS, WORKS, member_id
from bench.common import WORDS, pct, pct_upper, rss_mib
from storage.query import Eq, Query
from tests.support.jobs import RecordingJobs

API = "/api/v1"
BATCH = 5_000
BASE = datetime(2025, 4, 1, tzinfo=UTC)


async def _auth(container: Container, login: str, org: str) -> tuple[str, str]:
    user, password = await UserService.of(container).create_as(
        "system:bench", UserCreate(login_id=login, name=f"{login} 計測", org_id=org)
    )
    return user.id, password


async def seed(container: Container, works: int, posts: int) -> dict[str, Any]:
    records = container.records
    orderer, contractor = new_id(), new_id()
    await records.insert_many(
        "organizations",
        [
            {"id": orderer, "kind": "orderer", "name": "ベンチ県"},
            {"id": contractor, "kind": "contractor", "name": "ベンチ建設"},
        ],
    )
    sup_id, sup_pw = await _auth(container, "supervisor", orderer)
    builder_id, _ = await _auth(container, "builder", contractor)
    now = to_iso(BASE)
    work_ids = [new_id() for _ in range(works)]
    await records.insert_many(
        WORKS,
        [
            {
                "id": w,
                "kind": "service",
                "title": f"ベンチ業務 {i:04d}",
                "number": f"B-{i:04d}",
                "orderer_org_id": orderer,
                "contractor_org_ids": [contractor],
                "status": "in_progress",
                "acl": [f"user:{sup_id}", f"user:{builder_id}"],
                "created_at": now,
                "updated_at": now,
            }
            for i, w in enumerate(work_ids)
        ],
    )
    members = []
    for w in work_ids:
        for uid, role, org in (
            (sup_id, "supervisor", orderer),
            (builder_id, "contractor_member", contractor),
        ):
            members.append(
                {
                    "id": member_id(w, uid),
                    "work_id": w,
                    "user_id": uid,
                    "role": role,
                    "org_id": org,
                    "added_by": "bench",
                    "added_at": now,
                }
            )
    for i in range(0, len(members), BATCH):
        await records.insert_many(MEMBERS, members[i : i + BATCH])
    started = time.perf_counter()
    ids: list[tuple[str, str, str]] = []  # (post id, work id, activity_at), oldest first
    batch: list[dict[str, Any]] = []
    for n in range(posts):
        work = work_ids[n % works]
        at = to_iso(BASE + timedelta(seconds=n * 20))
        pid = new_id()
        scope = {"kind": "members"}
        batch.append(
            {
                "id": pid,
                "work_id": work,
                "title": f"{WORDS[n % len(WORDS)]}について（{n}）",
                "body": "ご確認ください。",
                "importance": "normal",
                "author_id": builder_id,
                "author_name": "builder 計測",
                "author_org_id": contractor,
                "author_org_name": "ベンチ建設",
                "scope": scope,
                "acl": post_acl(work, scope, builder_id),
                "state": "active",
                "created_at": at,
                "updated_at": at,
                "activity_at": at,
                "reply_count": 0,
                "revision": 0,
                "attachment_count": 0,
            }
        )
        ids.append((pid, work, at))
        if len(batch) >= BATCH:
            await records.insert_many(POSTS, batch)
            batch = []
    if batch:
        await records.insert_many(POSTS, batch)
    return {
        "supervisor": sup_id,
        "password": sup_pw,
        "posts": ids,
        "works": work_ids,
        "seconds": time.perf_counter() - started,
    }


async def make_unread(
    container: Container, user: str, posts: list[tuple[str, str, str]], n: int
) -> None:
    rows = [
        {
            "id": row_id(pid, user),
            "user_id": user,
            "work_id": work,
            "post_id": pid,
            "activity_at": at,
            "new_post": True,
            "new_replies": 0,
            "since": None,
        }
        for pid, work, at in posts[-n:]
    ]
    for i in range(0, len(rows), BATCH):
        await container.records.insert_many(UNREAD, rows[i : i + BATCH])


async def timed(client: httpx.AsyncClient, url: str) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = await client.get(url)
    elapsed = time.perf_counter() - t0
    r.raise_for_status()
    return elapsed * 1000, r.json()


async def walk(client: httpx.AsyncClient) -> tuple[int, int]:
    """(total of the first page, items over every page)."""
    total, items, cursor = None, 0, None
    while True:
        page = (
            await client.get(
                f"{API}/bulletins/unread",
                params={"limit": 200, **({"cursor": cursor} if cursor else {})},
            )
        ).json()
        total = page["total"] if total is None else total
        items += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return int(total), items


async def scenario(
    container: Container, client: httpx.AsyncClient, data: dict[str, Any], unread: int, samples: int
) -> dict[str, Any]:
    # A fresh start: the previous scenario's "mark all read" (and its swept rows) forgotten.
    if await container.records.get(READ_MARKS, data["supervisor"]) is not None:
        await container.records.delete(READ_MARKS, data["supervisor"], None)
    await make_unread(container, data["supervisor"], data["posts"], unread)
    for _ in range(5):  # warm up
        await timed(client, f"{API}/bulletins/unread?limit=50")
        await timed(client, f"{API}/auth/me")
    api_ms, base_ms = [], []
    for _ in range(samples):
        ms, page = await timed(client, f"{API}/bulletins/unread?limit=50")
        api_ms.append(ms)
        assert page["total"] == unread, page["total"]
        ms, _ = await timed(client, f"{API}/auth/me")
        base_ms.append(ms)
    raw_ms = []
    for _ in range(samples):
        t0 = time.perf_counter()
        where = (Eq("user_id", data["supervisor"]),)
        await container.records.count(UNREAD, where)
        await container.records.find(
            UNREAD, Query(where=where, sort=(("activity_at", -1),), limit=50)
        )
        raw_ms.append((time.perf_counter() - t0) * 1000)
    total, items = await walk(client)
    t0 = time.perf_counter()
    marked = (await client.post(f"{API}/bulletins/read-all")).json()["marked"]
    mark_s = time.perf_counter() - t0
    after, _ = await walk(client)
    # The worker's part: the sweep task deletes the covered rows after the answer.
    t0 = time.perf_counter()
    swept = await UnreadTracker(container.records).sweep(data["supervisor"])
    sweep_s = time.perf_counter() - t0
    left = await container.records.count(UNREAD, (Eq("user_id", data["supervisor"]),))
    return {
        "api": api_ms,
        "base": base_ms,
        "raw": raw_ms,
        "total": total,
        "items": items,
        "marked": marked,
        "mark_s": mark_s,
        "after": after,
        "swept": swept,
        "sweep_s": sweep_s,
        "left": left,
    }


async def run(works: int, posts: int, unread: int, backlog: int, samples: int, root: Path) -> bool:
    settings = Settings(data_dir=root, log_json=False, log_level="WARNING", jobs={"eager": True})
    # Tasks are recorded, not run: the sweep after "mark all read" is timed as the worker's.
    container = Container(settings, jobs=RecordingJobs())
    await container.open()
    try:
        data = await seed(container, works, posts)
        seconds, rss = data["seconds"], rss_mib()
        print(f"seeded {works} works, {posts:,} posts in {seconds:.1f} s (RSS {rss:.0f} MiB)")
        app = create_app(container=container)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            r = await client.post(
                f"{API}/auth/login",
                json={"login_id": "supervisor", "password": data["password"], "mode": "token"},
            )
            r.raise_for_status()
            client.headers["Authorization"] = f"Bearer {r.json()['token']}"
            if r.json()["password_change_required"]:
                (
                    await client.post(
                        f"{API}/auth/password",
                        json={
                            "current_password": data["password"],
                            "new_password": "Bench-board-2026-pw",
                        },
                    )
                ).raise_for_status()
            ok = True
            print(f"{'':44}{'p50 ms':>9}{'p95 ms':>9}{'ratio p95':>11}")
            for label, n in (("usual day", unread), ("long absence", backlog)):
                res = await scenario(container, client, data, n, samples)
                b95 = pct_upper(res["base"], 0.95)
                for name, series in (
                    (f"baseline: GET /auth/me ({label})", res["base"]),
                    (f"raw store: count + page ({label})", res["raw"]),
                    (f"GET /bulletins/unread, {n:,} unread", res["api"]),
                ):
                    p95 = pct_upper(series, 0.95)
                    print(f"{name:44}{pct(series, 0.5):9.2f}{p95:9.2f}{p95 / b95:10.1f}x")
                same = res["total"] == res["items"] == n
                ok = ok and same and res["left"] == 0 and res["marked"] == n and res["after"] == 0
                print(
                    f"  count {res['total']:,} = list {res['items']:,}: {'yes' if same else 'NO'}"
                )
                print(
                    f"  mark all read: {res['marked']:,} in {res['mark_s'] * 1000:.1f} ms (then "
                    f"{res['after']} unread); the worker's sweep deleted {res['swept']:,} rows in "
                    f"{res['sweep_s']:.2f} s, {res['left']} left"
                )
                if label == "usual day":
                    target = pct_upper(res["api"], 0.95) < 20.0
                    ok = ok and target
                    print(f"  target p95 < 20 ms: {'met' if target else 'MISSED'}")
            work = data["works"][0]
            board = []
            for _ in range(samples // 2):
                ms, _ = await timed(client, f"{API}/works/{work}/posts?limit=50")
                board.append(ms)
            label = f"GET /works/{{id}}/posts ({posts // works:,} posts)"
            print(f"{label:44}{pct(board, 0.5):9.2f}{pct_upper(board, 0.95):9.2f}")
        return ok
    finally:
        await container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--works", type=int, default=500)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--unread", type=int, default=2_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kura-bench-board-"))
    try:
        ok = asyncio.run(
            run(
                args.works,
                args.posts,
                args.unread,
                min(args.backlog, args.posts),
                args.samples,
                root,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("verdict:", "ok" if ok else "FAILED")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
