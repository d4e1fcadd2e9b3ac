"""Searching posts: by title, author and registration date on a board and across one's works
(seed 001 別表1-1 2(7), 別表1-2 2(11): 記事等のタイトル、登録者名、登録日時から記事等を検索
できる), and in the main search with the Japanese full text of bodies and attachments, filtered
by each post's scope inside the index (issue 9 §2)."""

from __future__ import annotations

import pytest

from api.consistency import check, reindex
from tests.bulletins.harness import Board
from tests.datagen.pdfs import japanese

pytestmark = pytest.mark.anyio


async def _corpus(b: Board) -> dict[str, str]:
    work = await b.work()
    ids = {"work": work["id"]}
    ids["pour"] = (
        await b.post(
            "b1", work["id"], title="コンクリート打設の予定", body="第3工区の打設は6月10日です。"
        )
    )["id"]
    b.clock.advance(days=3)
    ids["rebar"] = (
        await b.post("sup", work["id"], title="鉄筋検査の日程", body="配筋検査を実施します。")
    )["id"]
    b.clock.advance(days=3)
    ids["secret"] = (
        await b.post(
            "sup",
            work["id"],
            title="コンクリート単価の内訳",
            body="監督員限りの資料です。",
            scope={"kind": "roles", "roles": ["supervisor", "inspector"]},
        )
    )["id"]
    return ids


async def test_board_search_by_title_author_and_date(b: Board) -> None:
    ids = await _corpus(b)
    url = f"works/{ids['work']}/posts"

    async def titles(who: str, **params: str) -> list[str]:
        page = await b.ok(who, "GET", url, params=params)
        return [p["title"] for p in page["items"]]

    assert await titles("sup", q="コンクリート") == [
        "コンクリート単価の内訳",
        "コンクリート打設の予定",
    ]
    # The contractor never finds what the scope hides, not even its existence in the total.
    page = await b.ok("b1", "GET", url, params={"q": "コンクリート"})
    assert [p["title"] for p in page["items"]] == ["コンクリート打設の予定"]
    assert page["total"] == 1
    assert await titles("sup", author_id=b["b1"].user_id) == ["コンクリート打設の予定"]
    assert await titles("sup", date_from="2026-06-02", date_to="2026-06-05") == ["鉄筋検査の日程"]
    assert await titles("sup", q="検査", author_id=b["sup"].user_id) == ["鉄筋検査の日程"]
    # Half-width katakana and hiragana find the same titles.
    assert await titles("sup", q="ｺﾝｸﾘｰﾄ打設") == ["コンクリート打設の予定"]
    bad = await b.call(
        "sup", "GET", url, params={"date_from": "2026-06-10", "date_to": "2026-06-01"}
    )
    assert bad.status_code == 400
    # Authors to search by: those of the posts the reader reads, with names.
    audience = await b.ok("b1", "GET", f"{url}/audience")
    assert sorted(a["name"] for a in audience["authors"]) == ["春日 太郎", "監督 一郎"]


async def test_search_across_works_is_limited_to_ones_works_and_scopes(b: Board) -> None:
    ids = await _corpus(b)
    other = await b.work(title="県道改良工事", members={"b2": "contractor_member"})
    await b.post("sup", other["id"], title="コンクリート試験の報告")
    hits = await b.ok("sup", "GET", "bulletins/search", params={"q": "コンクリート"})
    assert {h["title"] for h in hits["items"]} == {
        "コンクリート単価の内訳",
        "コンクリート打設の予定",
        "コンクリート試験の報告",
    }
    assert {h["work_title"] for h in hits["items"]} == {"国道2号道路改良設計業務", "県道改良工事"}
    b1 = await b.ok("b1", "GET", "bulletins/search", params={"q": "コンクリート"})
    assert [h["post_id"] for h in b1["items"]] == [ids["pour"]]
    assert b1["total"] == 1
    alien = await b.ok("alien", "GET", "bulletins/search", params={"q": "コンクリート"})
    assert alien == {"items": [], "next_cursor": None, "total": 0}


