"""For supervisors (業務担当員) with many works: all their works' posts as a tree work → post
(seed 001 別表1-2 2(7)) and one post registered, edited or deleted in several or all of their
works at once, each copy audited (別表1-2 2(8))."""

from __future__ import annotations

import pytest

from tests.bulletins.harness import Board

pytestmark = pytest.mark.anyio


async def test_the_tree_lists_ones_works_with_unread_counts_and_latest_post(b: Board) -> None:
    """別表1-2 2(7): 担当する複数又は全ての業務で登録された記事等をツリー構造等で一覧表示できる."""
    one = await b.work(number="R8-001")
    two = await b.work(number="R8-002", title="県道改良工事")
    await b.work(number="R8-003", title="河川護岸工事", members={})
    await b.post("b1", one["id"], title="一の1")
    await b.post("b1", one["id"], title="一の2")
    await b.post("sup", two["id"], title="二の1")
    tree = await b.ok("sup", "GET", "bulletins/tree")
    assert [
        (w["work"]["number"], w["work"]["title"], w["unread"], w["latest_title"])
        for w in tree["items"]
    ] == [
        ("R8-001", "国道2号道路改良設計業務", 2, "一の2"),
        ("R8-002", "県道改良工事", 0, "二の1"),
        ("R8-003", "河川護岸工事", 0, None),
    ]
    page = await b.ok("sup", "GET", "bulletins/tree", params={"limit": 2})
    assert len(page["items"]) == 2
    rest = await b.ok(
        "sup", "GET", "bulletins/tree", params={"limit": 2, "cursor": page["next_cursor"]}
    )
    assert [w["work"]["number"] for w in rest["items"]] == ["R8-003"]
    # The second level is each work's board list.
    posts = await b.ok("sup", "GET", f"works/{one['id']}/posts")
    assert [p["title"] for p in posts["items"]] == ["一の2", "一の1"]
    assert [w["work"]["number"] for w in (await b.ok("b1", "GET", "bulletins/tree"))["items"]] == [
        "R8-001",
        "R8-002",
    ]


async def test_a_bulk_post_is_one_audited_copy_per_work(b: Board) -> None:
    """別表1-2 2(8): 担当する複数又は全ての業務で記事等を一括して登録、修正、削除できる."""
    works = [await b.work(number=f"R8-10{i}", title=f"業務{i}") for i in range(3)]
    ids = [w["id"] for w in works]
    aid = await b.attachment(
        "sup", b"%PDF-1.4\n%%EOF\n", "年末年始の体制.pdf", None, "application/pdf"
    )
    b.tick()
    bulk = await b.ok(
        "sup",
        "POST",
        "bulletins/bulk",
        201,
        json={
            "work_ids": ids,
            "title": "年末年始の連絡体制",
            "body": "12月29日から1月3日までは閉庁します。",
            "scope": {"kind": "roles", "roles": ["contractor_member"]},
            "attachment_ids": [aid],
        },
    )
    assert [c["work_id"] for c in bulk["copies"]] == ids
    assert [w["title"] for w in bulk["works"]] == ["業務0", "業務1", "業務2"]
    created = await b.events("bulletins.post_created")
    assert sorted(e["target"] for e in created) == sorted(
        f"posts/{c['id']}" for c in bulk["copies"]
    )
    assert {e["detail"]["bulk_id"] for e in created} == {bulk["id"]}
    # Each copy is an ordinary post of its work with its own copy of the file.
    for copy in bulk["copies"]:
        thread = await b.ok("b1", "GET", f"posts/{copy['id']}")
        [file] = thread["attachments"]
        assert file["name"] == "年末年始の体制.pdf"
        got = await b.call("b1", "GET", f"attachments/{file['id']}/content")
        assert got.content == b"%PDF-1.4\n%%EOF\n"
        # ... stored in that work's collaboration scope (issue 12 §1: never shared across
        # scopes, so erasing one work's data leaves the others' copies readable)
        record = await b.container.records.get("attachments", file["id"])
        assert record is not None
        assert record["scope"] == f"wc-{copy['work_id']}"
        blob = await b.container.records.get("blobs", f"{record['scope']}:{record['sha256']}")
        assert blob is not None
        assert blob["key"].startswith(f"s/{record['scope']}/objects/")
        assert (await b.call("insp", "GET", f"posts/{copy['id']}")).status_code == 404
    assert (await b.unread("b1"))["total"] == 3
    # Edit in two of the works; each edited copy keeps a revision and an audit event.
    b.tick()
    edited = await b.ok(
        "sup",
        "PATCH",
        f"bulletins/bulk/{bulk['id']}",
        json={
            "version": bulk["version"],
            "title": "年末年始の連絡体制（訂正）",
            "work_ids": ids[:2],
        },
    )
    assert [c["title"] for c in edited["copies"]] == ["年末年始の連絡体制（訂正）"] * 2 + [
        "年末年始の連絡体制"
    ]
    assert len(await b.events("bulletins.post_edited")) == 2
    # Delete everywhere.
    r = await b.call(
        "sup", "DELETE", f"bulletins/bulk/{bulk['id']}", params={"version": edited["version"]}
    )
    assert r.status_code == 200
    assert r.json()["copies"] == []
    assert len(await b.events("bulletins.post_deleted")) == 3
    assert (await b.unread("b1"))["total"] == 0
    # Only its author sees the bulk post.
    assert (await b.call("insp", "GET", f"bulletins/bulk/{bulk['id']}")).status_code == 404


async def test_bulk_posting_needs_the_supervisor_of_every_work(b: Board) -> None:
    mine = await b.work()
    not_mine = await b.work(title="検査員の業務")
    # The inspector of a work may not bulk post there (403); a work not theirs is 404; nothing
    # is made in any work when one is refused.
    r = await b.call(
        "insp", "POST", "bulletins/bulk", json={"work_ids": [mine["id"]], "title": "x"}
    )
    assert r.status_code == 403
    r = await b.call(
        "b1",
        "POST",
        "bulletins/bulk",
        json={"work_ids": [mine["id"], not_mine["id"]], "title": "x"},
    )
    assert r.status_code == 403
    r = await b.call(
        "alien", "POST", "bulletins/bulk", json={"work_ids": [mine["id"]], "title": "x"}
    )
    assert r.status_code == 404
    r = await b.call(
        "sup",
        "POST",
        "bulletins/bulk",
        json={"work_ids": [mine["id"], "01HZZZZZZZZZZZZZZZZZZZZZZZ"], "title": "x"},
    )
    assert r.status_code == 404
    assert await b.container.records.count("posts") == 0
