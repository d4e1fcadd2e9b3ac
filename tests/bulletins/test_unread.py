"""Unread posts of all one's works at sign-in (seed 001 別表1-1 2(6), 別表1-2 2(10): ログイン時
に、担当する工事に関する未読の記事等のタイトル一覧を表示できる), reply counts too, "mark all
read" per work and everywhere.

The property test drives the API with random operations (posts with every scope kind, replies,
reads, scope edits, deletions, mark-all-read, members leaving, joining and changing roles, a
work archived) and after each one compares every user's unread list with a model written here
from the rules alone (not from the code under test): the total always equals the list's length
(module-anchors §1: Discourse's count != list, PR #40473), and the list is the model's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.bulletins.harness import Board

pytestmark = pytest.mark.anyio

WRITERS = {"supervisor", "inspector", "contractor_member"}
ARCHIVE_READERS = {"supervisor", "inspector", "archive_reader"}


async def test_a_new_post_is_unread_for_its_readers_until_they_open_it(b: Board) -> None:
    work = await b.work()
    other = await b.work(title="県道改良工事", members={"b1": "contractor_member"})
    post = await b.post("b1", work["id"], title="工程の変更", importance="important")
    elsewhere = await b.post("sup", other["id"], title="別件の連絡")
    sup = await b.unread("sup")
    assert sup["total"] == 1
    [item] = sup["items"]
    assert (item["title"], item["work_title"], item["author_name"]) == (
        "工程の変更",
        "国道2号道路改良設計業務",
        "春日 太郎",
    )
    assert (item["new_post"], item["new_replies"], item["importance"]) == (True, 0, "important")
    # The author has nothing unread there; b1 has the post of the other work.
    b1 = await b.unread("b1")
    assert [(i["post_id"], i["work_title"]) for i in b1["items"]] == [
        (elsewhere["id"], "県道改良工事")
    ]
    await b.ok("sup", "POST", f"posts/{post['id']}/read")
    assert (await b.unread("sup"))["total"] == 0


async def test_replies_make_a_read_post_unread_again_with_their_count(b: Board) -> None:
    work = await b.work()
    post = await b.post("b1", work["id"])
    await b.ok("sup", "POST", f"posts/{post['id']}/read")
    await b.reply("b2", post["id"])
    await b.reply("insp", post["id"])
    [item] = (await b.unread("sup"))["items"]
    assert (item["new_post"], item["new_replies"]) == (False, 2)
    thread = await b.ok("sup", "GET", f"posts/{post['id']}")
    assert [r["new"] for r in thread["replies"]] == [True, True]
    assert thread["post"]["new_replies"] == 2
    # The author hears of both replies; replying counts as reading.
    [mine] = (await b.unread("b1"))["items"]
    assert mine["new_replies"] == 2
    await b.reply("b1", post["id"])
    assert (await b.unread("b1"))["total"] == 0
    # A deleted reply is no longer new to anyone.
    replies = (await b.ok("b2", "GET", f"posts/{post['id']}"))["replies"]
    mine_reply = replies[-1]
    r = await b.call(
        "b1",
        "DELETE",
        f"posts/{post['id']}/replies/{mine_reply['id']}",
        params={"version": mine_reply["version"]},
    )
    assert r.status_code == 204
    [item] = (await b.unread("sup"))["items"]
    assert item["new_replies"] == 2


async def test_mark_all_read_per_work_and_everywhere(b: Board) -> None:
    one = await b.work()
    two = await b.work(title="県道改良工事")
    for _ in range(3):
        await b.post("b1", one["id"])
        await b.post("b1", two["id"])
    assert (await b.unread("sup"))["total"] == 6
    assert (await b.unread("sup", work_id=one["id"]))["total"] == 3
    r = await b.ok("sup", "POST", f"works/{one['id']}/posts/read-all")
    assert r == {"marked": 3}
    assert {i["work_id"] for i in (await b.unread("sup"))["items"]} == {two["id"]}
    assert (await b.ok("sup", "POST", "bulletins/read-all")) == {"marked": 3}
    assert (await b.unread("sup"))["total"] == 0
    # Per work for someone outside it: the work is not revealed.
    r = await b.call("oread", "POST", f"works/{one['id']}/posts/read-all")
    assert r.status_code == 403  # reads every work of the orderer, is no member of its board
    for who in ("other", "alien"):  # the work is not revealed
        r = await b.call(who, "POST", f"works/{one['id']}/posts/read-all")
        assert r.status_code == 404


async def test_the_board_list_marks_unread_posts(b: Board) -> None:
    work = await b.work()
    a = await b.post("b1", work["id"], title="A")
    c = await b.post("b1", work["id"], title="C")
    await b.ok("sup", "POST", f"posts/{a['id']}/read")
    page = await b.ok("sup", "GET", f"works/{work['id']}/posts")
    assert [(p["title"], p["unread"]) for p in page["items"]] == [("C", True), ("A", False)]
    assert page["unread"] == 1
    assert c["id"] == page["items"][0]["id"]


async def test_leaving_a_work_or_losing_the_role_removes_its_unread_posts(b: Board) -> None:
    work = await b.work()
    await b.post("sup", work["id"], scope={"kind": "roles", "roles": ["contractor_member"]})
    await b.post("sup", work["id"])
    assert (await b.unread("b1"))["total"] == 2
    member = await b.ok("sup", "GET", f"works/{work['id']}/members")
    version = next(m["version"] for m in member if m["user_id"] == b["b1"].user_id)
    await b.ok(
        "sup",
        "PATCH",
        f"works/{work['id']}/members/{b['b1'].user_id}",
        json={"role": "viewer", "version": version},
    )
    assert (await b.unread("b1"))["total"] == 1
    r = await b.call("sup", "DELETE", f"works/{work['id']}/members/{b['b1'].user_id}")
    assert r.status_code == 204
    assert (await b.unread("b1"))["total"] == 0


async def test_mark_all_read_everywhere_is_one_mark_and_new_activity_starts_afresh(
    b: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everywhere at once costs one write (the rows are swept later by a task): until then
    the covered rows count as read, in the list, the count, the board and the thread."""
    from api.bulletins.unread import UnreadTracker

    swept: list[str] = []

    async def later(self: UnreadTracker, user_id: str) -> int:
        swept.append(user_id)
        return 0

    monkeypatch.setattr(UnreadTracker, "sweep", later)
    work = await b.work()
    a = await b.post("b1", work["id"], title="A")
    await b.post("b1", work["id"], title="B")
    await b.reply("b2", a["id"], body="一つ目")
    assert (await b.unread("sup"))["total"] == 2
    assert await b.ok("sup", "POST", "bulletins/read-all") == {"marked": 2}
    assert swept == [b["sup"].user_id]
    assert await b.container.records.count("post_unread", []) > 0  # not swept yet
    assert (await b.unread("sup"))["total"] == 0
    assert (await b.unread("sup", work_id=work["id"]))["total"] == 0
    listed = await b.ok("sup", "GET", f"works/{work['id']}/posts")
    assert [p["unread"] for p in listed["items"]] == [False, False]
    assert listed["unread"] == 0
    # A reply after the mark makes A unread again, with one new reply (not two).
    second = await b.reply("b2", a["id"], body="二つ目")
    [item] = (await b.unread("sup"))["items"]
    assert (item["post_id"], item["new_post"], item["new_replies"]) == (a["id"], False, 1)
    thread = await b.ok("sup", "GET", f"posts/{a['id']}")
    assert [r["new"] for r in thread["replies"]] == [False, True]
    # Deleting that reply leaves nothing unread; deleting the first changes nothing.
    r = await b.call(
        "b2", "DELETE", f"posts/{a['id']}/replies/{second['id']}", params={"version": 1}
    )
    assert r.status_code == 204
    assert (await b.unread("sup"))["total"] == 0
    first = thread["replies"][0]
    r = await b.call(
        "b2",
        "DELETE",
        f"posts/{a['id']}/replies/{first['id']}",
        params={"version": first["version"]},
    )
    assert r.status_code == 204
    assert (await b.unread("sup"))["total"] == 0
    # The sweep deletes exactly the covered rows.
    monkeypatch.undo()
    assert await UnreadTracker(b.container.records).sweep(b["sup"].user_id) == 1  # B's
    assert (await b.unread("sup"))["total"] == 0


