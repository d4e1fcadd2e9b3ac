"""Editing a user as an administrator (issue 8 §3 item 11): name, mail, 役職 from the 役職
master, and, for operators, the organization of a user who holds nothing given within the
old one; nobody disables their own account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from tests.support.perms import API, World, perm_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    users = ("supervisor", "manager", "viewer", "plain", "useradmin", "builder")
    async with perm_world(settings, users=users) as w:
        yield w


async def user(world: World, name: str) -> dict[str, Any]:
    r = await world.operator.get(f"{API}/users/{world.user_id(name)}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_name_mail_and_position_from_the_master(world: World) -> None:
    plain = await user(world, "plain")
    admin = world.client("useradmin")
    # no master yet: any 役職 text
    r = await admin.patch(
        f"{API}/users/{plain['id']}",
        json={"version": plain["version"], "name": "平 一郎", "email": "hira@example.jp",
              "position": "主任"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["email"], r.json()["position"]) == (
        "平 一郎",
        "hira@example.jp",
        "主任",
    )
    for name, rank in (("課長", 1), ("係長", 2)):
        made = await world.operator.post(
            f"{API}/master/positions", json={"name": name, "rank": rank}
        )
        assert made.status_code == 201, made.text
    current = await user(world, "plain")
    bad = await admin.patch(
        f"{API}/users/{plain['id']}", json={"version": current["version"], "position": "部長"}
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "position"
    ok = await admin.patch(
        f"{API}/users/{plain['id']}", json={"version": current["version"], "position": "係長"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["position"] == "係長"


async def test_only_operators_move_a_user_and_only_one_holding_nothing(world: World) -> None:
    plain = await user(world, "plain")
    other = world.orgs["other"]
    refused = await world.client("useradmin").patch(
        f"{API}/users/{plain['id']}", json={"version": plain["version"], "org_id": other}
    )
    assert refused.status_code == 403
    moved = await world.operator.patch(
        f"{API}/users/{plain['id']}", json={"version": plain["version"], "org_id": other}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["org_id"] == other

    await world.work()  # makes viewer a member of a work
    viewer = await user(world, "viewer")
    held = await world.operator.patch(
        f"{API}/users/{viewer['id']}", json={"version": viewer["version"], "org_id": other}
    )
    assert held.status_code == 409
    assert "案件のメンバー（1件）" in held.json()["detail"]
    manager = await user(world, "manager")
    granted = await world.operator.patch(
        f"{API}/users/{manager['id']}", json={"version": manager["version"], "org_id": other}
    )
    assert granted.status_code == 409
    unknown = await world.operator.patch(
        f"{API}/users/{manager['id']}", json={"version": manager["version"], "org_id": "NOPE"}
    )
    assert unknown.status_code == 400


async def test_nobody_disables_their_own_account(world: World) -> None:
    me = await world.operator.get(f"{API}/auth/me")
    own = me.json()["user"]
    r = await world.operator.post(f"{API}/users/{own['id']}/disable")
    assert r.status_code == 400
    still = await world.operator.get(f"{API}/users/{own['id']}")
    assert still.json()["status"] == "active"
