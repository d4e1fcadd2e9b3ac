"""User-defined groups and their feed (seed 001 別表1-1 2(9), 別表1-2 2(9): 同一システムを利用
する利用者のグループ設定が任意にできる。グループのメンバーが関係する工事に登録された掲示板の
記事・コメントを一元的に表示できる)."""

from __future__ import annotations

import pytest

from tests.bulletins.harness import Board

pytestmark = pytest.mark.anyio


async def test_a_user_makes_groups_of_people_they_deal_with(b: Board) -> None:
    await b.work()
    candidates = await b.ok("sup", "GET", "groups/candidates")
    names = {c["name"] for c in candidates}
    # Own organization and members of own works; never another organization's stranger.
    assert {"検査 花子", "閲覧 三郎", "所属 四郎", "府中 五郎", "春日 太郎", "春日 次郎"} <= names
    assert not names & {"瀬戸 六郎", "尾道 七郎", "監督 一郎"}
    assert [
        c["name"] for c in await b.ok("sup", "GET", "groups/candidates", params={"q": "春日"})
    ] == [
        "春日 太郎",
        "春日 次郎",
    ]
    group = await b.ok(
        "sup",
        "POST",
        "groups",
        201,
        json={"name": "受注者の担当", "member_ids": [b["b1"].user_id, b["b2"].user_id]},
    )
    assert [m["name"] for m in group["members"]] == ["春日 太郎", "春日 次郎"]
    assert [e["target"] for e in await b.events("bulletins.group_created")] == [
        f"user_groups/{group['id']}"
    ]
    # Someone unknown to the owner is refused, nothing stored.
    r = await b.call(
        "sup", "POST", "groups", json={"name": "x", "member_ids": [b["alien"].user_id]}
    )
    assert r.status_code == 400
    assert r.json()["field"] == "member_ids"
    assert len(await b.ok("sup", "GET", "groups")) == 1
    # Only the owner sees and changes the group.
    for who in ("b1", "insp", "alien"):
        assert (await b.call(who, "GET", f"groups/{group['id']}")).status_code == 404
        r = await b.call(who, "PATCH", f"groups/{group['id']}", json={"version": 1, "name": "x"})
        assert r.status_code == 404
    renamed = await b.ok(
        "sup",
        "PATCH",
        f"groups/{group['id']}",
        json={"version": group["version"], "name": "春日建設", "member_ids": [b["b1"].user_id]},
    )
    assert (renamed["name"], [m["name"] for m in renamed["members"]]) == ("春日建設", ["春日 太郎"])
    r = await b.call(
        "sup", "DELETE", f"groups/{group['id']}", params={"version": renamed["version"]}
    )
    assert r.status_code == 204
    assert await b.ok("sup", "GET", "groups") == []


async def test_the_feed_shows_posts_and_replies_of_works_involving_the_group(b: Board) -> None:
    one = await b.work()
    two = await b.work(
        title="県道改良工事", members={"b2": "contractor_member", "insp": "inspector"}
    )
    three = await b.work(title="河川護岸工事", members={"insp": "inspector"})
    a = await b.post("b1", one["id"], title="一の記事")
    reply = await b.reply("sup", a["id"], body="一への返信")
    c = await b.post("b2", two["id"], title="二の記事")
    hidden = await b.post(
        "b2",
        two["id"],
        title="二の受注者限り",
        scope={"kind": "roles", "roles": ["contractor_member"]},
    )
    await b.post("insp", three["id"], title="三の記事")
    group = await b.ok(
        "sup", "POST", "groups", 201, json={"name": "春日建設", "member_ids": [b["b2"].user_id]}
    )
    feed = await b.ok("sup", "GET", f"groups/{group['id']}/feed")
    # b2 is in works one and two: their posts and replies, newest first, but not the post b2
    # limited to contractors (the viewer does not read it) nor work three.
    assert [(i["type"], i["title"], i["work_title"]) for i in feed["items"]] == [
        ("post", "二の記事", "県道改良工事"),
        ("reply", "一の記事", "国道2号道路改良設計業務"),
        ("post", "一の記事", "国道2号道路改良設計業務"),
    ]
    assert feed["items"][1]["id"] == reply["id"]
    assert feed["items"][1]["excerpt"] == "一への返信"
    assert feed["items"][0]["post_id"] == c["id"]
    assert hidden["id"] not in {i["post_id"] for i in feed["items"]}
    # A group scope reaches the group's members in that work.
    post = await b.post(
        "sup", one["id"], title="グループあて", scope={"kind": "group", "group_id": group["id"]}
    )
    assert (await b.call("b2", "GET", f"posts/{post['id']}")).status_code == 200
    assert (await b.call("b1", "GET", f"posts/{post['id']}")).status_code == 404
    lonely = await b.ok(
        "sup", "POST", "groups", 201, json={"name": "外部", "member_ids": [b["same"].user_id]}
    )
    r = await b.call(
        "sup",
        "POST",
        f"works/{one['id']}/posts",
        json={"title": "x", "scope": {"kind": "group", "group_id": lonely["id"]}},
    )
    assert r.status_code == 400
    assert r.json()["field"] == "scope"
    # Another user's group cannot be used as a scope.
    r = await b.call(
        "b1",
        "POST",
        f"works/{one['id']}/posts",
        json={"title": "x", "scope": {"kind": "group", "group_id": group["id"]}},
    )
    assert r.status_code == 400
