"""The names of a work's parties for its readers (issue 8 §3 item 1): a contractor's member,
who may not read the orderer's organization, its office or other organizations' users, gets
their names through the work; nothing for someone who cannot read the work."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.support.perms import API, World, perm_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings, users=("supervisor", "manager", "viewer", "builder")) as w:
        yield w


async def test_a_contractor_reads_every_partys_name(world: World) -> None:
    work = await world.work()
    builder = world.client("builder")
    # what the contractor could not read directly
    assert (await builder.get(f"{API}/organizations/{work['orderer_org_id']}")).status_code in (
        403,
        404,
    )
    r = await builder.get(f"{API}/works/{work['id']}/parties")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["orderer"]["name"] == "福山市"
    assert body["office"] == {"id": world.office, "name": "東部建設事務所"}
    assert [c["name"] for c in body["contractors"]] == ["春日建設株式会社"]
    assert body["business_type"] == {"code": "17", "name": "塗装工事"}  # seed 004, 17th kind
    by_user = {m["user_id"]: m for m in body["members"]}
    supervisor = by_user[world.user_id("supervisor")]
    assert (supervisor["name"], supervisor["org_name"], supervisor["role"]) == (
        "supervisor 太郎",
        "福山市",
        "supervisor",
    )
    assert by_user[world.user_id("builder")]["org_name"] == "春日建設株式会社"
    # no login ids, mail addresses or other fields of the users
    assert set(supervisor) == {"user_id", "name", "position", "org_id", "org_name", "role",
                               "added_at"}  # fmt: skip
