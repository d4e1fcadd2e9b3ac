"""Posts, replies, files, scopes, edits and deletions with history (seed 001 別表1-1 2(1)-(5),
別表1-2 2(1)-(4)(6)), through the HTTP API on the embedded backends."""

from __future__ import annotations

import pytest

from api.attachments.service import ATTACHMENTS
from tests.bulletins.harness import Board

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_a_post_keeps_title_author_and_time_and_its_text_as_typed(b: Board) -> None:
    """別表1-1 2(1)(2): 記事等を登録・閲覧でき、タイトル、登録者名、登録日時等を管理できる."""
    work = await b.work()
    body = (
        "設計図面の修正版です。\n詳細: https://example.jp/plan?a=1&b=2\n"
        '<script>alert("x")</script> <a href="javascript:alert(1)">link</a>'
    )
    post = await b.post("b1", work["id"], title="設計図面\n修正版の共有", body=body)
    assert post["title"] == "設計図面 修正版の共有"  # one line
    assert post["author_name"] == "春日 太郎"
    assert post["author_org_name"] == "春日建設株式会社"
    assert post["created_at"] == "2026-06-01T00:00:01.000000Z"
    thread = await b.ok("sup", "GET", f"posts/{post['id']}")
    # Plain text: stored and answered exactly as typed; the interface renders it as text.
    assert thread["post"]["body"] == body
    assert thread["work"]["title"] == "国道2号道路改良設計業務"
    assert thread["replies"] == []
    [event] = await b.events("bulletins.post_created")
    assert event["target"] == f"posts/{post['id']}"
    assert event["actor_id"] == b["b1"].user_id


async def test_replies_are_threaded_one_level(b: Board) -> None:
    """別表1-1 2(3): 記事等に対して、返信コメントを登録できる."""
    work = await b.work()
    post = await b.post("b1", work["id"])
    first = await b.reply("sup", post["id"], body="了解です。")
    second = await b.reply("b2", post["id"], body="搬入経路は北側です。")
    thread = await b.ok("insp", "GET", f"posts/{post['id']}")
    assert [(r["author_name"], r["body"]) for r in thread["replies"]] == [
        ("監督 一郎", "了解です。"),
        ("春日 次郎", "搬入経路は北側です。"),
    ]
    assert thread["post"]["reply_count"] == 2
    assert {first["post_id"], second["post_id"]} == {post["id"]}
    # A reply answers a post, never a reply: a reply id is no post.
    assert (
        await b.call("sup", "POST", f"posts/{first['id']}/replies", json={"body": "x"})
    ).status_code == 404


async def test_files_attach_to_posts_and_replies_and_follow_the_scope(b: Board) -> None:
    """別表1-1 2(4)(5): documents, drawings, photos attached; outside the scope: 404 for the
    post, its replies and its files."""
    work = await b.work()
    aid = await b.attachment("b1", PDF, "平面図.pdf", work["id"], "application/pdf")
    post = await b.post(
        "b1",
        work["id"],
        title="平面図の確認依頼",
        attachment_ids=[aid],
        scope={"kind": "roles", "roles": ["supervisor"]},
    )
    assert post["attachment_count"] == 1
    rid = await b.attachment("sup", b"OK\n", "回答.txt", work["id"], "text/plain")
    reply = await b.reply("sup", post["id"], attachment_ids=[rid])
    thread = await b.ok("sup", "GET", f"posts/{post['id']}")
    assert [a["name"] for a in thread["attachments"]] == ["平面図.pdf"]
    assert [a["name"] for a in thread["replies"][0]["attachments"]] == ["回答.txt"]
    got = await b.call("sup", "GET", f"attachments/{aid}/content")
    assert got.status_code == 200
    assert got.content == PDF
    # Members outside the scope (inspector, the other contractor member), non-members and
    # other organizations: 404 everywhere, as for an unknown id.
    for who in ("insp", "b2", "view", "same", "oread", "other", "alien"):
        for url in (
            f"posts/{post['id']}",
            f"posts/{post['id']}/revisions",
            f"attachments/{aid}",
            f"attachments/{aid}/content",
            f"attachments/{rid}/content",
        ):
            r = await b.call(who, "GET", url)
            assert r.status_code == 404, (who, url, r.text)
            assert r.json()["code"] == "not_found"
        r = await b.call(who, "POST", f"posts/{post['id']}/replies", json={"body": "x"})
        assert r.status_code == 404, (who, r.text)
        r = await b.call(
            who,
            "PATCH",
            f"posts/{post['id']}/replies/{reply['id']}",
            json={"version": reply["version"], "body": "x"},
        )
        assert r.status_code == 404, (who, r.text)
    assert (await b.call(None, "GET", f"posts/{post['id']}")).status_code == 401


