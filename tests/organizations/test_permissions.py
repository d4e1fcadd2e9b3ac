"""Permission matrix of the organizations router on the app as ``create_app`` builds it, with
real sign-ins (``tests.support.perms``).

Organizations and offices are master data the operators maintain (seed 001 別表1-1 8(4)):
only an operator changes them, so even the organization's holder of every grant it has
(``useradmin``) gets 403. Anyone reads their own organization; another organization's user
gets the answer an unknown id gets (403), so nothing about it is revealed; the list shows
the caller's own organization only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from api.kit.ids import new_id
from api.organizations.router import router as organizations_router
from tests.support.perms import API, Ids, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio


def read(path: str, **kw: Any) -> Row:
    return Row("GET", path, allowed="plain", denied=None, other_status=403, **kw)


def operate(method: str, path: str, ok: int = 200, **kw: Any) -> Row:
    return Row(method, path, allowed="operator", denied="useradmin", other_status=403, ok=ok,
               **kw)  # fmt: skip


ROWS = [
    Row("GET", "/organizations", allowed="plain", denied=None, other_status=200,
        hidden="orderer"),
    operate("POST", "/organizations", 201, json={"kind": "contractor", "name": "新市建設"}),
    read("/organizations/{orderer}"),
    operate("PATCH", "/organizations/{orderer}",
            json=lambda ids: {"version": int(ids["org_version"]), "phone": "084-928-1000"}),
    operate("DELETE", "/organizations/{org}?version={org_version}", 204, fresh=True),
    read("/organizations/{orderer}/offices"),
    operate("POST", "/organizations/{orderer}/offices", 201, json={"name": "西部建設事務所"}),
    read("/organizations/{orderer}/offices/{office}"),
    operate("PATCH", "/organizations/{orderer}/offices/{office}",
            json=lambda ids: {"version": int(ids["office_version"]), "name": "東部建設局"}),
    operate("DELETE", "/organizations/{orderer}/offices/{office}?version={office_version}",
            204, fresh=True),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_organizations_matrix(world: World) -> None:
    operator = world.operator
    base = world.base_ids()

    async def fresh() -> Ids:
        """An unused organization (deletable) and an unused office of the orderer."""
        org = await operator.post(
            f"{API}/organizations", json={"kind": "issuer", "name": f"保証{new_id()[-4:]}"}
        )
        assert org.status_code == 201, org.text
        office = await operator.post(
            f"{API}/organizations/{base['orderer']}/offices", json={"name": f"支所{new_id()[-4:]}"}
        )
        assert office.status_code == 201, office.text
        return {
            "org": org.json()["id"],
            "org_version": str(org.json()["version"]),
            "office": office.json()["id"],
            "office_version": str(office.json()["version"]),
        }

    org = await operator.get(f"{API}/organizations/{base['orderer']}")
    office = await operator.get(f"{API}/organizations/{base['orderer']}/offices/{base['office']}")
    ids = {
        **base,
        "org_version": str(org.json()["version"]),
        "office_version": str(office.json()["version"]),
    }
    await check_matrix(world, ROWS, ids, fresh)


def test_every_organizations_endpoint_has_a_row() -> None:
    assert uncovered([organizations_router], ROWS) == []


async def test_another_organization_gets_the_answer_of_an_unknown_id(world: World) -> None:
    outsider = world.client("outsider")
    base = world.base_ids()
    for path in ("/organizations/{}", "/organizations/{}/offices"):
        real = await outsider.get(API + path.format(base["orderer"]))
        none = await outsider.get(API + path.format(new_id()))
        answers = [(r.status_code, r.json()["code"]) for r in (real, none)]
        assert answers[0] == answers[1], path
