"""``/api/v1/users``: every endpoint anonymous / no grant / grant / operator, with audit."""

from __future__ import annotations

import pytest

from tests.auth.harness import PASSWORD, Harness

pytestmark = pytest.mark.anyio

URL = "/api/v1/users"


async def _world(h: Harness) -> dict[str, str]:
    """An operator, an orderer org with a manager (grant) and a plain user, another org."""
    ops = await h.org("operator", "運用管理者")
    org = await h.org("orderer", "テスト県")
    other = await h.org("contractor", "テスト建設")
    return {
        "ops": ops,
        "org": org,
        "other": other,
        "root": await h.user("root", ops),
        "manager": await h.user("manager", org, grants=("users.manage",)),
        "plain": await h.user("plain", org),
        "outsider": await h.user("outsider", other),
    }


def _new(org_id: str, login_id: str = "newbie", **extra: str) -> dict[str, str]:
    return {"login_id": login_id, "name": "新人 花子", "org_id": org_id, **extra}


async def test_create_permissions_and_audit(h: Harness) -> None:
    w = await _world(h)
    assert (await h.client().post(URL, json=_new(w["org"]))).status_code == 401
    plain = await h.as_user("plain")
    r = await plain.post(URL, json=_new(w["org"]))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    manager = await h.as_user("manager")
    assert (await manager.post(URL, json=_new(w["other"]))).status_code == 403
    r = await manager.post(
        URL,
        json=_new(w["org"], name_kana="ｼﾝｼﾞﾝ ハナコ", email="hanako@example.jp", position="主任"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["must_change_password"] is True
    assert body["user"]["name_kana"] == "シンジン ハナコ"  # half-width folded (NFKC)
    initial = body["initial_password"]
    assert len(initial) >= 16
    root = await h.as_user("root")
    r = await root.post(URL, json=_new(w["other"], "fromops"))
    assert r.status_code == 201
    created = await h.events("users.created")
    assert [e["actor_id"] for e in created] == [w["manager"], w["root"]]
    assert created[0]["after_digest"]
    # The new user must change the one-time password first.
    c, r = await h.login("newbie", initial)
    assert r.status_code == 200
    assert r.json()["password_change_required"] is True
    assert (await c.get(URL)).json()["code"] == "password_change_required"


async def test_create_bad_input(h: Harness) -> None:
    w = await _world(h)
    root = await h.as_user("root")
    assert (await root.post(URL, json=_new(w["org"], "dup.user"))).status_code == 201
    r = await root.post(URL, json=_new(w["org"], "DUP.user"))
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate"
    bad = [
        _new(w["org"], "ab"),  # too short
        _new(w["org"], "spaces not ok"),
        _new(w["org"], "x" * 65),
        {**_new(w["org"], "ctl1"), "name": "名前\u0007"},
        {**_new(w["org"], "ctl2"), "name": "改行\nあり"},
        {**_new(w["org"], "ctl3"), "position": "C1\u0085"},
        {**_new(w["org"], "long"), "name": "長" * 101},
        {**_new(w["org"], "kana"), "name_kana": "ひらがな"},
        {**_new(w["org"], "mail"), "email": "not-an-email"},
        {**_new(w["org"], "extra"), "is_admin": True},
    ]
    for payload in bad:
        r = await root.post(URL, json=payload)
        assert r.status_code == 422, payload
        assert r.json()["code"] == "invalid_payload"
    r = await root.post(URL, json=_new("01JUNKNOWNORGANIZATION0000"))
    assert r.status_code == 400
    assert r.json()["code"] == "validation_failed"
    assert len(await h.events("users.created")) == 1  # nothing else changed


async def test_list_scopes_and_paging(h: Harness) -> None:
    w = await _world(h)
    assert (await h.client().get(URL)).status_code == 401
    plain = await h.as_user("plain")
    assert (await plain.get(URL)).status_code == 403
    manager = await h.as_user("manager")
    r = await manager.get(URL)
    assert r.status_code == 200
    assert [u["login_id"] for u in r.json()["items"]] == ["manager", "plain"]
    assert (await manager.get(URL, params={"org_id": w["other"]})).status_code == 403
    root = await h.as_user("root")
    first = await root.get(URL, params={"limit": 3})
    assert [u["login_id"] for u in first.json()["items"]] == ["manager", "outsider", "plain"]
    cursor = first.json()["next_cursor"]
    second = await root.get(URL, params={"limit": 3, "cursor": cursor})
    assert [u["login_id"] for u in second.json()["items"]] == ["root"]
    assert second.json()["next_cursor"] is None
    only = await root.get(URL, params={"org_id": w["other"]})
    assert [u["login_id"] for u in only.json()["items"]] == ["outsider"]
    one = await root.get(URL, params={"login_id": "PLAIN"})
    assert [u["id"] for u in one.json()["items"]] == [w["plain"]]
    assert (await root.get(URL, params={"status": "gone"})).status_code == 422
    assert (await root.get(URL, params={"cursor": "garbage"})).status_code == 400


async def test_get_self_grant_other(h: Harness) -> None:
    w = await _world(h)
    assert (await h.client().get(f"{URL}/{w['plain']}")).status_code == 401
    plain = await h.as_user("plain")
    r = await plain.get(f"{URL}/{w['plain']}")
    assert r.status_code == 200
    assert "password_hash" not in r.json()
    assert (await plain.get(f"{URL}/{w['manager']}")).status_code == 403
    manager = await h.as_user("manager")
    assert (await manager.get(f"{URL}/{w['plain']}")).status_code == 200
    # another organization's user and an unknown id: the same 404 (issue 7 item 10)
    other = await manager.get(f"{URL}/{w['outsider']}")
    unknown = await manager.get(f"{URL}/01JNOSUCHUSER0000000000000")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == unknown.json()["detail"]
    assert (await plain.get(f"{URL}/01JNOSUCHUSER0000000000000")).status_code == 403
    root = await h.as_user("root")
    assert (await root.get(f"{URL}/{w['outsider']}")).status_code == 200
    assert (await root.get(f"{URL}/01JNOSUCHUSER0000000000000")).status_code == 404


async def test_update_permissions_stale_and_audit(h: Harness) -> None:
    w = await _world(h)
    url = f"{URL}/{w['plain']}"
    plain = await h.as_user("plain")
    outsider = await h.as_user("outsider")
    manager = await h.as_user("manager")
    version = (await manager.get(url)).json()["version"]
    change = {"version": version, "name": "改名 次郎", "position": "係長"}
    assert (await h.client().patch(url, json=change)).status_code == 401
    assert (await plain.patch(url, json=change)).status_code == 403
    assert (await outsider.patch(url, json=change)).status_code == 403
    r = await manager.patch(url, json=change)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "改名 次郎"
    assert r.json()["version"] == version + 1
    r = await manager.patch(url, json=change)
    assert r.status_code == 409
    assert r.json()["code"] == "stale_version"
    r = await manager.patch(url, json={"version": version + 1, "name": None})
    assert r.status_code == 400
    r = await manager.patch(url, json={"version": version + 1, "email": "bad\x00@x.jp"})
    assert r.status_code == 422
    events = await h.events("users.updated")
    assert len(events) == 1
    assert events[0]["detail"]["fields"] == ["name", "position"]
    assert events[0]["before_digest"] != events[0]["after_digest"]


async def test_disable_revokes_and_blocks_login(h: Harness) -> None:
    w = await _world(h)
    victim = await h.as_user("plain")
    url = f"{URL}/{w['plain']}/disable"
    assert (await h.client().post(url)).status_code == 401
    outsider = await h.as_user("outsider")
    assert (await outsider.post(url)).status_code == 403
    manager = await h.as_user("manager")
    r = await manager.post(url)
    assert r.status_code == 200
    assert r.json()["status"] == "disabled"
    assert (await victim.get("/api/v1/auth/me")).status_code == 401
    assert (await h.login("plain"))[1].status_code == 401
    assert len(await h.events("users.disabled")) == 1
    r = await manager.post(f"{URL}/{w['manager']}/disable")
    assert r.status_code == 400  # not yourself
    # Re-enable through update.
    version = (await manager.get(f"{URL}/{w['plain']}")).json()["version"]
    r = await manager.patch(f"{URL}/{w['plain']}", json={"version": version, "status": "active"})
    assert r.status_code == 200
    assert (await h.login("plain"))[1].status_code == 200


async def test_admin_reset_forces_change_and_unlocks(h: Harness) -> None:
    w = await _world(h)
    victim = await h.as_user("plain")
    for _ in range(h.container.settings.auth.lockout_threshold):
        await h.login("plain", "wrong-password-000")
    assert (await h.login("plain"))[1].status_code == 423
    url = f"{URL}/{w['plain']}/reset-password"
    assert (await h.client().post(url)).status_code == 401
    plain2 = await h.as_user("outsider")
    assert (await plain2.post(url)).status_code == 403
    manager = await h.as_user("manager")
    r = await manager.post(url)
    assert r.status_code == 200, r.text
    one_time = r.json()["one_time_password"]
    assert r.json()["user"]["must_change_password"] is True
    assert (await victim.get("/api/v1/auth/me")).status_code == 401
    assert (await h.login("plain"))[1].status_code == 401  # old password gone
    c, r = await h.login("plain", one_time)
    assert r.status_code == 200
    assert r.json()["password_change_required"] is True
    assert (await c.get(f"{URL}/{w['plain']}")).json()["code"] == "password_change_required"
    new = "fresh-cedar-window-55"
    r = await c.post(
        "/api/v1/auth/password", json={"current_password": one_time, "new_password": new}
    )
    assert r.status_code == 200
    assert (await c.get(f"{URL}/{w['plain']}")).status_code == 200
    events = await h.events("users.password_reset")
    assert [e["actor_id"] for e in events] == [w["manager"]]
    assert PASSWORD not in str(events)
    assert one_time not in str(events)
