"""Issue 7 item 2: nobody acts on an account holding grants (or an operator role) they do not
hold themselves: the rule that already stopped granting more than one holds (seed 001 別表1-1
8(3)) now covers reset, disable, edit, grant and revoke alike."""

from __future__ import annotations

import pytest

from tests.auth.harness import PASSWORD, Harness

pytestmark = pytest.mark.anyio

URL = "/api/v1/users"


async def _world(h: Harness) -> dict[str, str]:
    ops = await h.org("operator", "運用管理者")
    org = await h.org("orderer", "B市")
    return {
        "org": org,
        "root": await h.user("root", ops),
        # users.manage only: the attacker of the report
        "clerk": await h.user("clerk", org, grants=("users.manage",)),
        # more authority than the clerk
        "boss": await h.user("boss", org, grants=("users.manage", "grants.manage", "audit.read")),
        # the same authority as the clerk: still manageable by them
        "peer": await h.user("peer", org, grants=("users.manage",)),
        "plain": await h.user("plain", org),
    }


async def test_reset_of_a_stronger_account_is_refused(h: Harness) -> None:
    w = await _world(h)
    clerk = await h.as_user("clerk")
    boss_session = await h.as_user("boss")
    r = await clerk.post(f"{URL}/{w['boss']}/reset-password")
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert "機能権限" in r.json()["detail"]
    # nothing changed: the boss's password and sessions stand, nothing audited
    assert (await boss_session.get("/api/v1/auth/me")).status_code == 200
    assert (await h.login("boss", PASSWORD))[1].status_code == 200
    assert await h.events("users.password_reset") == []


async def test_disable_and_edit_of_a_stronger_account_are_refused(h: Harness) -> None:
    w = await _world(h)
    clerk = await h.as_user("clerk")
    url = f"{URL}/{w['boss']}"
    version = (await clerk.get(url)).json()["version"]  # reading stays allowed
    r = await clerk.patch(url, json={"version": version, "email": "clerk@example.jp"})
    assert r.status_code == 403
    assert (await clerk.post(f"{url}/disable")).status_code == 403
    assert (await h.stored_user(w["boss"])).email is None
    assert await h.events("users.updated") == []


async def test_equal_or_weaker_accounts_stay_manageable(h: Harness) -> None:
    w = await _world(h)
    clerk = await h.as_user("clerk")
    for target in ("peer", "plain"):
        r = await clerk.post(f"{URL}/{w[target]}/reset-password")
        assert r.status_code == 200, r.text
    root = await h.as_user("root")
    assert (await root.post(f"{URL}/{w['boss']}/reset-password")).status_code == 200


async def test_grants_of_a_stronger_account_are_out_of_reach(h: Harness) -> None:
    w = await _world(h)
    # holds grants.manage but not audit.read, which the boss holds
    granter = await h.user("granter", w["org"], grants=("grants.manage", "users.manage"))
    assert granter
    c = await h.as_user("granter")
    url = f"{URL}/{w['boss']}/grants"
    assert (await c.get(url)).status_code == 200  # reading is not acting
    assert (await c.delete(f"{url}/users.manage")).status_code == 403
    assert (await c.post(url, json={"grant": "users.manage"})).status_code == 403
    # the plain user holds nothing the granter lacks
    r = await c.post(f"{URL}/{w['plain']}/grants", json={"grant": "users.manage"})
    assert r.status_code == 201, r.text
