"""What the operators' erasure page reads and sends (issue 12 §2; seed 001 別表3 12(1)
手動により削除): scopes by name (never ids), the state filter, the key's state and a legal
hold in the detail, and the confirmation that repeats the scope's displayed name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from api.keys import scopes
from tests.proposals.harness import API, OPERATOR, SUP, Harness, harness

pytestmark = pytest.mark.anyio
TITLE = "福山市春日町2丁目ほか道路標示工事"


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def test_scopes_are_shown_by_name_and_filtered_by_state(h: Harness) -> None:
    wid = str((await h.work())["id"])
    collab, archive = scopes.collab(wid), scopes.archive(wid)
    await h.ok(OPERATOR, "PUT", f"/erasures/{collab}/schedule", json={"due_on": "2026-09-01"})
    await h.ok(OPERATOR, "PUT", f"/erasures/{archive}/schedule", json={"due_on": "2026-07-01"})
    org_scope = scopes.org(str(SUP.org_id))
    started = await h.ok(
        OPERATOR,
        "POST",
        f"/erasures/{org_scope}",
        202,
        json={"confirm": "福山市(組織のデータ)", "reason": "覚書の終了"},
    )
    assert started["state"] == "key_destroyed"  # the rest runs as a job (eager here)
    done = await h.ok(OPERATOR, "GET", f"/erasures/{org_scope}")
    assert done["state"] == "done"

    listed = (await h.ok(OPERATOR, "GET", "/erasures"))["items"]
    # planned first by date, then the finished ones
    assert [i["scope"] for i in listed] == [archive, collab, org_scope]
    first = listed[0]
    assert first["label"] == f"{TITLE}（電子成果品（保管））"
    assert first["part"] == "archive"
    assert first["work"]["title"] == TITLE
    assert first["org_name"] == "福山市"
    assert first["erasure"]["scheduled_by_actor"] == {"kind": "user", "name": "運用 管理者"}
    finished = listed[2]
    assert (finished["part"], finished["org_name"], finished["work"]) == ("org", "福山市", None)
    assert finished["erasure"]["by_actor"]["name"] == "運用 管理者"
    assert finished["erasure"]["records_total"] == sum(finished["erasure"]["records"].values())

    planned = (await h.ok(OPERATOR, "GET", "/erasures?state=scheduled"))["items"]
    assert [i["scope"] for i in planned] == [archive, collab]
    assert [i["scope"] for i in (await h.ok(OPERATOR, "GET", "/erasures?state=done"))["items"]] == [
        org_scope
    ]
    assert (await h.ok(OPERATOR, "GET", "/erasures?state=running"))["items"] == []
    r = await h.call(OPERATOR, "GET", f"{API}/erasures?state=lost")
    assert r.status_code == 422


async def test_detail_shows_the_key_and_a_hold(h: Harness) -> None:
    wid = str((await h.work())["id"])
    scope = scopes.collab(wid)
    detail = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert detail["state"] == "none"
    assert detail["key"]["state"] == "none"  # nothing stored in the scope yet
    assert detail["legal_hold"] is None
    await h.container.keys.current(scope)  # the first object of the scope makes its key
    await h.ok(OPERATOR, "POST", f"/works/{wid}/legal-hold", json={"reason": "訴訟対応"})
    detail = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert detail["key"]["state"] == "active"
    assert detail["key"]["created_at"]
    assert "保全を解除" in detail["legal_hold"]
    assert "情報共有データ" in detail["legal_hold"]
    assert wid not in detail["legal_hold"]  # named, never by id
    assert detail["work"]["legal_hold"] is True


async def test_the_confirmation_repeats_the_displayed_name(h: Harness) -> None:
    wid = str((await h.work())["id"])
    scope = scopes.collab(wid)
    # the work's title alone, or another scope's name, is not the name of this scope
    for typed in (TITLE, f"{TITLE}（電子成果品（保管））", ""):
        r = await h.call(OPERATOR, "POST", f"{API}/erasures/{scope}", json={"confirm": typed})
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        if r.status_code == 400:
            problem = r.json()
            assert problem["field"] == "confirm"
            assert f"「{TITLE}（情報共有データ）」" in problem["detail"]
            assert wid not in problem["detail"]  # named, never by id
    assert await h.container.keys.destroyed(scope) is None
    # half-width parentheses and extra spaces are the same name (NFKC)
    typed = f"  {TITLE} (情報共有データ) "
    started = await h.ok(OPERATOR, "POST", f"/erasures/{scope}", 202, json={"confirm": typed})
    assert started["key"]["state"] == "destroyed"
    done = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert done["state"] == "done"
    assert done["key"]["state"] == "destroyed"
    assert done["job"]["state"] == "done"
