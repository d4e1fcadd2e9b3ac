"""Works registry: permissions for every endpoint, validation, versions, delete, transitions."""

from __future__ import annotations

from typing import Any

import pytest

from api.kit.ids import new_id
from tests.works.harness import (
    ARCHIVIST,
    BUILDER,
    CLERK,
    CONTRACTOR,
    MANAGER,
    NOBODY,
    OPERATOR,
    ORDERER,
    ORG_READER,
    OTHER_ORDERER,
    STRANGER,
    Harness,
    work_body,
)

pytestmark = pytest.mark.anyio
URL = "/api/v1/works"


async def test_create_read_and_audit(h: Harness) -> None:
    work = await h.create()
    assert work["status"] == "registered"
    assert work["version"] == 1
    assert work["location"]["municipality_code"] == "34207"  # check digit stripped
    assert work["bid_opening_at"] == "2026-05-26T01:00:00.000000Z"
    got = await h.call(CLERK, "GET", f"{URL}/{work['id']}")
    assert got.status_code == 200
    assert got.json() == work
    [event] = await h.events("works.created")
    assert event["target"] == f"works/{work['id']}"
    assert event["actor_id"] == CLERK.user_id
    assert event["after_digest"]
    # the creator became the supervisor of the work
    members = await h.call(CLERK, "GET", f"{URL}/{work['id']}/members")
    assert [(m["user_id"], m["role"]) for m in members.json()] == [(CLERK.user_id, "supervisor")]


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (None, 401),
        (NOBODY, 403),  # orderer staff without works.create
        (BUILDER, 403),
        (ORG_READER, 403),
        (CLERK, 201),
        (OPERATOR, 201),
    ],
)
async def test_create_permissions(h: Harness, subject: Any, status: int) -> None:
    resp = await h.call(subject, "POST", URL, json=work_body())
    assert resp.status_code == status, resp.text
    if status >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert await h.events("works.created") == []


async def test_create_for_another_orderer_is_forbidden(h: Harness) -> None:
    resp = await h.call(CLERK, "POST", URL, json=work_body(orderer_org_id=OTHER_ORDERER))
    assert resp.status_code == 403


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (None, 401),
        (NOBODY, 404),  # same org, no grant, no membership: must not learn it exists
        (STRANGER, 404),
        (BUILDER, 404),  # a contractor of the work, but not a member yet
        (ARCHIVIST, 404),  # archive readers see archived works only
        (ORG_READER, 200),
        (MANAGER, 200),
        (CLERK, 200),
        (OPERATOR, 200),
    ],
)
async def test_read_permissions(h: Harness, subject: Any, status: int) -> None:
    work = await h.create()
    resp = await h.call(subject, "GET", f"{URL}/{work['id']}")
    assert resp.status_code == status


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (None, 401),
        (NOBODY, 404),
        (STRANGER, 404),
        (ORG_READER, 403),  # may read, may not edit
        (MANAGER, 200),
        (CLERK, 200),  # supervisor of the work
        (OPERATOR, 200),
    ],
)
async def test_update_permissions(h: Harness, subject: Any, status: int) -> None:
    work = await h.create()
    resp = await h.call(
        subject, "PATCH", f"{URL}/{work['id']}", json={"version": 1, "title": "新しい件名"}
    )
    assert resp.status_code == status, resp.text
    updated = await h.events("works.updated")
    assert len(updated) == (1 if status == 200 else 0)


async def test_update_and_stale_version(h: Harness) -> None:
    work = await h.create()
    url = f"{URL}/{work['id']}"
    ok = await h.call(CLERK, "PATCH", url, json={"version": 1, "category": None, "title": "改"})
    assert ok.status_code == 200
    assert ok.json()["version"] == 2
    assert ok.json()["category"] is None
    assert ok.json()["title"] == "改"
    stale = await h.call(CLERK, "PATCH", url, json={"version": 1, "title": "古い"})
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert (await h.call(CLERK, "GET", url)).json()["title"] == "改"
    [event] = await h.events("works.updated")
    assert event["detail"] == {"fields": ["category", "title"]}
    assert event["before_digest"] != event["after_digest"]