async def test_each_scope_kind_decides_who_reads(b: Board) -> None:
    """別表1-1 2(5): all members, chosen roles, chosen users, or a group."""
    work = await b.work()
    group = await b.ok(
        "sup", "POST", "groups", 201, json={"name": "受注者", "member_ids": [b["b2"].user_id]}
    )
    cases = {
        "members": ({"kind": "members"}, {"sup", "insp", "view", "b1", "b2"}),
        "roles": (
            {"kind": "roles", "roles": ["inspector", "contractor_member"]},
            {"sup", "insp", "b1", "b2"},
        ),
        "users": ({"kind": "users", "user_ids": [b["b1"].user_id]}, {"sup", "b1"}),
        "group": ({"kind": "group", "group_id": group["id"]}, {"sup", "b2"}),
    }
    for name, (scope, readers) in cases.items():
        post = await b.post("sup", work["id"], title=f"範囲 {name}", scope=scope)
        for who in ("sup", "insp", "view", "b1", "b2", "same", "other"):
            status = (await b.call(who, "GET", f"posts/{post['id']}")).status_code
            assert status == (200 if who in readers else 404), (name, who, status)
            listed = await b.call(who, "GET", f"works/{work['id']}/posts")
            ids = [p["id"] for p in listed.json()["items"]] if listed.status_code == 200 else []
            assert (post["id"] in ids) == (who in readers), (name, who)
    group_post = (await b.ok("b2", "GET", f"works/{work['id']}/posts"))["items"][0]
    assert group_post["scope"]["kind"] == "group"
    assert group_post["scope"]["group_name"] == "受注者"
    assert [u["name"] for u in group_post["scope"]["users"]] == ["春日 次郎"]


async def test_edit_and_delete_by_the_author_keep_the_history(b: Board) -> None:
    """別表1-1 2(1): 登録・削除 by the author; earlier versions and removed files are kept."""
    work = await b.work()
    first = await b.attachment("b1", b"v1\n", "計画書_v1.txt", work["id"])
    post = await b.post("b1", work["id"], title="施工計画", body="第1版", attachment_ids=[first])
    second = await b.attachment("b1", b"v2\n", "計画書_v2.txt", work["id"])
    b.tick()
    edited = await b.ok(
        "b1",
        "PATCH",
        f"posts/{post['id']}",
        json={
            "version": post["version"],
            "title": "施工計画（改訂）",
            "body": "第2版",
            "attachment_ids": [second],
        },
    )
    assert edited["revision"] == 1
    assert edited["edited_at"] == "2026-06-01T00:00:02.000000Z"
    # Someone else may not change it; a stale version is refused.
    for who in ("sup", "b2"):
        r = await b.call(
            who, "PATCH", f"posts/{post['id']}", json={"version": edited["version"], "body": "x"}
        )
        assert r.status_code == 403, (who, r.text)
    stale = await b.call(
        "b1", "PATCH", f"posts/{post['id']}", json={"version": post["version"], "body": "x"}
    )
    assert stale.status_code == 409
    # A reply moves the post's counters (its version), not its content: an edit that names the
    # content's revision it read still goes through; an older revision conflicts.
    await b.reply("sup", post["id"])
    r = await b.call(
        "b1",
        "PATCH",
        f"posts/{post['id']}",
        json={"version": edited["version"], "revision": 0, "body": "x"},
    )
    assert r.status_code == 409
    edited = await b.ok(
        "b1",
        "PATCH",
        f"posts/{post['id']}",
        json={"version": edited["version"], "revision": 1, "body": "第2版"},
    )
    assert edited["revision"] == 2
    revisions = await b.ok("sup", "GET", f"posts/{post['id']}/revisions")
    assert [(r["rev"], r["title"], r["body"], r["reason"]) for r in revisions] == [
        (1, "施工計画", "第1版", "edited"),
        (2, "施工計画（改訂）", "第2版", "edited"),
    ]
    assert revisions[0]["superseded_by_name"] == "春日 太郎"
    # The file the edit removed stays readable through the revision.
    [old] = revisions[0]["attachments"]
    assert old["name"] == "計画書_v1.txt"
    assert (await b.call("sup", "GET", f"attachments/{old['id']}/content")).content == b"v1\n"
    thread = await b.ok("sup", "GET", f"posts/{post['id']}")
    assert [a["name"] for a in thread["attachments"]] == ["計画書_v2.txt"]

    r = await b.call("sup", "DELETE", f"posts/{post['id']}", params={"version": edited["version"]})
    assert r.status_code == 403
    r = await b.call("b1", "DELETE", f"posts/{post['id']}", params={"version": edited["version"]})
    assert r.status_code == 204
    assert (await b.call("sup", "GET", f"posts/{post['id']}")).status_code == 404
    assert (await b.call("sup", "GET", f"attachments/{second}/content")).status_code == 404
    assert (await b.ok("sup", "GET", f"works/{work['id']}/posts"))["items"] == []
    stored = await b.container.records.get("posts", post["id"])
    assert stored is not None
    assert stored["state"] == "deleted"
    revs = await b.container.records.get("post_revisions", f"{post['id']}:3")
    assert revs is not None
    assert (revs["reason"], revs["title"], revs["body"]) == ("deleted", "施工計画（改訂）", "第2版")
    assert [e["target"] for e in await b.events("bulletins.post_deleted")] == [
        f"posts/{post['id']}"
    ]


