"""Permission matrix of the audit router on the app as ``create_app`` builds it, with real
sign-ins (``tests.support.perms``): anonymous 401, a user without ``audit.read`` 403, the
holder of ``audit.read`` 200; another organization's holder sees none of this organization's
events (issue 7 item 1).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from api.audit.router import router as audit_router
from api.config import Settings
from tests.support.perms import API, ORDERER, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio


def audit(path: str) -> Row:
    # other=None: another organization's holder is the test below
    return Row("GET", path, allowed="auditor", other=None, hidden="work")


ROWS = [
    audit("/audit/events?limit=500"),
    audit("/audit/events?limit=500&action=works.created"),
    audit("/audit/events/export"),
    audit("/audit/events/export?format=csv"),
    Row("GET", "/audit/actions", allowed="auditor", other=None),
]


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_audit_matrix(world: World) -> None:
    work = await world.work()
    await check_matrix(world, ROWS, {"work": work["id"]})


def test_every_audit_endpoint_has_a_row() -> None:
    assert uncovered([audit_router], ROWS) == []


async def test_other_organization_sees_none_of_this_organizations_events(world: World) -> None:
    """``outsider`` holds ``audit.read`` in another organization: neither the list nor the
    export shows an event by this organization's users or on its work; their own sign-in
    shows (the control)."""
    work = await world.work()
    ours = {a.user_id for a in world.actors.values() if a.org_id == world.orgs[ORDERER]}
    outsider = world.client("outsider")
    r = await outsider.get(f"{API}/audit/events", params={"limit": 500})
    assert r.status_code == 200, r.text
    listed = r.json()["items"]
    r = await outsider.get(f"{API}/audit/events/export")
    assert r.status_code == 200, r.text
    exported = [json.loads(line) for line in r.text.splitlines() if line]
    for events in (listed, exported):
        assert any(e["actor_id"] == world.user_id("outsider") for e in events)
        leaked = [
            (e["action"], e["target"])
            for e in events
            if e["actor_id"] in ours or work["id"] in e["target"]
        ]
        assert leaked == []
