"""Permission matrix of the works router on the app as ``create_app`` builds it, with real
sign-ins (``tests.support.perms``).

A work is read by its members and the orderer's ``works.read_org``/``works.manage`` holders;
anyone else gets 404 (architecture.md, Permissions). Changes need the supervisor role or
``works.manage`` in the orderer (a viewer member gets 403); a legal hold needs ``works.manage``
(seed 000: the orderer keeps the archive). Lists answer 200 to everyone signed in, filtered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from api.works.router import router as works_router
from tests.support.perms import (
    Ids,
    Row,
    World,
    check_matrix,
    perm_world,
    uncovered,
    work_body,
)

pytestmark = pytest.mark.anyio


def version(ids: Ids) -> int:
    return int(ids["version"])


ROWS = [
    Row("GET", "/works", allowed="viewer", denied="plain", refused=200, other_status=200,
        hidden="work"),
    Row("GET", "/works?q=春日町", allowed="viewer", denied="plain", refused=200,
        other_status=200, hidden="work"),
    Row("POST", "/works", allowed="supervisor", ok=201, other_status=403,
        json=work_body),
    Row("GET", "/works/{work}", allowed="viewer", refused=404),
    Row("PATCH", "/works/{work}", allowed="supervisor", denied="viewer", fresh=True,
        json=lambda ids: {"version": version(ids), "title": "春日町道路標示工事（変更）"}),
    Row("POST", "/works/{work}/transition", allowed="manager", denied="viewer", fresh=True,
        json=lambda ids: {"to": "in_progress", "version": version(ids)}),
    Row("DELETE", "/works/{work}?version={version}", allowed="manager", denied="viewer",
        ok=204, fresh=True),
    Row("POST", "/works/{work}/legal-hold", allowed="manager", denied="supervisor",
        fresh=True, json={"reason": "訴訟のため保全"}),
    Row("DELETE", "/works/{work}/legal-hold", allowed="manager", denied="supervisor",
        fresh=True, json={"reason": "訴訟終了"}),
    Row("GET", "/works/{work}/parties", allowed="builder", refused=404),
    Row("GET", "/works/{work}/members", allowed="viewer", refused=404),
    Row("POST", "/works/{work}/members", allowed="manager", denied="viewer", ok=201,
        fresh=True, json=lambda ids: {"user_id": ids["reader"], "role": "viewer"}),
    Row("PATCH", "/works/{work}/members/{viewer}", allowed="supervisor", denied="builder",
        fresh=True, json={"role": "inspector", "version": 1}),
    Row("DELETE", "/works/{work}/members/{viewer}", allowed="supervisor", denied="builder",
        ok=204, fresh=True),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_works_matrix(world: World) -> None:
    async def fresh() -> Ids:
        work = await world.work()
        return {"work": work["id"], "version": str(work["version"])}

    async def fresh_held() -> Ids:
        work = await world.work()
        hold = await world.client("manager").post(
            f"/api/v1/works/{work['id']}/legal-hold", json={"reason": "訴訟のため保全"}
        )
        assert hold.status_code == 200, hold.text
        return {"work": work["id"], "version": str(hold.json()["version"])}

    release = [r for r in ROWS if r.method == "DELETE" and r.path.endswith("/legal-hold")]
    work = await world.work()
    ids = {**world.base_ids(), "work": work["id"], "version": str(work["version"])}
    await check_matrix(world, [r for r in ROWS if r not in release], ids, fresh)
    await check_matrix(world, release, ids, fresh_held)


def test_every_works_endpoint_has_a_row() -> None:
    assert uncovered([works_router], ROWS) == []
