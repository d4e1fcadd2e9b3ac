"""One end-to-end path through real login (session cookie + CSRF, and a bearer token)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from tests.auth.harness import Harness, harness
from tests.works.harness import work_body

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ah(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def test_works_through_real_login(ah: Harness) -> None:
    orderer = await ah.org("orderer", "広島県")
    other = await ah.org("orderer", "岡山県")
    contractor = await ah.org("contractor", "春日建設")
    await ah.user("clerk01", orderer, grants=("works.create",))
    await ah.user("peer01", orderer)
    await ah.user("outsider", other, grants=("works.manage",))
    clerk = await ah.as_user("clerk01")  # session cookie with CSRF header
    body = work_body(orderer_org_id=orderer, office_id=None, contractor_org_ids=[contractor])
    created = await clerk.post("/api/v1/works", json=body)
    assert created.status_code == 201, created.text
    work_id = created.json()["id"]
    assert (await clerk.get(f"/api/v1/works/{work_id}")).status_code == 200

    outsider, r = await ah.login("outsider", mode="token")
    assert r.status_code == 200
    assert (await outsider.get(f"/api/v1/works/{work_id}")).status_code == 404
    assert (await outsider.get("/api/v1/works")).json()["items"] == []
    peer = await ah.as_user("peer01")
    assert (await peer.get(f"/api/v1/works/{work_id}")).status_code == 404
    anonymous = ah.client()
    assert (await anonymous.get("/api/v1/works")).status_code == 401
    [event] = await ah.events("works.created")
    assert event["actor_login"] == "clerk01"
