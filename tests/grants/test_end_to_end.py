"""One path through real login: the bootstrap operator creates an orderer organization and a
user, grants ``grants.manage``; that user, logged in with a bearer token, grants within their
organization and is refused outside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from tests.organizations.harness import Harness, harness

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "kura-End2End-passphrase!"


@pytest.fixture
async def real(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings, override=False) as h:
        yield h


async def login(h: Harness, login_id: str, password: str) -> dict[str, str]:
    """Log in with a token; change the one-time password first when asked to."""
    body = {"login_id": login_id, "password": password, "mode": "token"}
    r = await h.client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    if r.json()["password_change_required"]:
        change = {"current_password": password, "new_password": NEW_PASSWORD}
        r = await h.client.post("/api/v1/auth/password", json=change, headers=headers)
        assert r.status_code == 200, r.text
        return await login(h, login_id, NEW_PASSWORD)
    return headers


async def add_user(h: Harness, login_id: str, org_id: str) -> tuple[str, str]:
    from api.users.schemas import UserCreate
    from api.users.service import UserService

    user, password = await UserService.of(h.container).create_as(
        "system:test", UserCreate(login_id=login_id, name="利用者", org_id=org_id)
    )
    return user.id, password


async def test_grants_through_real_login(real: Harness) -> None:
    from api.users.bootstrap import ADMIN_LOGIN_ID, ensure_operator

    h = real
    admin_password = await ensure_operator(h.container)
    assert admin_password
    admin = await login(h, ADMIN_LOGIN_ID, admin_password)
    orgs: list[dict[str, Any]] = []
    for name, code in (("広島県", "34000001"), ("呉市", "34202001")):
        body = {"kind": "orderer", "name": name, "code": code}
        r = await h.client.post("/api/v1/organizations", json=body, headers=admin)
        assert r.status_code == 201, r.text
        orgs.append(r.json())
    alice_id, alice_pw = await add_user(h, "alice01", orgs[0]["id"])
    bob_id, _ = await add_user(h, "bob01", orgs[0]["id"])
    carol_id, _ = await add_user(h, "carol01", orgs[1]["id"])
    for grant in ("grants.manage", "works.create"):
        r = await h.client.post(
            f"/api/v1/users/{alice_id}/grants", json={"grant": grant}, headers=admin
        )
        assert r.status_code == 201, r.text

    alice = await login(h, "alice01", alice_pw)
    r = await h.client.post(
        f"/api/v1/users/{bob_id}/grants", json={"grant": "works.create"}, headers=alice
    )
    assert r.status_code == 201, r.text
    r = await h.client.post(
        f"/api/v1/users/{carol_id}/grants", json={"grant": "works.create"}, headers=alice
    )
    assert r.status_code == 404  # another organization's user: as if unknown
    r = await h.client.get(f"/api/v1/organizations/{orgs[0]['id']}", headers=alice)
    assert r.status_code == 200
    r = await h.client.get(f"/api/v1/organizations/{orgs[1]['id']}", headers=alice)
    assert r.status_code == 403
    r = await h.client.get("/api/v1/master/calendar", params={"year": 2026}, headers=alice)
    assert r.status_code == 200
    assert (await h.client.get("/api/v1/master/positions")).status_code == 401