async def test_main_search_finds_bodies_and_attachment_text_within_scope(b: Board) -> None:
    """The main search (``/search``) holds posts and replies with their attachments' text."""
    work = await b.work()
    pdf = japanese([["仮設足場の点検記録", "第2頁 手すりの緩みを是正した。"]])
    aid = await b.attachment("sup", pdf, "足場点検.pdf", work["id"], "application/pdf")
    secret = await b.post(
        "sup",
        work["id"],
        title="安全点検の結果",
        body="詳細は添付のとおり。",
        attachment_ids=[aid],
        scope={"kind": "roles", "roles": ["supervisor"]},
    )
    open_post = await b.post(
        "b1", work["id"], title="朝礼の連絡", body="明朝は手すりの点検から始めます。"
    )
    reply = await b.reply("b2", open_post["id"], body="足場の手すりも確認します。")

    async def found(who: str, q: str, **extra: str) -> set[str]:
        page = await b.ok(who, "GET", "search", params={"q": q, **extra})
        return {h["id"] for h in page["hits"]}

    assert await found("sup", "手すりの緩み") == {secret["id"]}  # from the PDF's second page
    assert await found("b1", "手すりの緩み") == set()
    assert await found("sup", "手すり") == {secret["id"], open_post["id"], reply["id"]}
    assert await found("b1", "手すり") == {open_post["id"], reply["id"]}
    assert await found("alien", "手すり") == set()
    assert await found("sup", "手すり", type="reply") == {reply["id"]}
    page = await b.ok("sup", "GET", "search", params={"q": "緩み", "type": "post"})
    [hit] = page["hits"]
    assert (hit["type"], hit["work_id"], hit["title"]) == ("post", work["id"], "安全点検の結果")
    assert "<mark>緩み</mark>" in hit["highlights"][0]["snippet"]
    # Operators search works and files, never the parties' posts (no acl filter for them,
    # so the post types are left out of their searches).
    assert await found("op", "手すり") == set()
    assert await found("op", "手すり", type="post") == set()
    assert work["id"] in await found("op", "国道2号")


async def test_the_index_follows_edits_deletions_and_rebuilds(b: Board) -> None:
    work = await b.work()
    post = await b.post("sup", work["id"], title="旧タイトル", body="本文")
    reply = await b.reply("b1", post["id"], body="返信本文")
    b.tick()
    edited = await b.ok(
        "sup",
        "PATCH",
        f"posts/{post['id']}",
        json={"version": post["version"] + 1, "title": "新タイトル"},
    )
    hits = await b.ok("b1", "GET", "search", params={"q": "新タイトル"})
    assert {h["id"] for h in hits["hits"]} == {post["id"], reply["id"]}
    report = await check(b.container)
    assert report.clean, report.lines()
    await reindex(b.container)
    assert (await check(b.container)).clean
    b.clock.advance(seconds=1)
    r = await b.call("sup", "DELETE", f"posts/{post['id']}", params={"version": edited["version"]})
    assert r.status_code == 204
    assert (await b.ok("b1", "GET", "search", params={"q": "タイトル"}))["hits"] == []
    assert (await check(b.container)).clean


async def test_attachment_text_that_arrives_after_posting_is_found(b: Board) -> None:
    """Ingest runs as a task after the upload: when a file's text arrives after its post was
    saved, the post's document is rebuilt (``after_ingest``)."""
    from api.attachments.service import AttachmentService

    work = await b.work()
    held: list[dict[str, str]] = []
    real_send = b.container.jobs.send

    async def hold_ingest(task: str, kwargs: dict[str, str], *, job_id: str) -> None:
        if task == "attachments.ingest":
            held.append(kwargs)
            return
        await real_send(task, kwargs, job_id=job_id)

    # Jobs reach the queue through the outbox (api.jobs.ledger), which calls ``send``.
    b.container.jobs.send = hold_ingest  # type: ignore[method-assign]
    pdf = japanese([["法面保護工の出来形", "吹付厚さは設計どおり確保されている。"]])
    aid = await b.attachment("sup", pdf, "出来形.pdf", work["id"], "application/pdf")
    post = await b.post("sup", work["id"], title="出来形の報告", attachment_ids=[aid])
    assert [h["attachment_id"] for h in held] == [aid]
    assert (await b.ok("b1", "GET", "search", params={"q": "吹付厚さ"}))["hits"] == []
    assert await AttachmentService(b.container).ingest(aid) == "done"
    hits = await b.ok("b1", "GET", "search", params={"q": "吹付厚さ"})
    assert [h["id"] for h in hits["hits"]] == [post["id"]]
    assert (await check(b.container)).clean
