"""Login, lockout, throttling, sessions, CSRF, bearer tokens and logout over the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.auth import passwords
from api.auth.throttle import IP_LIMIT
from storage.query import Query
from tests.auth.harness import PASSWORD, Harness

pytestmark = pytest.mark.anyio


async def test_session_login_sets_cookies_and_audits(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("tanaka", org)
    c, r = await h.login("tanaka")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["login_id"] == "tanaka"
    assert "password_hash" not in body["user"]
    assert body["password_change_required"] is False
    assert body["csrf_token"]
    assert body["token"] is None
    cookies = r.headers.get_list("set-cookie")
    session = next(x for x in cookies if x.startswith("kura_session="))
    csrf = next(x for x in cookies if x.startswith("kura_csrf="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "Path=/" in session
    assert "HttpOnly" not in csrf
    assert "Secure" not in session  # settings fixture: cookie_secure=False
    me = await c.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == uid
    assert me.json()["org_kind"] == "orderer"
    events = await h.events("auth.logged_in")
    assert [e["actor_id"] for e in events] == [uid]


async def test_secure_cookie_by_default(h: Harness) -> None:
    # Production default: cookie_secure=True.
    assert type(h.container.settings.auth)().cookie_secure is True


async def test_anonymous_me_is_401(h: Harness) -> None:
    r = await h.client().get("/api/v1/auth/me")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_unknown_id_and_wrong_password_answer_the_same(h: Harness) -> None:
    org = await h.org()
    await h.user("suzuki", org)
    _, wrong = await h.login("suzuki", "not-the-password-1")
    _, unknown = await h.login("nobody", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    strip = {"instance"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert wrong.json()["title"] == "IDまたはパスワードが正しくありません。"
    reasons = sorted(e["detail"]["reason"] for e in await h.events("auth.login_failed"))
    assert reasons == ["unknown_id", "wrong_password"]


async def test_lockout_after_threshold_then_unlock(h: Harness) -> None:
    threshold = h.container.settings.auth.lockout_threshold
    org = await h.org()
    uid = await h.user("sato", org)
    for _ in range(threshold - 1):
        _, r = await h.login("sato", "wrong-password-000")
        assert r.status_code == 401
    _, r = await h.login("sato", "wrong-password-000")
    assert r.status_code == 423
    assert r.json()["code"] == "account_locked"
    assert "ロック" in r.json()["title"]
    assert "15分" in r.json()["detail"]
    # Even the right password is refused while locked.
    _, r = await h.login("sato", PASSWORD)
    assert r.status_code == 423
    locked = await h.events("auth.locked_out")
    assert [e["target"] for e in locked] == [f"users/{uid}"]
    h.clock.advance(minutes=h.container.settings.auth.lockout_minutes + 1)
    _, r = await h.login("sato", PASSWORD)
    assert r.status_code == 200
    assert (await h.stored_user(uid)).failed_attempts == 0


async def test_success_resets_failure_count(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("ito", org)
    await h.login("ito", "wrong-password-000")
    assert (await h.stored_user(uid)).failed_attempts == 1
    await h.login("ito")
    assert (await h.stored_user(uid)).failed_attempts == 0


async def test_unknown_id_locks_like_a_real_one(h: Harness) -> None:
    threshold = h.container.settings.auth.lockout_threshold
    statuses = [
        (await h.login("ghost", "wrong-password-000"))[1].status_code for _ in range(threshold)
    ]
    assert statuses == [401] * (threshold - 1) + [423]


async def test_per_ip_throttle(h: Harness) -> None:
    for i in range(IP_LIMIT):
        _, r = await h.login(f"spray{i}", "wrong-password-000")
        assert r.status_code == 401
    org = await h.org()
    await h.user("kato", org)
    _, r = await h.login("kato")
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_requests"
    h.clock.advance(minutes=16)
    _, r = await h.login("kato")
    assert r.status_code == 200


async def test_disabled_user_gets_the_same_message(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("yoshida", org)
    user = await h.stored_user(uid)
    await h.container.records.update("users", uid, {"status": "disabled"}, user.version)
    _, r = await h.login("yoshida")
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"


async def test_rehash_when_parameters_changed(h: Harness) -> None:
    org = await h.org()
    old = passwords.Hasher(time_cost=2, memory_kib=8192, parallelism=1)
    uid = await h.user("yamada", org, hasher=old)
    assert "t=2" in (await h.stored_user(uid)).password_hash
    _, r = await h.login("yamada")
    assert r.status_code == 200
    stored = (await h.stored_user(uid)).password_hash
    assert "t=1" in stored
    assert "m=8192" in stored


async def test_csrf_required_for_unsafe_methods_with_cookie(h: Harness) -> None:
    org = await h.org()
    await h.user("csrf", org)
    c = await h.as_user("csrf")
    token = c.headers.pop("X-CSRF-Token")
    url = "/api/v1/auth/password-policy/check"
    r = await c.post(url, json={"password": "x"})
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
    r = await c.post(url, json={"password": "x"}, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
    # The csrf cookie alone (a forged form cannot set headers) is not enough.
    assert c.cookies.get("kura_csrf") == token
    r = await c.post(url, json={"password": "x"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    # Safe methods need no token.
    assert (await c.get("/api/v1/auth/me")).status_code == 200


async def test_bearer_token_works_without_csrf(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("api", org)
    c, r = await h.login("api", mode="token")
    assert r.status_code == 200
    assert r.json()["token"].startswith("kura_")
    assert r.json()["csrf_token"] is None
    assert "set-cookie" not in r.headers
    r = await c.post("/api/v1/auth/password-policy/check", json={"password": "x"})
    assert r.status_code == 200
    assert (await c.get("/api/v1/auth/me")).json()["user"]["id"] == uid
    # The stored token is hashed: the secret is not in the database.
    stored = await h.container.records.find("api_tokens", Query())
    assert all(rec["id"] != c.headers["Authorization"][7:] for rec in stored.items)


async def test_invalid_bearer_is_401(h: Harness) -> None:
    c = h.client()
    r = await c.get("/api/v1/auth/me", headers={"Authorization": "Bearer kura_nope"})
    assert r.status_code == 401
    r = await c.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


async def test_logout_revokes_session_and_token(h: Harness) -> None:
    org = await h.org()
    await h.user("bye", org)
    c = await h.as_user("bye")
    r = await c.post("/api/v1/auth/logout")
    assert r.status_code == 204
    session_cookie = next(x for x in r.headers.get_list("set-cookie") if "kura_session" in x)
    assert "Max-Age=0" in session_cookie
    assert (await c.get("/api/v1/auth/me")).status_code == 401
    t, _ = await h.login("bye", mode="token")
    assert (await t.post("/api/v1/auth/logout")).status_code == 204
    assert (await t.get("/api/v1/auth/me")).status_code == 401
    assert len(await h.events("auth.logged_out")) == 2
    assert (await h.client().post("/api/v1/auth/logout")).status_code == 401


async def test_stolen_cookie_after_logout_is_dead(h: Harness) -> None:
    org = await h.org()
    await h.user("thief", org)
    c = await h.as_user("thief")
    secret = c.cookies.get("kura_session")
    await c.post("/api/v1/auth/logout")
    other = h.client()
    other.cookies.set("kura_session", secret or "")
    assert (await other.get("/api/v1/auth/me")).status_code == 401


async def test_session_expires(h: Harness) -> None:
    org = await h.org()
    await h.user("late", org)
    c = await h.as_user("late")
    h.clock.advance(minutes=h.container.settings.auth.session_ttl_minutes + 1)
    assert (await c.get("/api/v1/auth/me")).status_code == 401


async def test_expired_password_allows_only_the_change(h: Harness) -> None:
    org = await h.org()
    age = h.container.settings.auth.password_max_age_days
    await h.user(
        "old",
        org,
        grants=("users.manage",),
        changed_at=h.clock.now() - timedelta(days=age + 1),
    )
    c, r = await h.login("old")
    assert r.status_code == 200
    assert r.json()["password_change_required"] is True
    r = await c.get("/api/v1/users")
    assert r.status_code == 403
    assert r.json()["code"] == "password_change_required"
    me = await c.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["password_change_required"] is True
    assert (await c.get("/api/v1/auth/password-policy")).status_code == 200
    assert (
        await c.post("/api/v1/auth/password-policy/check", json={"password": "a"})
    ).status_code == 200
    new = "a-brand-new-passphrase-7"
    r = await c.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": new}
    )
    assert r.status_code == 200, r.text
    assert (await c.get("/api/v1/users")).status_code == 200
    # A bearer token obeys the same rule.
    h.clock.advance(days=age + 1)
    t, r = await h.login("old", new, mode="token")
    assert r.status_code == 200
    assert (await t.get("/api/v1/users")).json()["code"] == "password_change_required"


async def test_login_payload_validation(h: Harness) -> None:
    c = h.client()
    r = await c.post("/api/v1/auth/login", json={"login_id": "x"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_payload"
    r = await c.post(
        "/api/v1/auth/login", json={"login_id": "x", "password": "y", "mode": "cookie"}
    )
    assert r.status_code == 422