async def test_update_period_order_uses_stored_value(h: Harness) -> None:
    work = await h.create()
    resp = await h.call(
        CLERK, "PATCH", f"{URL}/{work['id']}", json={"version": 1, "period_end": "2026-05-01"}
    )
    assert resp.status_code == 400
    assert resp.json()["code"] == "validation_failed"


async def test_update_cannot_clear_required(h: Harness) -> None:
    work = await h.create()
    resp = await h.call(CLERK, "PATCH", f"{URL}/{work['id']}", json={"version": 1, "title": None})
    assert resp.status_code == 400


async def test_duplicate_number_per_orderer(h: Harness) -> None:
    await h.create(number="R8-0001")
    dup = await h.call(CLERK, "POST", URL, json=work_body(number="R8-0001"))
    assert dup.status_code == 409
    assert dup.json()["code"] == "duplicate"
    # the same number at another orderer is fine
    other = await h.call(
        STRANGER,
        "POST",
        URL,
        json=work_body(number="R8-0001", orderer_org_id=OTHER_ORDERER, office_id=None),
    )
    assert other.status_code == 201, other.text


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"title": "a\x07b"}, 422),
        ({"title": "道路工事\u202e事工"}, 422),  # issue 7 item 12: bidi override
        ({"title": "\u2066道路工事\u2069"}, 422),  # bidi isolates
        ({"title": "x" * 201}, 422),
        ({"title": "   "}, 422),
        ({"number": "n\nb"}, 422),
        ({"location": {"address": "広島", "municipality_code": "342077"}}, 422),  # check digit
        ({"location": {"address": "広島", "municipality_code": "3420"}}, 422),
        ({"location": {"address": "広島", "municipality_code": "99207"}}, 422),  # no such pref.
        ({"location": {"address": "広島", "municipality_code": "34000"}}, 422),
        ({"location": {"address": "広島", "municipality_code": "34207", "lat": 91}}, 422),
        ({"location": {"address": "広島", "municipality_code": "34207", "lon": -181}}, 422),
        ({"planned_price": -1}, 422),
        ({"contract_price": 1.5}, 422),
        ({"kind": "other"}, 422),
        ({"unknown": 1}, 422),
        ({"period_start": "2026-09-01"}, 400),  # after period_end
        ({"business_type": "99"}, 400),
        ({"orderer_org_id": CONTRACTOR}, 403),  # not the clerk's org
        ({"contractor_org_ids": [ORDERER]}, 400),  # not a contractor
        ({"contractor_org_ids": [new_id()]}, 400),
        ({"office_id": new_id()}, 400),
    ],
)
async def test_create_validation(h: Harness, over: dict[str, Any], status: int) -> None:
    resp = await h.call(CLERK, "POST", URL, json=work_body(**over))
    assert resp.status_code == status, resp.text
    assert await h.events("works.created") == []


async def test_six_digit_code_with_valid_check_digit_and_five_digit(h: Harness) -> None:
    a = await h.create(location={"address": "広島市", "municipality_code": "341002"})
    b = await h.create(location={"address": "千代田区", "municipality_code": "13101"})
    assert a["location"]["municipality_code"] == "34100"
    assert b["location"]["municipality_code"] == "13101"


@pytest.mark.parametrize("bad", ["nope", "0" * 26, "../etc", "x" * 300])
async def test_bad_and_unknown_ids_are_404(h: Harness, bad: str) -> None:
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"version": 1}),
        ("DELETE", "?version=1", None),
        ("POST", "/transition", {"to": "in_progress", "version": 1}),
        ("GET", "/members", None),
    ):
        resp = await h.call(OPERATOR, method, f"{URL}/{bad}{suffix}", json=body)
        assert resp.status_code == 404, (method, suffix, resp.text)


