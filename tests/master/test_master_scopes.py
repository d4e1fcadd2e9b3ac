"""Issue 7 item 5: master data of one organization no longer changes everyone's.

Positions and business types are global (operators only). Calendar days and mail templates
have a global layer (operators) and a layer per organization (its ``master.manage``
holders), which overrides the global one for that organization only; business days follow
the caller's organization, or a work's orderer.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.kit.ids import new_id
from api.permissions.policy import OrgKind
from storage.query import Eq, Query
from tests.organizations.harness import Harness, member, operator

pytestmark = pytest.mark.anyio

M = "/api/v1/master"
A_MANAGER = member("ORG-A", "master.manage", user_id="A1")
A_PLAIN = member("ORG-A", user_id="A2")
B_MANAGER = member("ORG-B", "master.manage", user_id="B1")
B_PLAIN = member("ORG-B", user_id="B2")
BUILDER = member("ORG-C", user_id="C1", kind=OrgKind.CONTRACTOR)
TEMPLATE = f"{M}/mail-templates/account.created"


@pytest.fixture
async def orgs(h: Harness) -> None:
    for org_id, kind in (("ORG-A", "orderer"), ("ORG-B", "orderer"), ("ORG-C", "contractor")):
        await h.container.records.insert("organizations", {"id": org_id, "kind": kind})


async def next_day(h: Harness, who: Any, **params: str) -> str:
    h.as_(who)
    r = await h.client.get(
        f"{M}/calendar/business-days", params={"from": "2026-05-29", "add": 1, **params}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["date"])


async def test_city_b_cannot_change_what_city_a_uses(h: Harness, orgs: None) -> None:
    h.as_(B_MANAGER)
    r = await h.client.put(f"{M}/calendar/days/2026-06-01", json={"kind": "closed", "name": "B市"})
    assert r.status_code == 200, r.text
    assert r.json()["org_id"] == "ORG-B"
    body = {"subject": "B市: {login_id}", "body": "{user_name} 様"}
    assert (await h.client.put(TEMPLATE, json=body)).status_code == 200
    # B's own people see B's day and wording
    assert await next_day(h, B_PLAIN) == "2026-06-02"
    assert (await h.as_(B_PLAIN).client.get(TEMPLATE)).json()["subject"] == "B市: {login_id}"
    # A's do not (Friday 29 May + 1 business day is Monday 1 June)
    assert await next_day(h, A_PLAIN) == "2026-06-01"
    year = (await h.as_(A_PLAIN).client.get(f"{M}/calendar", params={"year": 2026})).json()
    assert "2026-06-01" not in {d["date"] for d in year["days"]}
    a_view = (await h.client.get(TEMPLATE)).json()
    assert (a_view["source"], a_view["customized"]) == ("builtin", False)
    assert (await h.client.get(f"{M}/calendar/days")).json() == []
    # B cannot reach A's layer, nor read it: as if it did not exist
    h.as_(B_MANAGER)
    params = {"org_id": "ORG-A"}
    r = await h.client.put(f"{M}/calendar/days/2026-06-05", json={"kind": "closed"}, params=params)
    assert r.status_code == 404
    assert (await h.client.put(TEMPLATE, json=body, params=params)).status_code == 404
    assert (await h.client.get(f"{M}/calendar/days", params=params)).status_code == 404
    assert (await h.client.get(f"{M}/calendar", params={"year": 2026, **params})).status_code == 404
    assert await next_day(h, A_PLAIN) == "2026-06-01"


async def test_global_layer_is_the_operators_and_organizations_override_it(
    h: Harness, orgs: None
) -> None:
    day = f"{M}/calendar/days/2026-06-01"
    h.as_(operator())
    r = await h.client.put(day, json={"kind": "closed", "name": "全庁休業"})
    assert r.status_code == 200
    assert r.json()["org_id"] is None
    assert await next_day(h, A_PLAIN) == "2026-06-02"
    assert await next_day(h, B_PLAIN) == "2026-06-02"
    # A opens the day for itself only
    h.as_(A_MANAGER)
    assert (await h.client.put(day, json={"kind": "open", "name": "臨時開庁"})).status_code == 200
    assert await next_day(h, A_PLAIN) == "2026-06-01"
    assert await next_day(h, B_PLAIN) == "2026-06-02"
    listed = (await h.as_(A_PLAIN).client.get(f"{M}/calendar/days")).json()
    assert [(d["org_id"], d["kind"]) for d in listed] == [(None, "closed"), ("ORG-A", "open")]
    # the global day stays out of the holders' reach
    h.as_(A_MANAGER)
    assert (await h.client.delete(day, params={"version": 1})).status_code == 204  # A's own
    assert (await h.client.delete(day, params={"version": 1})).status_code == 404
    assert await next_day(h, A_PLAIN) == "2026-06-02"
    # mail: operator's global text, A's override over it
    h.as_(operator())
    body = {"subject": "全体: {login_id}", "body": "{user_name} 様"}
    assert (await h.client.put(TEMPLATE, json=body)).status_code == 200
    h.as_(A_MANAGER)
    assert (await h.client.get(TEMPLATE)).json()["source"] == "global"
    r = await h.client.put(TEMPLATE, json={**body, "subject": "A市: {login_id}"})
    assert r.json()["source"] == "organization"
    assert (await h.as_(B_PLAIN).client.get(TEMPLATE)).json()["subject"] == "全体: {login_id}"
    r = await h.as_(A_PLAIN).client.post(f"{TEMPLATE}/preview", json={"values": {"login_id": "x"}})
    assert r.json()["subject"] == "A市: x"
    # operators manage an organization's layer with org_id; an unknown one is 404
    h.as_(operator())
    r = await h.client.get(TEMPLATE, params={"org_id": "ORG-A"})
    assert (r.json()["subject"], r.json()["version"]) == ("A市: {login_id}", 1)
    assert (await h.client.get(TEMPLATE, params={"org_id": "ORG-Z"})).status_code == 404
    # each organization's changes concern it in the audit trail (issue 7 item 1)
    page = await h.container.records.find(
        "audit_events", Query(where=(Eq("org_ids", "ORG-A"),), limit=100)
    )
    actions = [e["action"] for e in page.items]
    assert actions == [
        "calendar_days.created",
        "calendar_days.deleted",
        "mail_templates.created",
    ]


async def test_work_deadlines_follow_the_orderers_calendar(h: Harness, orgs: None) -> None:
    work_id = new_id()
    await h.container.records.insert(
        "works",
        {
            "id": work_id,
            "title": "A市の工事",
            "orderer_org_id": "ORG-A",
            "contractor_org_ids": ["ORG-C"],
            "status": "in_progress",
        },
    )
    await h.container.records.insert(
        "work_members",
        {
            "id": f"{work_id}:C1",
            "work_id": work_id,
            "user_id": "C1",
            "role": "contractor_member",
            "org_id": "ORG-C",
        },
    )
    h.as_(A_MANAGER)
    await h.client.put(f"{M}/calendar/days/2026-06-01", json={"kind": "closed"})
    # the contractor computes the work's deadline on A's calendar, not on its own
    assert await next_day(h, BUILDER, work_id=work_id) == "2026-06-02"
    assert await next_day(h, BUILDER) == "2026-06-01"
    # a work one may not read is not found
    h.as_(B_PLAIN)
    r = await h.client.get(
        f"{M}/calendar/business-days", params={"from": "2026-05-29", "add": 1, "work_id": work_id}
    )
    assert r.status_code == 404
