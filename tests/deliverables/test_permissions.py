"""Permission matrix of the deliverables router (電子納品 package checks) on the app as
``create_app`` builds it, with real sign-ins (``tests.support.perms``).

Reading a check needs ``files.read`` on its work, running one ``files.write``; a user who may
not read the work gets 404 (architecture.md, Permissions), a viewer member who may not write
gets 403. The 受領確認 (issue 8 §2) is the orderer's: the work's supervisor or a
``works.manage`` holder; the contractor member, who reads the check, gets 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from api.deliverables.router import router as deliverables_router
from api.deliverables.router_checks import router as checks_router
from tests.support.perms import Ids, Row, World, check_matrix, jpeg, perm_world, uncovered

pytestmark = pytest.mark.anyio

ROWS = [
    Row("GET", "/works/{work}/deliverables", allowed="viewer", refused=404, hidden="deliverable"),
    Row("POST", "/works/{work}/deliverables", allowed="builder", denied="viewer", ok=201,
        json={}),
    Row("POST", "/works/{work}/deliverables", allowed="supervisor", refused=404, ok=201,
        json={"profile": "maff"}),
    Row("GET", "/deliverables/{deliverable}", allowed="viewer", refused=404),
    Row("POST", "/deliverables/{deliverable}/analyse", allowed="builder", denied="viewer",
        ok=201, json={"profile": "maff"}),
    Row("POST", "/deliverables/{deliverable}/analyse", allowed="manager", refused=404, ok=201,
        json={}),
    Row("GET", "/deliverables/{deliverable}/photo-tree", allowed="viewer", refused=404),
    Row("GET", "/deliverables/{deliverable}/photo-tree?representative=true", allowed="reader",
        refused=404),
    Row("GET", "/deliverables/{deliverable}/meet-tree", allowed="viewer", refused=404),
    Row("GET", "/deliverables/{deliverable}/othrs-tree", allowed="viewer", refused=404),
    Row("GET", "/deliverables/{deliverable}/report.html", allowed="viewer", refused=404),
    Row("GET", "/deliverables/{deliverable}/report.html?severity=E", allowed="reader",
        refused=404),
    Row("GET", "/works/{work}/checks", allowed="builder", refused=404, hidden="deliverable"),
    Row("GET", "/deliverables/{deliverable}/report.pdf", allowed="builder", refused=404),
    Row("POST", "/deliverables/{deliverable}/receipt", allowed="supervisor", denied="builder",
        json={"version": 1, "note": "受領しました"}, fresh=True),
    Row("POST", "/deliverables/{deliverable}/receipt", allowed="manager", denied="viewer",
        json={"version": 1}, fresh=True),
    Row("POST", "/works/{work}/photo-book", allowed="builder", refused=404,
        json=lambda ids: {"node_ids": [ids["photo"]]}),
    Row("DELETE", "/deliverables/{deliverable}/receipt?version=2", allowed="manager",
        denied="builder", fresh=True),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_deliverables_matrix(world: World) -> None:
    work = await world.work()
    [photo] = await world.upload(work["id"], {"P0000001.JPG": (jpeg(), "image/jpeg")})
    ids: Ids = {
        "work": work["id"],
        "deliverable": await world.deliverable(work["id"]),
        "photo": photo["id"],
    }

    async def fresh() -> Ids:
        # a check of its own, already received (version 2) for the DELETE row; the POST
        # rows receive their own check's version 1
        deliverable = await world.deliverable(work["id"])
        return {"deliverable": deliverable}

    await check_matrix(world, ROWS[:-1], ids, fresh)

    async def received() -> Ids:
        deliverable = await world.deliverable(work["id"])
        r = await world.client("supervisor").post(
            f"/api/v1/deliverables/{deliverable}/receipt", json={"version": 1}
        )
        assert r.status_code == 200, r.text
        return {"deliverable": deliverable}

    await check_matrix(world, ROWS[-1:], ids, received)


def test_every_deliverables_endpoint_has_a_row() -> None:
    assert uncovered([deliverables_router, checks_router], ROWS) == []
