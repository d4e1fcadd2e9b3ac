"""In-app notifications and per-user mail preferences (issue 9 §1; seed 001 別表1-1 4(20):
"通知メールの受信有無・重要度を利用者ごとに設定できること"), through the HTTP API."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from api.config import Settings
from api.mail.outbox import MAILS
from api.notifications.service import kinds
from storage.query import Query
from tests.auth.harness import Harness, harness
from workers.celery_app import set_container

pytestmark = pytest.mark.anyio


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        set_container(the_harness.container)
        try:
            yield the_harness
        finally:
            set_container(None)


async def _user(h: Harness, login: str, org: str, email: str | None) -> str:
    uid = await h.user(login, org)
    if email:
        rec = await h.container.records.get("users", uid)
        assert rec is not None
        await h.container.records.update("users", uid, {"email": email}, rec["version"])
    return uid


async def notify(
    h: Harness,
    recipients: list[str],
    source: str,
    importance: str = "normal",
    kind: str = "bulletin.posted",
) -> int:
    async with h.container.uow() as uow:
        return await h.container.notifier().notify(
            uow,
            kind=kind,
            recipients=recipients,
            source=source,
            title=f"記事 {source}",
            url=f"/works/w1/board/{source}",
            importance=importance,
            context={
                "work_title": "国道2号改良工事",
                "post_title": f"記事 {source}",
                "author_name": "受注 太郎",
            },
            work_id="w1",
        )


async def mails(h: Harness) -> list[dict[str, object]]:
    return (await h.container.records.find(MAILS, Query(limit=1000))).items


async def test_notify_makes_one_notification_and_one_mail_per_event_and_recipient(
    h: Harness,
) -> None:
    org = await h.org("orderer", "広島県")
    a = await _user(h, "sato", org, "sato@pref.example.jp")
    b = await _user(h, "suzuki", org, None)  # no mail address: in-app only
    assert await notify(h, [a, b, a], "posts/1") == 2
    assert await notify(h, [a, b], "posts/1") == 0  # the same event again: nothing new
    sent = await mails(h)
    assert len(sent) == 1
    assert sent[0]["to_address"] == "sato@pref.example.jp"
    assert sent[0]["subject"] == "[Kura] 新しい記事: 記事 posts/1"
    raw = str(sent[0]["raw"])
    assert (
        # The interface routes by the hash: a link without "/#" would reach no page.
        "http://127.0.0.1:8000/#/works/w1/board/posts/1"
        in __import__("base64").b64decode(raw.split("\r\n\r\n", 1)[1]).decode()
    )

    ca = await h.as_user("sato")
    listed = (await ca.get("/api/v1/notifications")).json()["items"]
    assert [n["title"] for n in listed] == ["記事 posts/1"]
    assert listed[0]["kind_label"] == "掲示板記事の通知"
    assert listed[0]["unread"] is True
    assert (await ca.get("/api/v1/notifications/unread-count")).json() == {"unread": 1}


async def test_preferences_choose_mail_per_kind_and_importance(h: Harness) -> None:
    """seed 001 別表1-1 4(20): receive or not, and with which importance, per user."""
    org = await h.org("orderer", "広島県")
    a = await _user(h, "sato", org, "sato@pref.example.jp")
    ca = await h.as_user("sato")
    prefs = (await ca.get("/api/v1/notifications/preferences")).json()
    assert {p["kind"] for p in prefs} == set(kinds())
    assert all(p["mail"] and p["min_importance"] == "normal" for p in prefs)
    r = await ca.put(
        "/api/v1/notifications/preferences",
        json={
            "kinds": {
                "bulletin.posted": {"mail": True, "min_importance": "important"},
                "proposal.approved": {"mail": False},
            }
        },
    )
    assert r.status_code == 200, r.text
    await notify(h, [a], "posts/normal", "normal")
    await notify(h, [a], "posts/important", "important")
    await notify(h, [a], "proposals/9", "normal", kind="proposal.approved")
    assert [m["key"] for m in await mails(h)] == [f"bulletin.posted:posts/important:{a}"]
    # In-app notifications exist for all three regardless of mail.
    assert (await ca.get("/api/v1/notifications/unread-count")).json() == {"unread": 3}
    bad = await ca.put(
        "/api/v1/notifications/preferences", json={"kinds": {"nope": {"mail": True}}}
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_failed"
    bad = await ca.put(
        "/api/v1/notifications/preferences",
        json={"kinds": {"bulletin.posted": {"mail": True, "min_importance": "urgent"}}},
    )
    assert bad.status_code == 422


async def test_unread_count_always_equals_the_unread_list_under_random_operations(
    h: Harness,
) -> None:
    org = await h.org("orderer", "広島県")
    a = await _user(h, "sato", org, None)
    ca = await h.as_user("sato")
    rng = random.Random(7)
    for step in range(60):
        op = rng.choice(["notify", "notify", "read", "read_all"])
        if op == "notify":
            await notify(h, [a], f"posts/{rng.randrange(30)}")
        elif op == "read":
            items = (
                await ca.get("/api/v1/notifications", params={"unread": "true", "limit": 200})
            ).json()["items"]
            if items:
                r = await ca.post(f"/api/v1/notifications/{rng.choice(items)['id']}/read")
                assert r.status_code == 200
                assert r.json()["unread"] is False
        else:
            await ca.post("/api/v1/notifications/read-all")
        unread = (
            await ca.get("/api/v1/notifications", params={"unread": "true", "limit": 200})
        ).json()["items"]
        count = (await ca.get("/api/v1/notifications/unread-count")).json()["unread"]
        assert count == len(unread), f"step {step}"


async def test_notifications_are_private_to_their_user(h: Harness) -> None:
    org = await h.org("orderer", "広島県")
    other_org = await h.org("orderer", "呉市")
    a = await _user(h, "sato", org, None)
    await _user(h, "kure1", other_org, None)
    await _user(h, "colleague", org, None)
    await notify(h, [a], "posts/1")
    ca = await h.as_user("sato")
    nid = (await ca.get("/api/v1/notifications")).json()["items"][0]["id"]
    anon = h.client()
    assert (await anon.get("/api/v1/notifications")).status_code == 401
    assert (await anon.get("/api/v1/notifications/unread-count")).status_code == 401
    assert (await anon.post(f"/api/v1/notifications/{nid}/read")).status_code == 401
    for login in ("kure1", "colleague"):
        other = await h.as_user(login)
        assert (await other.get("/api/v1/notifications")).json()["items"] == []
        assert (await other.post(f"/api/v1/notifications/{nid}/read")).status_code == 404
    assert (await ca.get("/api/v1/notifications/unread-count")).json() == {"unread": 1}


async def test_disabled_users_are_not_notified(h: Harness) -> None:
    org = await h.org("orderer", "広島県")
    a = await _user(h, "sato", org, "sato@pref.example.jp")
    rec = await h.container.records.get("users", a)
    assert rec is not None
    await h.container.records.update("users", a, {"status": "disabled"}, rec["version"])
    assert await notify(h, [a], "posts/1") == 0
    assert await mails(h) == []
