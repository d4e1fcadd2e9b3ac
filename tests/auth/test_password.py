"""The password policy (seed 001 別表1-1 8(5)) and the self-service change."""

from __future__ import annotations

import itertools

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
    assert codes == [
        "min_length",
        "max_length",
        "not_login_id",
        "not_common",
        "no_control",
        "no_repeat",
        "no_sequence",
        "not_reused",
    ]
    assert body["rules"][-1]["description"] == (
        "現在のパスワード、および直近5回に使ったパスワードと異なること"
    )
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
        ("Password1234", ["not_common", "no_sequence"]),
        ("QWERTYUIOP123", ["not_common"]),
        ("line\nbreak-in-the-middle", ["no_control"]),
        ("river-stone-" * 11, ["max_length"]),
        ("ample-river-stone-83", []),
        # full-width folds to half-width (NFKC)
        ("ｐａｓｓｗｏｒｄ１２３４", ["not_common", "no_sequence"]),
        # issue 7 item 12: repeated and sequential characters (NIST SP 800-63B 5.1.1.2)
        ("aaaaaaaaaaaa", ["no_repeat"]),
        ("AAAAaaaa-river-83", ["no_repeat"]),  # case folded
        ("abababababab", ["no_repeat"]),
        ("kurakurakura", ["no_repeat"]),
        ("river-stone-abcd", ["no_sequence"]),
        ("river-stone-9876", ["no_sequence"]),
        ("river-stone-WXYZ", ["no_sequence"]),
        ("river-stone-123-aab", []),  # three in a row, two equal: allowed
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


async def test_recent_passwords_cannot_come_back(h: Harness) -> None:
    """Issue 7 item 12: the previous password (and the ones before, up to
    ``password_history``) may not be reused; the refusal names the rule in Japanese."""
    org = await h.org()
    await h.user("cycler", org)
    c = await h.as_user("cycler")
    url = "/api/v1/auth/password"
    chain = [PASSWORD, "quiet-maple-lantern-19", "amber-gorse-meadow-27", "silent-pine-ridge-36"]
    for current, new in itertools.pairwise(chain):
        r = await c.post(url, json={"current_password": current, "new_password": new})
        assert r.status_code == 200, r.text
    for old in chain[:-1]:
        r = await c.post(url, json={"current_password": chain[-1], "new_password": old})
        assert r.status_code == 400, old
        assert r.json()["failed"] == [
            {
                "code": "not_reused",
                "description": "現在のパスワード、および直近5回に使ったパスワードと異なること",
            }
        ]
        assert "以前に使ったパスワード" in r.json()["detail"]
    stored = await h.stored_user((await c.get("/api/v1/auth/me")).json()["user"]["id"])
    assert len(stored.password_history) == 3
    assert all(x.startswith("$argon2id$") for x in stored.password_history)
    me = (await c.get("/api/v1/auth/me")).json()
    assert "password_history" not in me["user"]  # hashes never leave the service


async def test_history_length_is_a_setting(h: Harness) -> None:
    settings = AuthSettings(password_history=2)
    assert passwords.remembered(settings, "h3", ["h2", "h1", "h0"]) == ["h3", "h2"]
    assert passwords.remembered(AuthSettings(password_history=0), "h3", ["h2"]) == []


async def test_admin_reset_keeps_the_replaced_password_in_the_history(h: Harness) -> None:
    org = await h.org()
    uid = await h.user("forgetful", org)
    await h.user("admin", org, grants=("users.manage",))
    admin = await h.as_user("admin")
    r = await admin.post(f"/api/v1/users/{uid}/reset-password")
    one_time = r.json()["one_time_password"]
    c, _ = await h.login("forgetful", one_time)
    body = {"current_password": one_time, "new_password": PASSWORD}
    r = await c.post("/api/v1/auth/password", json=body)
    assert r.status_code == 400
    assert r.json()["failed"][0]["code"] == "not_reused"
