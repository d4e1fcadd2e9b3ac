"""The outbox and delivery (issue 9 §1): a real SMTP relay (aiosmtpd with STARTTLS and AUTH),
nothing lost while the relay is down, never sent twice for one event, dead letters."""

from __future__ import annotations

import asyncio

import pytest

from api.mail.compose import InvalidAddress, Mail
from api.mail.outbox import MAILS, MailOutbox
from storage.query import Query
from tests.auth.harness import Harness
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.anyio


def mail(to: str = "sato@city.example.jp", subject: str = "発議のお知らせ") -> Mail:
    return Mail(
        to, "佐藤 花子", subject, "本文\nURL: http://kura.example/works/1", "proposal.submitted"
    )


async def queue(h: Harness, key: str, m: Mail | None = None) -> str | None:
    outbox = h.container.outbox()
    async with h.container.uow() as uow:
        return await outbox.queue(uow, key=key, mail=m or mail())


async def states(h: Harness) -> dict[str, str]:
    page = await h.container.records.find(MAILS, Query(limit=1000))
    return {r["key"]: r["state"] for r in page.items}


async def test_delivered_through_starttls_and_auth_once(hs: Harness, relay: SmtpSink) -> None:
    # The queue enqueues mail.flush after commit; eager mode runs it at once.
    assert await queue(hs, "proposal.submitted:proposals/1:u1") is not None
    got = relay.wait_for(1)
    assert relay.logins == ["kura"]
    assert got[0].rcpt_tos == ["sato@city.example.jp"]
    assert got[0].mail_from == "kura@city.example.jp"
    assert got[0].subject == "発議のお知らせ"
    assert got[0].body().startswith("本文\n")
    assert (await states(hs)) == {"proposal.submitted:proposals/1:u1": "sent"}


async def test_same_event_queued_twice_is_one_mail(hs: Harness, relay: SmtpSink) -> None:
    assert await queue(hs, "k1") is not None
    assert await queue(hs, "k1") is None
    await hs.container.outbox().flush()
    await asyncio.sleep(0.2)
    assert len(relay.messages) == 1


async def test_relay_down_keeps_mail_queued_then_delivers_each_once(
    hs: Harness, relay: SmtpSink
) -> None:
    relay.stop()
    for i in range(5):
        await queue(hs, f"k{i}", mail(subject=f"件名{i}"))
    outbox = hs.container.outbox()
    report = await outbox.flush()
    assert report.sent == 0
    records = (await hs.container.records.find(MAILS, Query(limit=100))).items
    assert {r["state"] for r in records} == {"queued"}
    assert all(r["attempts"] >= 1 and r["last_error"] for r in records)
    # Not due yet: backoff.
    relay.start()
    assert (await outbox.flush()).claimed == 0
    hs.clock.advance(minutes=5)
    report = await outbox.flush()
    assert report.sent == 5
    assert sorted(m.subject for m in relay.wait_for(5)) == [f"件名{i}" for i in range(5)]
    hs.clock.advance(hours=2)
    assert (await outbox.flush()).claimed == 0
    assert len(relay.messages) == 5


async def test_permanent_refusal_is_dead_lettered_and_an_operator_can_retry(
    hs: Harness, relay: SmtpSink
) -> None:
    relay.refuse.add("gone@city.example.jp")
    await queue(hs, "dead1", mail(to="gone@city.example.jp"))
    await hs.container.outbox().flush()
    records = (await hs.container.records.find(MAILS, Query(limit=10))).items
    assert records[0]["state"] == "dead"
    assert "550" in records[0]["last_error"]

    op_org = await hs.org("operator", "運営")
    await hs.user("operator1", op_org)
    city = await hs.org("orderer", "広島市")
    await hs.user("clerk1", city, grants=("users.manage", "audit.read"))
    op = await hs.as_user("operator1")
    clerk = await hs.as_user("clerk1")
    anon = hs.client()
    mid = records[0]["id"]
    assert (await anon.get("/api/v1/mail/outbox")).status_code == 401
    assert (await clerk.get("/api/v1/mail/outbox")).status_code == 403
    assert (await clerk.get(f"/api/v1/mail/outbox/{mid}")).status_code == 403
    assert (await clerk.post(f"/api/v1/mail/outbox/{mid}/retry")).status_code == 403
    listed = (await op.get("/api/v1/mail/outbox", params={"state": "dead"})).json()
    assert [m["id"] for m in listed["items"]] == [mid]
    detail = (await op.get(f"/api/v1/mail/outbox/{mid}")).json()
    assert "Subject: =?utf-8?" in detail["raw"]
    relay.refuse.clear()
    r = await op.post(f"/api/v1/mail/outbox/{mid}/retry")
    assert r.status_code == 200, r.text
    relay.wait_for(1)
    assert (await hs.events("mail.retried"))[0]["target"] == f"mails/{mid}"
    assert (await op.post(f"/api/v1/mail/outbox/{mid}/retry")).status_code == 409
    stats = (await op.get("/api/v1/mail/outbox/stats")).json()
    assert stats["transport"] == "smtp"
    assert stats["counts"]["sent"] == 1


async def test_attempts_are_bounded(hs: Harness, relay: SmtpSink) -> None:
    relay.stop()
    await queue(hs, "bounded")
    outbox = hs.container.outbox()
    for _ in range(hs.container.settings.mail.max_attempts):
        await outbox.flush()
        hs.clock.advance(hours=2)
    record = (await hs.container.records.find(MAILS, Query(limit=10))).items[0]
    assert record["state"] == "dead"
    assert record["attempts"] == hs.container.settings.mail.max_attempts


async def test_two_flushes_at_once_send_each_mail_once(hs: Harness, relay: SmtpSink) -> None:
    relay.stop()
    for i in range(30):
        await queue(hs, f"c{i}")
    relay.start()
    hs.clock.advance(hours=2)  # past every backoff
    a = MailOutbox(
        hs.container.records,
        hs.container.clock,
        hs.container.settings.mail,
        hs.container.mail_transport,
    )
    b = MailOutbox(
        hs.container.records,
        hs.container.clock,
        hs.container.settings.mail,
        hs.container.mail_transport,
    )
    r1, r2 = await asyncio.gather(a.flush(), b.flush())
    assert r1.sent + r2.sent == 30
    assert len(relay.wait_for(30)) == 30
    await asyncio.sleep(0.3)
    assert len(relay.messages) == 30


async def test_embedded_outbox_keeps_the_message_without_sending(h: Harness) -> None:
    assert h.container.mail_transport.name == "outbox"
    await queue(h, "local1")
    record = (await h.container.records.find(MAILS, Query(limit=10))).items[0]
    assert record["state"] == "stored"
    assert record["raw"].startswith("From: ")


async def test_a_bad_address_stores_nothing(h: Harness) -> None:
    with pytest.raises(InvalidAddress):
        await queue(h, "bad", mail(to="a@b.example\r\nBcc: x@y.example"))
    assert (await h.container.records.count(MAILS)) == 0
