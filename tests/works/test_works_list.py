"""Listing: only readable works, filters, sort, cursor paging, title search via the index."""

from __future__ import annotations

from typing import Any

import pytest

from tests.works.harness import (
    ARCHIVIST,
    BUILDER,
    CLERK,
    MANAGER,
    NOBODY,
    OPERATOR,
    ORG_READER,
    OTHER_ORDERER,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio
URL = "/api/v1/works"


async def ids(h: Harness, subject: Any, **params: Any) -> list[str]:
    resp = await h.call(subject, "GET", URL, params=params)
    assert resp.status_code == 200, resp.text
    return [w["id"] for w in resp.json()["items"]]


async def test_list_shows_only_readable_works(h: Harness) -> None:
    mine = await h.create(CLERK, title="河川改修工事")
    other = await h.create(
        STRANGER, title="他県の工事", orderer_org_id=OTHER_ORDERER, office_id=None
    )
    archived = await h.create(MANAGER, title="保管済み工事")
    version = 1
    for to in ("in_progress", "completed", "archived"):
        r = await h.call(
            MANAGER,
            "POST",
            f"{URL}/{archived['id']}/transition",
            json={"to": to, "version": version},
        )
        version = r.json()["version"]
    assert (await h.call(None, "GET", URL)).status_code == 401
    assert set(await ids(h, OPERATOR)) == {mine["id"], other["id"], archived["id"]}
    assert set(await ids(h, CLERK)) == {mine["id"]}
    assert set(await ids(h, ORG_READER)) == {mine["id"], archived["id"]}
    assert set(await ids(h, ARCHIVIST)) == {archived["id"]}
    assert set(await ids(h, STRANGER)) == {other["id"]}
    assert await ids(h, NOBODY) == []
    assert await ids(h, BUILDER) == []
    # the same through the index
    assert set(await ids(h, CLERK, q="工事")) == {mine["id"]}
    assert set(await ids(h, ORG_READER, q="工事")) == {mine["id"], archived["id"]}
    assert set(await ids(h, ARCHIVIST, q="工事")) == {archived["id"]}
    assert await ids(h, NOBODY, q="工事") == []
    assert set(await ids(h, OPERATOR, q="工事")) == {mine["id"], other["id"], archived["id"]}


async def test_membership_grants_listing(h: Harness) -> None:
    work = await h.create(CLERK, title="橋梁補修工事")
    await h.call(
        CLERK,
        "POST",
        f"{URL}/{work['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert await ids(h, BUILDER) == [work["id"]]
    assert await ids(h, BUILDER, q="橋梁") == [work["id"]]
    await h.call(CLERK, "DELETE", f"{URL}/{work['id']}/members/{BUILDER.user_id}")
    assert await ids(h, BUILDER) == []
    assert await ids(h, BUILDER, q="橋梁") == []


async def test_filters_sort_and_paging(h: Harness) -> None:
    made = []
    for i in range(7):
        made.append(
            await h.create(
                OPERATOR,
                title=f"工事{i}",
                kind="service" if i % 2 else "construction",
                period_start=f"2026-0{i + 1}-01",
                period_end="2026-12-31",
                category="道路" if i < 4 else "河川",
                business_type="01" if i < 3 else "17",
            )
        )
    by_start = [w["id"] for w in made]
    assert await ids(h, OPERATOR, sort="period_start", order="asc") == by_start
    assert await ids(h, OPERATOR, sort="period_start", order="desc") == by_start[::-1]
    assert await ids(h, OPERATOR, sort="title", order="asc") == by_start
    assert await ids(h, OPERATOR, sort="created_at", order="asc") == by_start
    # paging: 3 + 3 + 1, no overlap, same order
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"sort": "period_start", "order": "asc", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await h.call(OPERATOR, "GET", URL, params=params)).json()
        seen += [w["id"] for w in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == by_start
    assert await ids(h, OPERATOR, kind="service", sort="period_start", order="asc") == [
        by_start[1],
        by_start[3],
        by_start[5],
    ]
    assert await ids(h, OPERATOR, category="河川", sort="period_start", order="asc") == by_start[4:]
    assert set(await ids(h, OPERATOR, business_type="01")) == set(by_start[:3])
    got = await ids(
        h,
        OPERATOR,
        period_start_from="2026-02-01",
        period_start_to="2026-04-01",
        sort="period_start",
        order="asc",
    )
    assert got == by_start[1:4]
    assert set(await ids(h, OPERATOR, status="registered")) == set(by_start)
    assert await ids(h, OPERATOR, status="archived") == []
    assert len(await ids(h, OPERATOR, orderer_org_id=made[0]["orderer_org_id"])) == 7
    assert len(await ids(h, OPERATOR, contractor_org_id=made[0]["contractor_org_ids"][0])) == 7
    # the same filters through the index
    assert set(await ids(h, OPERATOR, q="工事", kind="service")) == {
        by_start[1],
        by_start[3],
        by_start[5],
    }
    assert set(
        await ids(
            h, OPERATOR, q="工事", period_start_from="2026-02-01", period_start_to="2026-04-01"
        )
    ) == set(by_start[1:4])


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "number"},
        {"order": "up"},
        {"limit": 0},
        {"limit": 1000},
        {"status": "lost"},
        {"q": "a\x00"},
        {"q": "x" * 101},
        {"bogus": "1"},
    ],
)
async def test_bad_list_params_are_422(h: Harness, params: dict[str, Any]) -> None:
    resp = await h.call(OPERATOR, "GET", URL, params=params)
    assert resp.status_code == 422


