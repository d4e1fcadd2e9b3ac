"""Unread posts per user (seed 001 別表1-1 2(6), 別表1-2 2(10): ログイン時に、担当する工事に
関する未読の記事等のタイトル一覧を表示できる), replies included.

Design (against the complaints in module-anchors §1: Discourse's unread count that differs from
its unread list, PR #40473, and "dismiss new" loading every id, PR #14158):

- One ``post_unread`` row per (post, user) that has something the user has not seen, written
  in the same unit of work as the change that makes it unread (fan-out on write). The unread
  list is a keyset page over the user's rows and the count is ``count`` over *the same
  condition*, so the count is always the length of the list; reading the home page costs an
  index range on ``(user_id, activity_at)``, whatever the number of posts (1,000,000 in
  ``bench/bench_board.py``).
- A row: ``{id: "<post>:<user>", user_id, work_id, post_id, activity_at, new_post, new_replies,
  since}``. ``since`` is the post's activity the user had seen (None: never opened it);
  ``new_post`` says the post itself is unseen; ``new_replies`` counts replies by others after
  ``since`` (reply counts too). No row means "seen up to the post's latest activity".
- What writes rows: a new post (every member who reads it, but its author); a reply (every
  reader but the replier, whose own row goes: replying is reading); a scope edit (new readers
  get the post as new, readers who lost it lose the row); a deleted post or reply; reading a
  post; "mark all read" in one work (its rows deleted in pages of 500, never loading every id;
  a work holds a few thousand posts); membership changes (``on_member_changed``: rows of posts
  the member no longer reads go). Members who join see earlier posts as read (unread is news
  since they joined).
- "Mark all read" everywhere is one write whatever the backlog: a mark ``post_read_marks``
  ``{id: user, at}``; the list and the count both add ``activity_at > at`` (same condition,
  same index), and a row of no later activity counts as absent everywhere (a reply after the
  mark starts it afresh). The task ``bulletins.sweep_read`` deletes those rows afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api.bulletins.models import POSTS, READ_MARKS, UNREAD, State
from api.bulletins.scope import audience, sees
from api.works.models import MEMBERS, WORKS, member_id
from storage.errors import NotFound, StaleVersion
from storage.ports import RecordStore
from storage.query import Eq, Query, Range, Record

BATCH = 500


def row_id(post_id: str, user_id: str) -> str:
    return f"{post_id}:{user_id}"


def counted(reply: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    """Whether ``reply`` is among the row's new replies."""
    if reply.get("author_id") == row.get("user_id"):
        return False
    since = row.get("since")
    return since is None or str(reply["created_at"]) > str(since)


