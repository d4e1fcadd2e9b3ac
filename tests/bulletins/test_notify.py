"""Mail to chosen members when posting (seed 001 別表1-1 2(8), 別表1-2 2(5): 記事等の登録時に、
設定したメンバーに登録情報を電子メール等で通知できる) and to the thread when someone replies,
delivered to a real SMTP server (aiosmtpd, ``tests.support.smtp``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from api.config import Settings
from tests.bulletins.harness import Board, board_harness
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.anyio


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    relay = SmtpSink().start()
    yield relay
    relay.stop()


@pytest.fixture
async def bm(settings: Settings, sink: SmtpSink) -> AsyncIterator[Board]:
    mail = settings.mail.model_copy(
        update={
            "transport": "smtp",
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "smtp_security": "none",
            "from_address": "kura@pref.example.jp",
            "base_url": "https://kura.pref.example.jp",
        }
    )
    async with board_harness(settings.model_copy(update={"mail": mail})) as harness:
        yield harness


async def test_posting_mails_the_chosen_members_only(bm: Board, sink: SmtpSink) -> None:
    work = await bm.work()
    post = await bm.post(
        "b1",
        work["id"],
        title="工程表の更新",
        importance="important",
        notify={"user_ids": [bm["sup"].user_id, bm["insp"].user_id]},
    )
    received = sink.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in received) == ["insp@example.jp", "sup@example.jp"]
    mail = next(m for m in received if m.rcpt_tos == ["sup@example.jp"])
    assert mail.subject == "[Kura] 新しい記事: 工程表の更新"
    text = mail.body()
    assert "監督 一郎 様" in text
    assert "「国道2号道路改良設計業務」の掲示板に 春日 太郎 さんが記事を登録しました。" in text
    assert f"https://kura.pref.example.jp/#/works/{work['id']}/board/{post['id']}" in text
    # The in-app notification exists for each recipient (the bell), not for the others.
    listed = await bm.ok("sup", "GET", "notifications")
    assert [(n["title"], n["importance"]) for n in listed["items"]] == [
        ("工程表の更新", "important")
    ]
    assert (await bm.ok("b2", "GET", "notifications"))["items"] == []
    # Opening the post on its board clears its entry under the bell as well.
    await bm.ok("sup", "POST", f"posts/{post['id']}/read")
    assert (await bm.ok("sup", "GET", "notifications/unread-count")) == {"unread": 0}
    assert (await bm.ok("insp", "GET", "notifications/unread-count")) == {"unread": 1}


async def test_notify_all_mails_everyone_who_reads_the_post(bm: Board, sink: SmtpSink) -> None:
    work = await bm.work()
    await bm.post(
        "sup",
        work["id"],
        scope={"kind": "roles", "roles": ["contractor_member"]},
        notify={"all": True},
    )
    received = sink.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in received) == ["b1@example.jp", "b2@example.jp"]


async def test_replies_are_mailed_to_the_author_and_the_thread(bm: Board, sink: SmtpSink) -> None:
    work = await bm.work()
    post = await bm.post("b1", work["id"], title="仮設計画")
    await bm.reply("sup", post["id"], body="北側の仮設道路で問題ありません。")
    [first] = sink.wait_for(1)
    assert first.rcpt_tos == ["b1@example.jp"]
    assert first.subject == "[Kura] 返信: 仮設計画"
    assert "北側の仮設道路で問題ありません。" in first.body()
    await bm.reply("b2", post["id"], body="了解しました。")
    received = sink.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in received[1:]) == ["b1@example.jp", "sup@example.jp"]


async def test_mail_goes_only_to_readers_of_the_post(bm: Board, sink: SmtpSink) -> None:
    """Bad input: a recipient outside the scope is refused, nothing is stored or sent."""
    work = await bm.work()
    r = await bm.call(
        "sup",
        "POST",
        f"works/{work['id']}/posts",
        json={
            "title": "監督員のみ",
            "scope": {"kind": "roles", "roles": ["supervisor", "inspector"]},
            "notify": {"user_ids": [bm["b1"].user_id]},
        },
    )
    assert r.status_code == 400
    assert r.json()["code"] == "validation_failed"
    assert r.json()["field"] == "notify"
    assert (await bm.ok("sup", "GET", f"works/{work['id']}/posts"))["items"] == []
    assert await bm.container.records.count("mails") == 0