async def test_bad_cursor_is_400(h: Harness) -> None:
    resp = await h.call(OPERATOR, "GET", URL, params={"cursor": "garbage!"})
    assert resp.status_code == 400


async def test_title_search_japanese_substring(h: Harness) -> None:
    a = await h.create(OPERATOR, title="福山市春日町2丁目ほか道路標示工事")
    b = await h.create(OPERATOR, title="尾道市因島重井町地内河川改修工事")
    c = await h.create(OPERATOR, title="県道福山尾道線舗装補修業務", kind="service")
    assert await ids(h, OPERATOR, q="春日町") == [a["id"]]
    assert await ids(h, OPERATOR, q="河川改修") == [b["id"]]
    assert set(await ids(h, OPERATOR, q="尾道")) == {b["id"], c["id"]}
    assert set(await ids(h, OPERATOR, q="福山")) == {a["id"], c["id"]}
    assert await ids(h, OPERATOR, q="ﾎｿｳ") == []  # katakana folded; no such title
    assert await ids(h, OPERATOR, q="舗装") == [c["id"]]
    # only the title is searched, not the address in the body
    assert await ids(h, OPERATOR, q="2番56号") == []
    resp = await h.call(OPERATOR, "GET", URL, params={"q": "工事"})
    assert resp.json()["total"] == 2
    # an edit is searchable right after commit
    await h.call(OPERATOR, "PATCH", f"{URL}/{a['id']}", json={"version": 1, "title": "新町橋架替"})
    assert await ids(h, OPERATOR, q="春日町") == []
    assert await ids(h, OPERATOR, q="架替") == [a["id"]]


async def test_member_listing_falls_back_to_acl_past_the_id_limit(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.works.service as service_module

    a = await h.create(CLERK, title="工事A")
    b = await h.create(CLERK, title="工事B")
    monkeypatch.setattr(service_module, "_MEMBER_ID_LIMIT", 1)  # CLERK belongs to 2 works
    assert set(await ids(h, CLERK)) == {a["id"], b["id"]}
    monkeypatch.setattr(service_module, "_MEMBER_ID_LIMIT", 500)
    assert set(await ids(h, CLERK)) == {a["id"], b["id"]}