async def test_transitions_in_order_and_archived_read_only(h: Harness) -> None:
    work = await h.create()
    url = f"{URL}/{work['id']}"
    skip = await h.call(CLERK, "POST", f"{url}/transition", json={"to": "completed", "version": 1})
    assert skip.status_code == 409
    assert skip.json()["code"] == "invalid_transition"
    version = 1
    for to in ("in_progress", "completed", "archived"):
        resp = await h.call(CLERK, "POST", f"{url}/transition", json={"to": to, "version": version})
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == to
        version = resp.json()["version"]
    back = await h.call(
        CLERK, "POST", f"{url}/transition", json={"to": "registered", "version": version}
    )
    assert back.status_code == 409
    edit = await h.call(CLERK, "PATCH", url, json={"version": version, "title": "改"})
    assert edit.status_code == 409
    assert edit.json()["code"] == "archived_read_only"
    gone = await h.call(CLERK, "DELETE", f"{url}?version={version}")
    assert gone.status_code == 409
    events = await h.events("works.transitioned")
    assert [e["detail"]["to"] for e in events] == ["in_progress", "completed", "archived"]
    # archive readers of the orderer now see it; plain staff still do not
    assert (await h.call(ARCHIVIST, "GET", url)).status_code == 200
    assert (await h.call(NOBODY, "GET", url)).status_code == 404


async def test_transition_permissions_and_stale(h: Harness) -> None:
    work = await h.create()
    url = f"{URL}/{work['id']}/transition"
    body = {"to": "in_progress", "version": 1}
    assert (await h.call(None, "POST", url, json=body)).status_code == 401
    assert (await h.call(STRANGER, "POST", url, json=body)).status_code == 404
    assert (await h.call(ORG_READER, "POST", url, json=body)).status_code == 403
    stale = await h.call(MANAGER, "POST", url, json={"to": "in_progress", "version": 7})
    assert stale.status_code == 409
    assert (await h.call(MANAGER, "POST", url, json=body)).status_code == 200


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (NOBODY, 404), (STRANGER, 404), (ORG_READER, 403), (CLERK, 204)],
)
async def test_delete_permissions(h: Harness, subject: Any, status: int) -> None:
    work = await h.create()
    resp = await h.call(subject, "DELETE", f"{URL}/{work['id']}?version=1")
    assert resp.status_code == status
    if status == 204:
        assert (await h.call(OPERATOR, "GET", f"{URL}/{work['id']}")).status_code == 404
        [event] = await h.events("works.deleted")
        assert event["before_digest"]
        assert await h.container.records.count("work_members") == 0


async def test_delete_only_while_empty(h: Harness) -> None:
    work = await h.create()
    await h.container.records.insert("nodes", {"id": new_id(), "work_id": work["id"]})
    resp = await h.call(CLERK, "DELETE", f"{URL}/{work['id']}?version=1")
    assert resp.status_code == 409
    assert resp.json()["code"] == "work_not_empty"
    started = await h.create()
    moved = await h.call(
        CLERK, "POST", f"{URL}/{started['id']}/transition", json={"to": "in_progress", "version": 1}
    )
    assert moved.status_code == 200
    resp = await h.call(CLERK, "DELETE", f"{URL}/{started['id']}?version=2")
    assert resp.status_code == 409
    stale = await h.create()
    assert (await h.call(CLERK, "DELETE", f"{URL}/{stale['id']}?version=5")).status_code == 409
    assert await h.events("works.deleted") == []


async def test_contractor_member_reads_but_cannot_edit(h: Harness) -> None:
    work = await h.create()
    add = await h.call(
        CLERK,
        "POST",
        f"{URL}/{work['id']}/members",
        json={"user_id": BUILDER.user_id, "role": "contractor_member"},
    )
    assert add.status_code == 201, add.text
    assert (await h.call(BUILDER, "GET", f"{URL}/{work['id']}")).status_code == 200
    edit = await h.call(BUILDER, "PATCH", f"{URL}/{work['id']}", json={"version": 2, "title": "x"})
    assert edit.status_code == 403
    assert CONTRACTOR in work["contractor_org_ids"]
