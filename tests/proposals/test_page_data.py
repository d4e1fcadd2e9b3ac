"""What the proposal pages read besides the proposals themselves: people see names, never ids
(house style), and only what is theirs to see.

- the route editor's people (4(8)): the work's members with names, organizations and role
  labels, approvers first, viewers only as viewers, archive readers left out, inactive
  users left out;
- deputy candidates (4(21)): the active users of one's own organization, never another's;
- the delegations and route templates lists carry the names they show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from api.config import Settings
from api.kit.clock import to_iso
from tests.proposals.harness import (
    BUILDER,
    BUILDER2,
    CHIEF,
    CORRECTOR,
    DEPUTY,
    INSP,
    MANAGER,
    NAMES,
    NOBODY,
    OPERATOR,
    START,
    SUP,
    VIEWER,
    Harness,
    harness,
)
from tests.proposals.test_workflow import route

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def test_the_route_editor_lists_the_works_people_by_name(h: Harness) -> None:
    work = await h.work()
    await h.ok(
        SUP,
        "POST",
        f"/works/{work['id']}/members",
        201,
        json={"user_id": NOBODY.user_id, "role": "archive_reader"},
    )
    await h.container.records.update(
        "users",
        CHIEF.user_id,
        {"status": "disabled"},
        (await h.container.records.get("users", CHIEF.user_id) or {})["version"],
    )
    found = await h.ok(BUILDER, "GET", f"/works/{work['id']}/proposals/people")
    people = {p["user_id"]: p for p in found["items"]}
    assert set(people) == {
        s.user_id for s in (SUP, DEPUTY, INSP, VIEWER, BUILDER, BUILDER2)
    }  # no archive reader, no disabled user
    assert people[SUP.user_id]["name"] == NAMES[SUP]
    assert people[SUP.user_id]["org_name"] == "福山市"
    assert people[SUP.user_id]["role_label"] == "監督員"
    assert people[INSP.user_id]["role_label"] == "検査員"
    assert people[BUILDER2.user_id]["org_name"] == "春日建設株式会社"
    assert people[VIEWER.user_id]["can_approve"] is False
    assert all(p["can_approve"] for uid, p in people.items() if uid != VIEWER.user_id)
    assert [p["can_approve"] for p in found["items"]][-1] is False  # approvers first
    # Readers of the work (an organization-wide reader too), not a mere archive reader.
    r = await h.call(CORRECTOR, "GET", f"/api/v1/works/{work['id']}/proposals/people")
    assert r.status_code == 200  # an org-wide reader of the orderer reads the work
    r = await h.call(NOBODY, "GET", f"/api/v1/works/{work['id']}/proposals/people")
    assert r.status_code == 403  # an archive reader sees the work, not its proposals


async def test_deputy_candidates_are_ones_own_organizations_active_users(h: Harness) -> None:
    found = await h.ok(SUP, "GET", "/delegations/candidates")
    names = [u["name"] for u in found["items"]]
    assert NAMES[SUP] not in names
    assert NAMES[DEPUTY] in names
    assert NAMES[BUILDER] not in names  # another organization
    assert names == sorted(names)
    contractor = await h.ok(BUILDER, "GET", "/delegations/candidates")
    assert [u["name"] for u in contractor["items"]] == [NAMES[BUILDER2]]
    r = await h.call(OPERATOR, "GET", "/api/v1/delegations/candidates")
    assert r.status_code == 403


async def test_delegations_and_templates_carry_the_names_they_show(h: Harness) -> None:
    work = await h.work()
    window = {
        "starts_at": to_iso(START),
        "ends_at": to_iso(START + timedelta(days=3)),
        "work_id": work["id"],
    }
    await h.ok(
        MANAGER,
        "POST",
        "/delegations",
        201,
        json={"principal_id": SUP.user_id, "deputy_id": DEPUTY.user_id, **window},
    )
    mine = await h.ok(SUP, "GET", "/delegations")
    assert mine["users"][SUP.user_id]["name"] == NAMES[SUP]
    assert mine["users"][DEPUTY.user_id]["name"] == NAMES[DEPUTY]
    assert mine["users"][MANAGER.user_id]["name"] == NAMES[MANAGER]
    assert mine["works"] == {work["id"]: work["title"]}
    steps = route(("approve", [SUP]), ("view", [VIEWER]))
    await h.ok(
        BUILDER,
        "POST",
        "/route-templates",
        201,
        json={"scope": "work", "owner_id": work["id"], "name": "標準", "steps": steps},
    )
    listed = await h.ok(BUILDER, "GET", f"/route-templates?work_id={work['id']}")
    assert [t["name"] for t in listed["items"]] == ["標準"]
    assert listed["users"][VIEWER.user_id]["name"] == NAMES[VIEWER]
    assert listed["users"][SUP.user_id]["org_name"] == "福山市"
