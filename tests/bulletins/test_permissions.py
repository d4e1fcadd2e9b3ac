"""Permission matrix of the board's routers on the app as ``create_app`` builds it, with real
sign-ins (``tests.support.perms``): anonymous 401; another organization 404 (the work, post,
group or bulk post is not revealed); a member without the right 403, or 404 when the post is
outside their scope (seed 001 別表1-1 2(5)); the allowed user succeeds.

The world's work: ``supervisor`` its supervisor, ``builder`` a contractor member, ``viewer`` a
viewer; ``reader`` reads every work of the orderer but is no member (403 on the board). The
post is the supervisor's, scoped to the builder: the viewer, a member, gets 404 for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.bulletins.router import router as posts_router
from api.bulletins.router_board import router as board_router
from api.bulletins.router_groups import router as groups_router
from api.config import Settings
from tests.support.perms import API, Ids, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio
POST = {"title": "資材搬入の予定", "body": "9時に搬入します。"}

ROWS = [
    # a work's board
    Row("GET", "/works/{work}/posts", allowed="viewer", denied="reader"),
    Row("POST", "/works/{work}/posts", allowed="builder", denied="viewer", ok=201, json=POST),
    Row("GET", "/works/{work}/posts/audience", allowed="viewer", denied="reader"),
    Row("POST", "/works/{work}/posts/read-all", allowed="viewer", denied="reader"),
    # one post, outside the viewer's scope
    Row("GET", "/posts/{post}", allowed="builder", denied="viewer", refused=404),
    Row("PATCH", "/posts/{post}", allowed="supervisor", denied="builder", fresh=True,
        json=lambda ids: {"version": int(ids["post_version"]), "title": "搬入予定（変更）"}),
    Row("DELETE", "/posts/{post}?version={post_version}", allowed="supervisor",
        denied="builder", ok=204, fresh=True),
    Row("POST", "/posts/{post}/read", allowed="builder", denied="viewer", refused=404),
    Row("GET", "/posts/{post}/revisions", allowed="builder", denied="viewer", refused=404),
    Row("POST", "/posts/{post}/replies", allowed="builder", denied="viewer", refused=404,
        ok=201, json={"body": "承知しました。"}),
    Row("PATCH", "/posts/{post}/replies/{reply}", allowed="builder", denied="supervisor",
        fresh=True, json={"version": 1, "body": "承知しました（訂正）。"}),
    Row("DELETE", "/posts/{post}/replies/{reply}?version=1", allowed="builder",
        denied="supervisor", ok=204, fresh=True),
    Row("GET", "/posts/{post}/replies/{reply}/revisions", allowed="supervisor", denied="viewer",
        refused=404),
    # across works: everyone has their own lists, which never show what is not theirs
    Row("GET", "/bulletins/unread", allowed="supervisor", denied=None, other_status=200,
        hidden="post"),
    Row("POST", "/bulletins/read-all", allowed="builder", denied=None, other_status=200),
    Row("GET", "/bulletins/tree", allowed="viewer", denied=None, other_status=200,
        hidden="work"),
    Row("GET", "/bulletins/search?q=資材", allowed="builder", denied="viewer", refused=200,
        other_status=200, hidden="post"),
    Row("POST", "/bulletins/bulk", allowed="supervisor", denied="builder", ok=201,
        json=lambda ids: {"work_ids": [ids["work"]], "title": "一斉連絡"}),
    Row("GET", "/bulletins/bulk/{bulk}", allowed="supervisor", denied="builder", refused=404),
    Row("PATCH", "/bulletins/bulk/{bulk}", allowed="supervisor", denied="builder", refused=404,
        fresh=True, json={"version": 1, "title": "一斉連絡（訂正）"}),
    Row("DELETE", "/bulletins/bulk/{bulk}?version=1", allowed="supervisor", denied="builder",
        refused=404, fresh=True),
    # a user's own groups
    Row("GET", "/groups", allowed="supervisor", denied="builder", refused=200, other_status=200,
        hidden="group"),
    Row("POST", "/groups", allowed="builder", denied=None, other=None, ok=201,
        json={"name": "自分のグループ"}),
    Row("GET", "/groups/candidates", allowed="supervisor", denied=None, other_status=200,
        hidden="builder"),
    Row("GET", "/groups/{group}", allowed="supervisor", denied="builder", refused=404),
    Row("PATCH", "/groups/{group}", allowed="supervisor", denied="builder", refused=404,
        fresh=True, json={"version": 1, "name": "受注者"}),
    Row("DELETE", "/groups/{group}?version=1", allowed="supervisor", denied="builder",
        refused=404, ok=204, fresh=True),
    Row("GET", "/groups/{group}/feed", allowed="supervisor", denied="builder", refused=404),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def _ok(r: Any, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def made(world: World, work_id: str) -> dict[str, str]:
    """A post of the supervisor for the builder, the builder's reply, a bulk post and a group."""
    sup, builder = world.client("supervisor"), world.client("builder")
    post = await _ok(
        await sup.post(
            f"{API}/works/{work_id}/posts",
            json={**POST, "scope": {"kind": "users", "user_ids": [world.user_id("builder")]}},
        )
    )
    reply = await _ok(
        await builder.post(f"{API}/posts/{post['id']}/replies", json={"body": "了解です。"})
    )
    bulk = await _ok(
        await sup.post(f"{API}/bulletins/bulk", json={"work_ids": [work_id], "title": "一斉"})
    )
    group = await _ok(
        await sup.post(
            f"{API}/groups", json={"name": "受注者", "member_ids": [world.user_id("builder")]}
        )
    )
    return {
        "post": post["id"],
        "post_version": str(post["version"] + 1),  # the reply moved the post's counters
        "reply": reply["id"],
        "bulk": bulk["id"],
        "group": group["id"],
    }


async def test_board_matrix(world: World) -> None:
    work = await world.work()

    async def fresh() -> Ids:
        return await made(world, work["id"])

    ids = {**world.base_ids(), "work": work["id"], **await made(world, work["id"])}
    await check_matrix(world, ROWS, ids, fresh)


def test_every_board_endpoint_has_a_row() -> None:
    assert uncovered([posts_router, board_router, groups_router], ROWS) == []