class UnreadTracker:
    """Keeps ``post_unread`` in step; every method runs inside the caller's unit of work."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def _delete(self, rows: Iterable[Record]) -> int:
        gone = 0
        for row in rows:
            try:
                await self.records.delete(UNREAD, str(row["id"]), None)
                gone += 1
            except NotFound:
                continue
        return gone

    async def cleared(self, user_ids: Sequence[str]) -> dict[str, str]:
        """user id → the time of their "mark all read everywhere", for those who used it."""
        marks = await self.records.get_many(READ_MARKS, sorted(set(user_ids)))
        return {str(m["id"]): str(m["at"]) for m in marks}

    @staticmethod
    def live(row: Record | None, cleared: Mapping[str, str]) -> Record | None:
        """``row`` unless "mark all read" covers it (then it counts as absent)."""
        if row is None:
            return None
        mark = cleared.get(str(row["user_id"]))
        return row if mark is None or str(row["activity_at"]) > mark else None

    async def _insert(self, post: Record, user_id: str, **fields: Any) -> None:
        await self.records.insert(
            UNREAD,
            {
                "id": row_id(post["id"], user_id),
                "user_id": user_id,
                "work_id": post["work_id"],
                "post_id": post["id"],
                "activity_at": post["activity_at"],
                **fields,
            },
        )

    # -- posts -------------------------------------------------------------------------------
    async def post_created(self, post: Record, members: Mapping[str, str], status: str) -> int:
        """Every reader but the author gets the new post unread."""
        readers = audience(post["acl"], post["work_id"], members, status) - {post["author_id"]}
        for user_id in sorted(readers):
            await self._insert(post, user_id, new_post=True, new_replies=0, since=None)
        return len(readers)

    async def scope_changed(
        self,
        post: Record,
        old_acl: Sequence[str],
        members: Mapping[str, str],
        status: str,
        replies: Sequence[Record],
    ) -> None:
        """After an edit of the scope: readers who lost the post lose its row; new readers get
        it as a new post, with the replies of others counted."""
        before = audience(old_acl, post["work_id"], members, status)
        after = audience(post["acl"], post["work_id"], members, status)
        author = post["author_id"]
        lost = before - after
        if lost:
            ids = [row_id(post["id"], u) for u in lost]
            await self._delete(await self.records.get_many(UNREAD, ids))
        gained = sorted(after - before - {author})
        stale = await self.records.get_many(UNREAD, [row_id(post["id"], u) for u in gained])
        await self._delete(stale)  # none expected: a reader who lost the post lost its row
        for user_id in gained:
            others = sum(1 for r in replies if r.get("author_id") != user_id)
            # New to them now: sorted by when it reached them, after any "mark all read".
            await self._insert(
                post,
                user_id,
                new_post=True,
                new_replies=others,
                since=None,
                activity_at=str(post["updated_at"]),
            )

    async def post_gone(self, post_id: str) -> None:
        """The post was deleted: nobody has it unread any more."""
        while True:
            page = await self.records.find(
                UNREAD, Query(where=(Eq("post_id", post_id),), limit=BATCH)
            )
            if not page.items:
                return
            await self._delete(page.items)

    # -- replies -----------------------------------------------------------------------------
    async def replied(
        self,
        post: Record,
        reply: Record,
        members: Mapping[str, str],
        status: str,
        seen_until: str,
    ) -> None:
        """A reply to ``post`` (whose activity was ``seen_until`` before it): each reader but
        the replier has one more new reply; the replier has read the thread."""
        replier = reply["author_id"]
        readers = audience(post["acl"], post["work_id"], members, status) - {replier}
        ids = [row_id(post["id"], u) for u in readers]
        rows = {r["user_id"]: r for r in await self.records.get_many(UNREAD, ids)}
        cleared = await self.cleared(list(rows))
        for user_id in sorted(readers):
            row = rows.get(user_id)
            if row is None:
                await self._insert(post, user_id, new_post=False, new_replies=1, since=seen_until)
            elif self.live(row, cleared) is None:
                # Read by "mark all read": it starts afresh with this reply.
                await self.records.update(
                    UNREAD,
                    row["id"],
                    {
                        "new_post": False,
                        "new_replies": 1,
                        "since": seen_until,
                        "activity_at": post["activity_at"],
                    },
                    row["version"],
                )
            else:
                await self.records.update(
                    UNREAD,
                    row["id"],
                    {
                        "new_replies": int(row.get("new_replies") or 0) + 1,
                        "activity_at": post["activity_at"],
                    },
                    row["version"],
                )
        await self.mark_read(replier, post["id"])

    async def reply_gone(self, post_id: str, reply: Record) -> None:
        """A reply was deleted: rows that counted it count one less; a row with nothing left
        unread goes."""
        rows = await self._rows_of(post_id)
        cleared = await self.cleared([str(r["user_id"]) for r in rows])
        for row in [r for r in rows if self.live(r, cleared) and counted(reply, r)]:
            left = int(row.get("new_replies") or 0) - 1
            if left <= 0 and not row.get("new_post"):
                await self._delete([row])
            else:
                await self.records.update(
                    UNREAD, row["id"], {"new_replies": max(0, left)}, row["version"]
                )

    async def _rows_of(self, post_id: str) -> list[Record]:
        out: list[Record] = []
        cursor: str | None = None
        while True:
            page = await self.records.find(
                UNREAD, Query(where=(Eq("post_id", post_id),), limit=BATCH, cursor=cursor)
            )
            out.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return out

    # -- reading -----------------------------------------------------------------------------
    async def mark_read(self, user_id: str, post_id: str) -> bool:
        row = await self.records.get(UNREAD, row_id(post_id, user_id))
        return row is not None and await self._delete([row]) == 1

    async def mark_everywhere(self, user_id: str, at: str) -> None:
        """Everything the user has unread up to ``at`` is read (one write)."""
        mark = await self.records.get(READ_MARKS, user_id)
        if mark is None:
            await self.records.insert(READ_MARKS, {"id": user_id, "at": at})
        elif str(mark["at"]) < at:
            await self.records.update(READ_MARKS, user_id, {"at": at}, mark["version"])

    async def sweep(self, user_id: str) -> int:
        """Delete the user's rows that "mark all read" covers, a page at a time (a row touched
        meanwhile has a later activity and stays)."""
        mark = await self.records.get(READ_MARKS, user_id)
        if mark is None:
            return 0
        gone = 0
        while True:
            page = await self.records.find(
                UNREAD,
                Query(
                    where=(Eq("user_id", user_id), Range("activity_at", lte=str(mark["at"]))),
                    limit=BATCH,
                ),
            )
            if not page.items:
                return gone
            for row in page.items:
                try:
                    await self.records.delete(UNREAD, str(row["id"]), int(row["version"]))
                    gone += 1
                except (NotFound, StaleVersion):
                    continue

    async def next_batch(self, user_id: str, work_id: str | None) -> list[Record]:
        """Up to ``BATCH`` of the user's rows (of one work), for "mark all read"."""
        where = (Eq("user_id", user_id),) + ((Eq("work_id", work_id),) if work_id else ())
        page = await self.records.find(UNREAD, Query(where=where, limit=BATCH))
        return page.items

    async def delete_rows(self, rows: Iterable[Record]) -> int:
        return await self._delete(rows)

    # -- membership --------------------------------------------------------------------------
    async def member_changed(self, work_id: str, user_id: str) -> None:
        """After a member's role changed, they left, or the work was archived: rows of posts
        they no longer read go (``api.works.hooks``)."""
        work = await self.records.get(WORKS, work_id)
        member = await self.records.get(MEMBERS, member_id(work_id, user_id))
        role = member.get("role") if member else None
        status = str((work or {}).get("status") or "")
        cursor: str | None = None
        while True:
            page = await self.records.find(
                UNREAD,
                Query(
                    where=(Eq("user_id", user_id), Eq("work_id", work_id)),
                    limit=BATCH,
                    cursor=cursor,
                ),
            )
            posts = {
                p["id"]: p
                for p in await self.records.get_many(POSTS, [r["post_id"] for r in page.items])
            }
            stale = [
                row
                for row in page.items
                if row["post_id"] not in posts
                or posts[row["post_id"]].get("state") != State.ACTIVE
                or not sees(posts[row["post_id"]]["acl"], work_id, user_id, role, status)
            ]
            await self._delete(stale)
            cursor = page.next_cursor
            if cursor is None:
                return