# -- the property test ------------------------------------------------------------------------
@dataclass
class Post:
    id: str
    work: str
    author: str
    scope: dict[str, Any]
    created: int
    version: int
    active: bool = True


@dataclass
class Reply:
    id: str
    post: str
    author: str
    created: int
    version: int
    active: bool = True


@dataclass
class Model:
    """The rules, written down independently: a post is unread for a user who reads it when
    someone else posted it or replied to it after the user last saw it. "Seen" happens by
    posting, replying, opening, "mark all read", and by gaining access through membership (news
    since joining); gaining access by a scope edit makes the post new."""

    people: list[str]
    roles: dict[str, dict[str, str]] = field(default_factory=dict)  # work -> user -> role
    status: dict[str, str] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    replies: dict[str, Reply] = field(default_factory=dict)
    seen: dict[tuple[str, str], int | None] = field(default_factory=dict)  # (user, post) -> t
    clock: int = 0

    def reads(self, user: str, post: Post) -> bool:
        role = self.roles[post.work].get(user)
        if role is None or not post.active:
            return False
        if self.status[post.work] == "archived" and role not in ARCHIVE_READERS:
            return False
        if user == post.author:
            return True
        kind = post.scope["kind"]
        if kind == "members":
            return True
        if kind == "roles":
            return role in post.scope["roles"]
        return user in post.scope["user_ids"]

    def visible(self) -> dict[str, set[str]]:
        return {u: {p.id for p in self.posts.values() if self.reads(u, p)} for u in self.people}

    def after_access_change(self, before: dict[str, set[str]], *, new: bool) -> None:
        """Posts a user newly reads are seen now (membership) or new (scope edit)."""
        after = self.visible()
        for user in self.people:
            for pid in after[user] - before[user]:
                self.seen[(user, pid)] = None if new else self.clock

    def unread(self, user: str) -> dict[str, tuple[bool, int]]:
        out: dict[str, tuple[bool, int]] = {}
        for post in self.posts.values():
            if not self.reads(user, post):
                continue
            t = self.seen.get((user, post.id))
            replies = [
                r
                for r in self.replies.values()
                if r.post == post.id
                and r.active
                and r.author != user
                and (t is None or r.created > t)
            ]
            new_post = t is None and post.author != user
            if new_post or replies:
                out[post.id] = (new_post, len(replies))
        return out


