"""Permission rows of the auth router on the app as ``create_app`` builds it, with real
sign-ins (``tests.support.perms``): signing in and the password rules are public, everything
else answers 401 to the anonymous. Nothing here belongs to an organization, so the rows have
no other-organization or without-the-right column.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.auth.router import router as auth_router
from api.config import Settings
from tests.support.perms import API, PASSWORD, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio


def signed_in(method: str, path: str, ok: int = 200, **kw: Any) -> Row:
    return Row(method, path, allowed="plain", denied=None, other=None, ok=ok, **kw)


ROWS = [
    signed_in("GET", "/auth/me"),
    signed_in("POST", "/auth/password-policy/check", json={"password": "short"}),
    signed_in("GET", "/auth/tokens"),
    # before the password change (it ends the other tokens); one's own tokens only:
    # another user's token id answers 404 (tested in test_tokens.py)
    signed_in("DELETE", "/auth/tokens/{token}", 204),
    signed_in("POST", "/auth/password",
              json={"current_password": PASSWORD, "new_password": "Kasuga-Road-2026-next"}),
    signed_in("POST", "/auth/logout", 204),  # last: it ends the plain user's token
]  # fmt: skip
PUBLIC = [("POST", "/auth/login"), ("GET", "/auth/password-policy")]


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    async with perm_world(settings, users=("plain",)) as w:
        yield w


async def test_auth_matrix(world: World) -> None:
    # A second token of the plain user, for the revoke row (not the one the matrix uses).
    r = await world.anonymous.post(
        f"{API}/auth/login",
        json={"login_id": "plain", "password": PASSWORD, "mode": "token", "token_name": "CI"},
    )
    assert r.status_code == 200, r.text
    tokens = (await world.client("plain").get(f"{API}/auth/tokens")).json()
    [spare] = [t["id"] for t in tokens if not t["current"] and t.get("name") == "CI"]
    await check_matrix(world, ROWS, {"token": spare})
    r = await world.client("plain").get(f"{API}/auth/me")
    assert r.status_code == 401  # logged out for good


async def test_public_endpoints_answer_the_anonymous(world: World) -> None:
    r = await world.anonymous.get(f"{API}/auth/password-policy")
    assert r.status_code == 200
    r = await world.anonymous.post(
        f"{API}/auth/login", json={"login_id": "plain", "password": PASSWORD, "mode": "token"}
    )
    assert r.status_code == 200, r.text


def test_every_auth_endpoint_has_a_row() -> None:
    public = [Row(method, path, allowed="") for method, path in PUBLIC]
    assert uncovered([auth_router], [*ROWS, *public]) == []
