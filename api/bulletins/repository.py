"""Every record-store question the board asks (style: queries live here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from api.bulletins.models import (
    BULK_INDEXES,
    BULKS,
    GROUP_INDEXES,
    GROUPS,
    POST_INDEXES,
    POSTS,
    READ_MARKS,
    REPLIES,
    REPLY_INDEXES,
    REVISION_INDEXES,
    REVISIONS,
    UNREAD,
    UNREAD_INDEXES,
    State,
)
from api.works.models import MEMBERS, WORKS
from storage.ports import RecordStore
from storage.query import Condition, Direction, Eq, In, Page, Query, Range, Record


class BoardRepository:
    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def ensure_indexes(self) -> None:
        for collection, specs in (
            (POSTS, POST_INDEXES),
            (REPLIES, REPLY_INDEXES),
            (REVISIONS, REVISION_INDEXES),
            (UNREAD, UNREAD_INDEXES),
            (BULKS, BULK_INDEXES),
            (GROUPS, GROUP_INDEXES),
        ):
            await self.records.ensure_indexes(collection, specs)

    # posts and replies --------------------------------------------------------------------
    async def post(self, post_id: str) -> Record | None:
        return await self.records.get(POSTS, post_id)

    async def reply(self, reply_id: str) -> Record | None:
        return await self.records.get(REPLIES, reply_id)

    async def posts(self, ids: Sequence[str]) -> dict[str, Record]:
        return {p["id"]: p for p in await self.records.get_many(POSTS, list(ids))}

    async def board_page(
        self,
        work_id: str,
        principals: Sequence[str],
        *,
        sort: tuple[tuple[str, Direction], ...] = (("activity_at", -1),),
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Active posts of one work that ``principals`` may read, newest activity first."""
        where: tuple[Condition, ...] = (
            Eq("work_id", work_id),
            Eq("state", State.ACTIVE.value),
            In("acl", tuple(principals)),
        )
        return await self.records.find(
            POSTS, Query(where=where, sort=sort, limit=limit, cursor=cursor)
        )

    async def replies_of(self, post_id: str, *, states: Sequence[str] = ()) -> list[Record]:
        where: list[Condition] = [Eq("post_id", post_id)]
        if states:
            where.append(In("state", tuple(states)))
        out: list[Record] = []
        cursor: str | None = None
        while True:
            page = await self.records.find(
                REPLIES,
                Query(
                    where=tuple(where),
                    sort=(("post_id", 1), ("created_at", 1)),
                    limit=1000,
                    cursor=cursor,
                ),
            )
            out.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return out

    def bulk_posts(self, bulk_id: str) -> AsyncIterator[Record]:
        return self.records.scan(POSTS, [Eq("bulk_id", bulk_id)])

    # revisions ----------------------------------------------------------------------------
    async def revisions(self, record: str) -> list[Record]:
        page = await self.records.find(
            REVISIONS,
            Query(where=(Eq("record", record),), sort=(("record", 1), ("rev", 1)), limit=1000),
        )
        return page.items

    # unread rows ----------------------------------------------------------------------------
    async def cleared_at(self, user_id: str) -> str | None:
        """When the user last marked everything read (rows of no later activity are read)."""
        mark = await self.records.get(READ_MARKS, user_id)
        return str(mark["at"]) if mark else None

    async def unread_page(
        self, user_id: str, work_id: str | None, limit: int, cursor: str | None
    ) -> tuple[Page, int]:
        """One page of the user's unread rows and how many the whole list holds: one condition
        (the mark read once) for both, so the count is always the list's length."""
        where = self._unread_where(user_id, work_id, await self.cleared_at(user_id))
        page = await self.records.find(
            UNREAD, Query(where=where, sort=(("activity_at", -1),), limit=limit, cursor=cursor)
        )
        return page, await self.records.count(UNREAD, where)

    async def unread_count(self, user_id: str, work_id: str | None = None) -> int:
        """The number of rows ``unread_page`` walks: the same condition, so always equal."""
        where = self._unread_where(user_id, work_id, await self.cleared_at(user_id))
        return await self.records.count(UNREAD, where)

    @staticmethod
    def _unread_where(
        user_id: str, work_id: str | None, cleared: str | None
    ) -> tuple[Condition, ...]:
        where: list[Condition] = [Eq("user_id", user_id)]
        if work_id is not None:
            where.append(Eq("work_id", work_id))
        if cleared is not None:
            # Served by the (user_id[, work_id], activity_at) indexes.
            where.append(Range("activity_at", gt=cleared))
        return tuple(where)

    async def unread_rows(self, user_id: str, ids: Sequence[str]) -> dict[str, Record]:
        """The user's live rows among ``ids`` (rows under "mark all read" are read)."""
        cleared = await self.cleared_at(user_id)
        rows = await self.records.get_many(UNREAD, list(ids))
        return {r["id"]: r for r in rows if cleared is None or str(r["activity_at"]) > cleared}

    async def unread_of_post(self, post_id: str) -> list[Record]:
        page = await self.records.find(UNREAD, Query(where=(Eq("post_id", post_id),), limit=1000))
        items = list(page.items)
        cursor = page.next_cursor
        while cursor is not None:
            page = await self.records.find(
                UNREAD, Query(where=(Eq("post_id", post_id),), limit=1000, cursor=cursor)
            )
            items.extend(page.items)
            cursor = page.next_cursor
        return items

    # groups and bulks ---------------------------------------------------------------------
    async def groups_of(self, owner_id: str) -> list[Record]:
        page = await self.records.find(
            GROUPS,
            Query(where=(Eq("owner_id", owner_id),), sort=(("name", 1),), limit=1000),
        )
        return page.items

    async def group(self, group_id: str) -> Record | None:
        return await self.records.get(GROUPS, group_id)

    async def bulk(self, bulk_id: str) -> Record | None:
        return await self.records.get(BULKS, bulk_id)

    # other domains, read only -------------------------------------------------------------
    async def members(self, work_id: str) -> dict[str, str]:
        """user id → role of every member of the work."""
        out: dict[str, str] = {}
        async for member in self.records.scan(MEMBERS, [Eq("work_id", work_id)]):
            out[str(member["user_id"])] = str(member["role"])
        return out

    async def memberships(self, user_id: str) -> list[Record]:
        """Every membership of ``user_id`` (a supervisor has a few hundred)."""
        out: list[Record] = []
        async for member in self.records.scan(MEMBERS, [Eq("user_id", user_id)], batch=1000):
            out.append(member)
        return out

    async def works(self, ids: Sequence[str]) -> dict[str, Record]:
        return {w["id"]: w for w in await self.records.get_many(WORKS, list(ids))}

    async def users(self, ids: Sequence[str]) -> dict[str, Record]:
        return {u["id"]: u for u in await self.records.get_many("users", sorted(set(ids)))}

    async def orgs(self, ids: Sequence[str]) -> dict[str, Record]:
        return {o["id"]: o for o in await self.records.get_many("organizations", sorted(set(ids)))}
