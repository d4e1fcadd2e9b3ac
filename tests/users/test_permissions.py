"""Permission matrix of the users and grants routers on the app as ``create_app`` builds it,
with real sign-ins (``tests.support.perms``).

A holder of authority manages their own organization's users (``users.manage``) and grants
functions (``grants.manage``) that they hold themselves (seed 001 別表1-1 8(1)(3)). Another
organization's user, even one holding every grant, is refused with the same answer an unknown
id gets (404, issue 7 item 10), so nothing about this organization's users is revealed; lists
answer with the caller's own organization only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from api.grants.router import router as grants_router
from api.kit.ids import new_id
from api.users.router import router as users_router
from tests.support.perms import (
    API,
    ORDERER,
    Ids,
    Row,
    World,
    check_matrix,
    perm_world,
    uncovered,
)

pytestmark = pytest.mark.anyio


def admin(method: str, path: str, ok: int = 200, **kw: Any) -> Row:
    """Managed by ``useradmin`` (users.manage, grants.manage); a same-organization user
    without the grant gets 403, the other organization's user 404 like an unknown id."""
    return Row(method, path, allowed="useradmin", ok=ok, **kw)


ROWS = [
    # users
    # creating a user in another organization names that organization: 403 reveals nothing
    admin("POST", "/users", 201, other_status=403,
          json=lambda ids: {"login_id": "kasuga01", "name": "春日 一郎", "org_id": ids[ORDERER]}),
    Row("GET", "/users", allowed="useradmin", other_status=200, hidden="target"),
    Row("GET", "/users?org_id={orderer}", allowed="useradmin", other_status=403, hidden="target"),
    admin("GET", "/users/{target}"),
    admin("PATCH", "/users/{target}", fresh=True,
          json=lambda ids: {"version": int(ids["version"]), "name": "春日 次郎"}),
    admin("POST", "/users/{target}/disable", fresh=True),
    admin("POST", "/users/{target}/reset-password", fresh=True),
    # grants
    Row("GET", "/grants", allowed="plain", denied=None, other=None),
    admin("GET", "/users/{target}/grants"),
    admin("POST", "/users/{target}/grants", 201, fresh=True, json={"grant": "users.manage"}),
    admin("DELETE", "/users/{target}/grants/{grant}", 204, fresh=True),
    # only grants one holds may be given (seed 001 別表1-1 8(3)): the operator may
    Row("POST", "/users/{target}/grants", allowed="operator", denied="useradmin", ok=201,
        fresh=True, json={"grant": "audit.read"}),
]  # fmt: skip


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings) as w:
        yield w


async def test_users_and_grants_matrix(world: World) -> None:
    operator = world.operator
    made = iter(range(1, 100))

    async def fresh() -> Ids:
        """A new user of the orderer holding ``works.read_org`` (for the revoke row)."""
        body = {"login_id": f"fresh{next(made):02d}", "name": "福山 花子", "org_id": ids[ORDERER]}
        r = await operator.post(f"{API}/users", json=body)
        assert r.status_code == 201, r.text
        user = r.json()["user"]
        r = await operator.post(
            f"{API}/users/{user['id']}/grants", json={"grant": "works.read_org"}
        )
        assert r.status_code == 201, r.text
        return {"target": user["id"], "version": str(user["version"])}

    ids: Ids = {**world.base_ids(), "target": world.user_id("viewer"), "grant": "works.read_org"}
    await check_matrix(world, ROWS, ids, fresh)


def test_every_users_and_grants_endpoint_has_a_row() -> None:
    assert uncovered([users_router, grants_router], ROWS) == []


async def test_another_organization_gets_the_answer_of_an_unknown_id(world: World) -> None:
    """The other organization's refusal reveals nothing: it is the answer for an id that
    does not exist."""
    outsider = world.client("outsider")
    target, unknown = world.user_id("viewer"), new_id()
    for path in ("/users/{}", "/users/{}/grants"):
        real = await outsider.get(API + path.format(target))
        none = await outsider.get(API + path.format(unknown))
        answers = [(r.status_code, r.json()["code"]) for r in (real, none)]
        assert answers[0] == answers[1], path