async def test_replies_are_edited_and_deleted_by_their_author_with_history(b: Board) -> None:
    work = await b.work()
    post = await b.post("b1", work["id"])
    reply = await b.reply("sup", post["id"], body="確認します。")
    r = await b.call(
        "b1",
        "PATCH",
        f"posts/{post['id']}/replies/{reply['id']}",
        json={"version": reply["version"], "body": "x"},
    )
    assert r.status_code == 403
    edited = await b.ok(
        "sup",
        "PATCH",
        f"posts/{post['id']}/replies/{reply['id']}",
        json={"version": reply["version"], "body": "確認しました。問題ありません。"},
    )
    history = await b.ok("b1", "GET", f"posts/{post['id']}/replies/{reply['id']}/revisions")
    assert [h["body"] for h in history] == ["確認します。"]
    r = await b.call(
        "sup",
        "DELETE",
        f"posts/{post['id']}/replies/{reply['id']}",
        params={"version": edited["version"]},
    )
    assert r.status_code == 204
    thread = await b.ok("b1", "GET", f"posts/{post['id']}")
    # The deleted reply keeps its place, not its words; the count follows.
    assert [(r["state"], r["body"]) for r in thread["replies"]] == [("deleted", "")]
    assert thread["post"]["reply_count"] == 0


async def test_viewers_read_but_do_not_write_and_finished_works_are_read_only(b: Board) -> None:
    work = await b.work()
    post = await b.post("sup", work["id"])
    assert (await b.call("view", "GET", f"posts/{post['id']}")).status_code == 200
    r = await b.post("view", work["id"], status=403)
    assert r["code"] == "forbidden"
    r = await b.reply("view", post["id"], status=403)
    assert r["code"] == "forbidden"
    # Orderer staff who read every work of the organization are not members of its board.
    assert (await b.call("oread", "GET", f"works/{work['id']}/posts")).status_code == 403
    assert (await b.call("oread", "GET", f"posts/{post['id']}")).status_code == 404
    for to in ("in_progress", "completed"):
        current = await b.ok("sup", "GET", f"works/{work['id']}")
        await b.ok(
            "sup",
            "POST",
            f"works/{work['id']}/transition",
            json={"to": to, "version": current["version"]},
        )
    r = await b.post("b1", work["id"], status=403)
    assert r["code"] == "forbidden"
    assert (await b.call("b1", "GET", f"posts/{post['id']}")).status_code == 200


async def test_links_in_the_text_are_kept_and_the_record_holds_no_markup(b: Board) -> None:
    work = await b.work()
    post = await b.post("b1", work["id"], body="資料: https://example.jp/a\r\n次行\x07")
    assert post["body"] == "資料: https://example.jp/a\n次行"
    stored = await b.container.records.get("posts", post["id"])
    assert stored is not None
    assert stored["body"] == "資料: https://example.jp/a\n次行"


async def test_linked_files_of_a_post_are_its_own(b: Board) -> None:
    work = await b.work()
    aid = await b.attachment("b1", PDF, "a.pdf", work["id"])
    post = await b.post("b1", work["id"], attachment_ids=[aid])
    record = await b.container.records.get(ATTACHMENTS, aid)
    assert record is not None
    assert (record["state"], record["parent"]) == ("linked", f"posts/{post['id']}")
