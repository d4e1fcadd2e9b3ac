"""API tokens (issue 7 item 12): a read-only scope, a lifetime shorter than the maximum, a list
of one's tokens without secrets, and revoking one. Browser sessions keep full rights."""

from __future__ import annotations

import pytest

from storage.query import Query
from tests.auth.harness import PASSWORD, Harness

pytestmark = pytest.mark.anyio


async def token(h: Harness, login_id: str, **extra: object) -> tuple[dict[str, str], dict]:
    body = {"login_id": login_id, "password": PASSWORD, "mode": "token", **extra}
    r = await h.client().post("/api/v1/auth/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()


async def test_read_token_reads_but_never_writes(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("reader", org, grants=("users.manage",))
    headers, body = await token(h, "reader", scope="read", token_name="集計スクリプト")
    assert body["scope"] == "read"
    c = h.client()
    assert (await c.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await c.get(f"/api/v1/users/{uid}", headers=headers)).status_code == 200
    new_user = {"login_id": "newbie", "name": "新人", "org_id": org}
    r = await c.post("/api/v1/users", json=new_user, headers=headers)
    assert r.status_code == 403
    assert r.json()["code"] == "token_read_only"
    assert "読み取り専用" in r.json()["title"]
    r = await c.patch(f"/api/v1/users/{uid}", json={"version": 1, "name": "x"}, headers=headers)
    assert r.json()["code"] == "token_read_only"
    # the same user's full token (the default) and session write as before
    full, body = await token(h, "reader")
    assert body["scope"] == "full"
    assert (await c.post("/api/v1/users", json=new_user, headers=full)).status_code == 201
    session = await h.as_user("reader")
    assert (await session.get("/api/v1/auth/tokens")).status_code == 200
    # a read token may still give its rights up
    assert (await c.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await c.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_list_and_revoke_one_token(h: Harness) -> None:
    org = await h.org()
    await h.user("owner", org)
    await h.user("other", org)
    ci, _ = await token(h, "owner", token_name="CI", ttl_days=7)
    h.clock.advance(minutes=1)
    backup, _ = await token(h, "owner", scope="read", token_name="バックアップ")
    theirs, their_body = await token(h, "other")
    session = await h.as_user("owner")
    r = await session.get("/api/v1/auth/tokens")
    assert r.status_code == 200
    listed = r.json()
    assert [(t["name"], t["scope"], t["current"]) for t in listed] == [
        ("バックアップ", "read", False),
        ("CI", "full", False),
    ]
    ci_item = listed[1]
    assert ci_item["expires_at"] == "2026-04-08T09:00:00.000000Z"  # START + 7 days
    # no secret and no stored key in the list: ids are neither the token nor its hash
    stored = await h.container.records.find("api_tokens", Query(limit=100))
    secrets = {ci["Authorization"][7:], backup["Authorization"][7:]}
    text = r.text
    assert not any(s in text for s in secrets)
    assert not any(rec["id"] in text for rec in stored.items)
    # a token sees itself marked as current
    mine = (await h.client().get("/api/v1/auth/tokens", headers=backup)).json()
    assert [t["current"] for t in mine] == [True, False]
    # revoke the CI token only
    url = f"/api/v1/auth/tokens/{ci_item['id']}"
    assert (await session.delete(url)).status_code == 204
    assert (await h.client().get("/api/v1/auth/me", headers=ci)).status_code == 401
    assert (await h.client().get("/api/v1/auth/me", headers=backup)).status_code == 200
    assert (await session.delete(url)).status_code == 404
    # another user's token id answers like an unknown one
    r = await session.delete(f"/api/v1/auth/tokens/{their_body['token_id']}")
    assert r.status_code == 404
    assert (await h.client().get("/api/v1/auth/me", headers=theirs)).status_code == 200
    assert (await h.client().delete(url)).status_code == 401
    [event] = await h.events("auth.token_revoked")
    assert event["detail"] == {"token_id": ci_item["id"], "name": "CI"}


async def test_token_options_are_checked(h: Harness) -> None:
    org = await h.org()
    await h.user("opts", org)
    c = h.client()
    base = {"login_id": "opts", "password": PASSWORD}
    r = await c.post("/api/v1/auth/login", json={**base, "mode": "token", "ttl_days": 91})
    assert r.status_code == 400
    assert "90日以内" in r.json()["detail"]
    r = await c.post("/api/v1/auth/login", json={**base, "scope": "read"})  # a session
    assert r.status_code == 400
    assert "mode=token" in r.json()["detail"]
    r = await c.post("/api/v1/auth/login", json={**base, "mode": "token", "scope": "admin"})
    assert r.status_code == 422
    assert await h.container.records.count("api_tokens") == 0
    assert (await c.get("/api/v1/auth/tokens")).status_code == 401


async def test_tokens_issued_before_scopes_keep_full_rights(h: Harness) -> None:
    org = await h.org()
    await h.user("legacy", org, grants=("users.manage",))
    headers, _ = await token(h, "legacy")
    [record] = (await h.container.records.find("api_tokens", Query(limit=10))).items
    await h.container.records.update("api_tokens", record["id"], {"scope": None}, 1)
    new_user = {"login_id": "newbie", "name": "新人", "org_id": org}
    r = await h.client().post("/api/v1/users", json=new_user, headers=headers)
    assert r.status_code == 201, r.text