class Driver:
    def __init__(self, b: Board, rng: random.Random, works: list[str], read_all: int = 1) -> None:
        self.read_all = read_all
        self.b = b
        self.rng = rng
        self.works = works
        self.m = Model(people=["sup", "insp", "view", "b1", "b2"])
        self.log: list[str] = []

    def now(self) -> int:
        self.b.tick()
        self.m.clock += 1
        return self.m.clock

    def writers(self, work: str) -> list[str]:
        if self.m.status[work] not in ("registered", "in_progress"):
            return []
        return sorted(u for u, r in self.m.roles[work].items() if r in WRITERS)

    async def step(self) -> None:
        rng, m = self.rng, self.m
        ops = ["post"] * 6 + ["reply"] * 5 + ["read"] * 3 + ["scope", "delete", "delete_reply"]
        ops += ["read_all_work", "leave", "join", "role"] + ["read_all"] * self.read_all
        if len(self.log) > 50 and self.rng.random() < 0.04:
            ops = ["archive"]
        op = rng.choice(ops)
        work = rng.choice(self.works)
        self.log.append(op)
        if op == "post" and self.writers(work):
            author = rng.choice(self.writers(work))
            members = sorted(m.roles[work])
            kind = rng.choice(["members", "roles", "users"])
            scope: dict[str, Any] = {"kind": kind}
            if kind == "roles":
                scope["roles"] = rng.sample(
                    ["supervisor", "inspector", "contractor_member", "viewer"], 2
                )
            elif kind == "users":
                others = [u for u in members if u != author] or [author]
                scope["user_ids"] = sorted(rng.sample(others, min(2, len(others))))
            if kind == "users" and scope["user_ids"] == [author]:
                return
            api_scope = dict(scope)
            if kind == "users":
                api_scope["user_ids"] = [self.b[u].user_id for u in scope["user_ids"]]
            t = self.now()
            r = await self.b.ok(
                author,
                "POST",
                f"works/{work}/posts",
                201,
                json={"title": f"記事{t}", "scope": api_scope},
            )
            m.posts[r["id"]] = Post(r["id"], work, author, scope, t, r["version"])
            m.seen[(author, r["id"])] = t
        elif op == "reply":
            candidates = [
                (u, p) for p in m.posts.values() for u in self.writers(p.work) if m.reads(u, p)
            ]
            if candidates:
                user, post = rng.choice(candidates)
                t = self.now()
                r = await self.b.ok(
                    user, "POST", f"posts/{post.id}/replies", 201, json={"body": f"返信{t}"}
                )
                m.replies[r["id"]] = Reply(r["id"], post.id, user, t, r["version"])
                m.seen[(user, post.id)] = t
                post.version += 1
        elif op == "read":
            candidates = [(u, p) for p in m.posts.values() for u in m.people if m.reads(u, p)]
            if candidates:
                user, post = rng.choice(candidates)
                t = self.now()
                await self.b.ok(user, "POST", f"posts/{post.id}/read")
                m.seen[(user, post.id)] = t
        elif op == "scope":
            mine = [
                p
                for p in m.posts.values()
                if p.active and p.author in self.writers(p.work) and m.reads(p.author, p)
            ]
            if mine:
                post = rng.choice(mine)
                kind = rng.choice(["members", "roles"])
                scope = {"kind": kind}
                if kind == "roles":
                    scope["roles"] = rng.sample(
                        ["supervisor", "inspector", "contractor_member", "viewer"], 2
                    )
                before = m.visible()
                self.now()
                r = await self.b.ok(
                    post.author,
                    "PATCH",
                    f"posts/{post.id}",
                    json={"version": post.version, "scope": scope},
                )
                post.scope, post.version = scope, r["version"]
                m.after_access_change(before, new=True)
        elif op == "delete":
            mine = [
                p
                for p in m.posts.values()
                if p.active and p.author in self.writers(p.work) and m.reads(p.author, p)
            ]
            if mine:
                post = rng.choice(mine)
                self.now()
                r = await self.b.call(
                    post.author, "DELETE", f"posts/{post.id}", params={"version": post.version}
                )
                assert r.status_code == 204, r.text
                post.active = False
        elif op == "delete_reply":
            mine = [
                r
                for r in m.replies.values()
                if r.active
                and m.posts[r.post].active
                and r.author in self.writers(m.posts[r.post].work)
                and m.reads(r.author, m.posts[r.post])
            ]
            if mine:
                reply = rng.choice(mine)
                # A scope edit rewrites the replies' acl (their versions move): read it first.
                thread = await self.b.ok(reply.author, "GET", f"posts/{reply.post}")
                version = next(x["version"] for x in thread["replies"] if x["id"] == reply.id)
                self.now()
                r = await self.b.call(
                    reply.author,
                    "DELETE",
                    f"posts/{reply.post}/replies/{reply.id}",
                    params={"version": version},
                )
                assert r.status_code == 204, r.text
                reply.active = False
                m.posts[reply.post].version += 1
        elif op == "read_all_work":
            readers = [
                u
                for u in m.people
                if u in m.roles[work]
                and (m.status[work] != "archived" or m.roles[work][u] in ARCHIVE_READERS)
            ]
            if readers:
                user = rng.choice(readers)
                t = self.now()
                await self.b.ok(user, "POST", f"works/{work}/posts/read-all")
                for p in m.posts.values():
                    if p.work == work and m.reads(user, p):
                        m.seen[(user, p.id)] = t
        elif op == "read_all":
            user = rng.choice(m.people)
            t = self.now()
            await self.b.ok(user, "POST", "bulletins/read-all")
            for p in m.posts.values():
                if m.reads(user, p):
                    m.seen[(user, p.id)] = t
        elif op in ("leave", "join", "role") and m.status[work] != "archived":
            user = rng.choice(["insp", "view", "b1", "b2"])
            role = rng.choice(
                ["inspector", "viewer"]
                if user in ("insp", "view")
                else ["contractor_member", "viewer"]
            )
            before = m.visible()
            self.now()
            uid = self.b[user].user_id
            if op == "leave" and user in m.roles[work]:
                r = await self.b.call("sup", "DELETE", f"works/{work}/members/{uid}")
                assert r.status_code == 204, r.text
                del m.roles[work][user]
            elif op == "join" and user not in m.roles[work]:
                await self.b.ok(
                    "sup", "POST", f"works/{work}/members", 201, json={"user_id": uid, "role": role}
                )
                m.roles[work][user] = role
            elif op == "role" and user in m.roles[work]:
                members = await self.b.ok("sup", "GET", f"works/{work}/members")
                version = next(x["version"] for x in members if x["user_id"] == uid)
                await self.b.ok(
                    "sup",
                    "PATCH",
                    f"works/{work}/members/{uid}",
                    json={"role": role, "version": version},
                )
                m.roles[work][user] = role
            m.after_access_change(before, new=False)
        elif op == "archive":
            for to in ("in_progress", "completed", "archived")[
                ("registered", "in_progress", "completed", "archived").index(m.status[work]) :
            ]:
                current = await self.b.ok("sup", "GET", f"works/{work}")
                self.now()
                await self.b.ok(
                    "sup",
                    "POST",
                    f"works/{work}/transition",
                    json={"to": to, "version": current["version"]},
                )
                m.status[work] = to

    async def check(self) -> None:
        for user in self.m.people:
            limit = self.rng.choice([2, 50])
            got = await self.b.unread(user, limit=limit)
            ids = [i["post_id"] for i in got["items"]]
            assert got["total"] == len(ids), (user, self.log)
            assert len(ids) == len(set(ids)), (user, self.log)
            want = self.m.unread(user)
            found = {i["post_id"]: (i["new_post"], i["new_replies"]) for i in got["items"]}
            assert found == want, (user, self.log[-8:])
            stamps = [i["activity_at"] for i in got["items"]]
            assert stamps == sorted(stamps, reverse=True)
            for work in self.works:
                if user in self.m.roles[work] and (
                    self.m.status[work] != "archived" or self.m.roles[work][user] in ARCHIVE_READERS
                ):
                    per = await self.b.ok(
                        user, "GET", "bulletins/unread", params={"work_id": work, "limit": 200}
                    )
                    assert (
                        per["total"]
                        == len(per["items"])
                        == sum(1 for p in want if self.m.posts[p].work == work)
                    ), (user, work, self.log[-8:])


@pytest.mark.parametrize(("seed", "sweep"), [(7, True), (2026, False)])
async def test_the_unread_count_always_equals_the_unread_list(
    b: Board, seed: int, sweep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``sweep`` off, the rows "mark all read everywhere" covers stay (as when the sweep
    task has not run yet): they must count as read until new activity starts them afresh."""
    if not sweep:
        from api.bulletins.unread import UnreadTracker

        async def no_sweep(self: UnreadTracker, user_id: str) -> int:
            return 0

        monkeypatch.setattr(UnreadTracker, "sweep", no_sweep)
    works = [await b.work(), await b.work(title="県道改良工事")]
    driver = Driver(b, random.Random(seed), [w["id"] for w in works], read_all=1 if sweep else 4)
    for work in driver.works:
        driver.m.roles[work] = {
            "sup": "supervisor",
            "insp": "inspector",
            "view": "viewer",
            "b1": "contractor_member",
            "b2": "contractor_member",
        }
        driver.m.status[work] = "registered"
    for _ in range(80):
        await driver.step()
        await driver.check()
    # The run did exercise the board (not only no-ops).
    assert len(driver.m.posts) >= 6
    assert len(driver.m.replies) >= 5
    assert any(not p.active for p in driver.m.posts.values())
