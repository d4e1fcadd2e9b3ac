"""The audit trail in people's words (issue 8 §3 item 6): each event carries its action's
Japanese name, the actor's and the target's names, the work it concerns (so an upload's many
file events group into one line) and its detail as labelled fields with names for ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.audit.words import ACTION_NAMES
from api.config import Settings
from tests.support.perms import API, World, jpeg, perm_world

pytestmark = pytest.mark.anyio


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings, users=("supervisor", "manager", "viewer", "builder")) as w:
        yield w


async def test_events_read_as_words(world: World) -> None:
    work = await world.work(title="春日川護岸改修工事")
    placed = await world.upload(
        work["id"], {f"P{i:07d}.JPG": (jpeg(), "image/jpeg") for i in range(1, 4)}
    )
    r = await world.operator.get(f"{API}/audit/events", params={"limit": 100})
    assert r.status_code == 200, r.text
    events = r.json()["items"]

    created = next(e for e in events if e["action"] == "works.created")
    assert created["action_name"] == "案件の登録"
    assert created["actor_name"] == "supervisor 太郎"
    assert created["target_name"] == "春日川護岸改修工事"
    assert created["work_id"] == work["id"]

    added = [e for e in events if e["action"] == "files.added"]
    assert len(added) == 3
    assert {e["action_name"] for e in added} == {"ファイルの追加"}
    assert {e["actor_name"] for e in added} == {"builder 太郎"}
    assert {e["work_id"] for e in added} == {work["id"]}  # one work: one group on the page
    assert {e["target_name"] for e in added} == {p["path"] for p in placed}

    member = next(e for e in events if e["action"] == "works.member_added")
    assert member["action_name"] == "メンバーの追加"
    assert "春日川護岸改修工事" in (member["target_name"] or "")
    # ids in the detail read as names
    for ev in events:
        for f in ev["fields"]:
            if f["key"] == "work_id":
                assert f["label"] == "案件"
                assert f["value"] == "春日川護岸改修工事"


async def test_actions_list(world: World) -> None:
    r = await world.operator.get(f"{API}/audit/actions")
    assert r.status_code == 200
    names = {a["action"]: a["name"] for a in r.json()}
    assert names == ACTION_NAMES
    assert names["works.hold_placed"] == "法的保全の設定"
