"""The password policy (seed 001 別表1-1 8(5)) and the self-service change."""

from __future__ import annotations

import pytest

from api.auth import passwords
from api.config import AuthSettings
from tests.auth.harness import PASSWORD, Harness

pytestmark = pytest.mark.anyio

CHECK = "/api/v1/auth/password-policy/check"


async def test_policy_is_public_and_japanese(h: Harness) -> None:
    r = await h.client().get("/api/v1/auth/password-policy")
    assert r.status_code == 200
    body = r.json()
    assert body["min_length"] == 12
    assert body["max_length"] == 128
    codes = [rule["code"] for rule in body["rules"]]
    assert codes == ["min_length", "max_length", "not_login_id", "not_common", "no_control"]
    assert body["rules"][0]["description"] == "12文字以上であること"
    assert "90日" in body["max_age"]
    assert "5回" in body["lockout"]


async def test_check_requires_auth(h: Harness) -> None:
    r = await h.client().post(CHECK, json={"password": "whatever"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("candidate", "failed"),
    [
        ("short-1", ["min_length"]),
        ("xx-Checker-2026-ok", ["not_login_id"]),  # login id "checker", any case
        ("Password1234", ["not_common"]),
        ("QWERTYUIOP123", ["not_common"]),
        ("line\nbreak-in-the-middle", ["no_control"]),
        ("a" * 129, ["max_length"]),
        ("ample-river-stone-83", []),
        ("ｐａｓｓｗｏｒｄ１２３４", ["not_common"]),  # full-width folds to half-width (NFKC)
    ],
)
async def test_check_cases(h: Harness, candidate: str, failed: list[str]) -> None:
    org = await h.org()
    await h.user("checker", org)
    c = await h.as_user("checker")
    r = await c.post(CHECK, json={"password": candidate})
    assert r.status_code == 200
    assert [f["code"] for f in r.json()["failed"]] == failed
    assert r.json()["ok"] is (not failed)


def test_common_list_is_shipped_and_large() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 1000
    assert "password" in common
    assert "qwerty123" in common
    assert all(p == p.lower() for p in common)


def test_min_length_is_configurable() -> None:
    settings = AuthSettings(password_min_length=16)
    assert [r.code for r in passwords.check(settings, "fifteen-chars-x", "id")] == ["min_length"]


def test_generated_passwords_pass_the_policy() -> None:
    settings = AuthSettings()
    for _ in range(20):
        pw = passwords.generate(settings, "admin")
        assert len(pw) >= 16
        assert not passwords.check(settings, pw, "admin")


async def test_change_password(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("changer", org)
    c = await h.as_user("changer")
    other = await h.as_user("changer")
    token, _ = await h.login("changer", mode="token")
    url = "/api/v1/auth/password"
    r = await c.post(url, json={"current_password": "wrong-one-123", "new_password": "x"})
    assert r.status_code == 400
    assert "現在のパスワード" in r.json()["detail"]
    r = await c.post(url, json={"current_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 400
    assert [f["code"] for f in r.json()["failed"]] == ["min_length"]
    r = await c.post(url, json={"current_password": PASSWORD, "new_password": PASSWORD})
    assert r.status_code == 400
    assert r.json()["failed"][0]["code"] == "not_same"
    new = "quiet-maple-lantern-19"
    r = await c.post(url, json={"current_password": PASSWORD, "new_password": new})
    assert r.status_code == 200
    assert r.json()["id"] == uid
    # This session lives on; the user's other sessions and tokens are revoked.
    assert (await c.get("/api/v1/auth/me")).status_code == 200
    assert (await other.get("/api/v1/auth/me")).status_code == 401
    assert (await token.get("/api/v1/auth/me")).status_code == 401
    assert (await h.login("changer", PASSWORD))[1].status_code == 401
    assert (await h.login("changer", new))[1].status_code == 200
    events = await h.events("auth.password_changed")
    assert len(events) == 1
    assert events[0]["detail"]["revoked_credentials"] == 2
    assert len(await h.events("auth.password_change_failed")) == 1


async def test_change_password_requires_auth_and_csrf(h: Harness) -> None:
    body = {"current_password": PASSWORD, "new_password": "quiet-maple-lantern-19"}
    assert (await h.client().post("/api/v1/auth/password", json=body)).status_code == 401
    org = await h.org()
    await h.user("nocsrf", org)
    c = await h.as_user("nocsrf")
    del c.headers["X-CSRF-Token"]
    r = await c.post("/api/v1/auth/password", json=body)
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
