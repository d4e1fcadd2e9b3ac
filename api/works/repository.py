"""Every record-store question about works and memberships (style: queries live here)."""

from __future__ import annotations

from collections.abc import Sequence

from api.works.models import (
    DEPENDENT_COLLECTIONS,
    MEMBER_INDEXES,
    MEMBERS,
    WORK_INDEXES,
    WORKS,
    member_id,
)
from storage.ports import RecordStore
from storage.query import Condition, Direction, Eq, Page, Query, Record


class WorkRepository:
    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def ensure_indexes(self) -> None:
        await self.records.ensure_indexes(WORKS, WORK_INDEXES)
        await self.records.ensure_indexes(MEMBERS, MEMBER_INDEXES)

    # works -----------------------------------------------------------------------------
    async def get(self, work_id: str) -> Record | None:
        return await self.records.get(WORKS, work_id)

    async def insert(self, work: Record) -> Record:
        return await self.records.insert(WORKS, work)

    async def update(self, work_id: str, changes: Record, version: int) -> Record:
        return await self.records.update(WORKS, work_id, changes, version)

    async def delete(self, work_id: str, version: int) -> None:
        await self.records.delete(WORKS, work_id, version)

    async def find(
        self,
        where: Sequence[Condition],
        sort: tuple[tuple[str, Direction], ...],
        limit: int,
        cursor: str | None,
    ) -> Page:
        return await self.records.find(
            WORKS, Query(where=tuple(where), sort=sort, limit=limit, cursor=cursor)
        )

    async def get_many(self, ids: Sequence[str]) -> list[Record]:
        return await self.records.get_many(WORKS, ids)

    async def dependents(self, work_id: str) -> int:
        """How many files, documents and posts hang on the work (0 = deletable)."""
        total = 0
        for collection in DEPENDENT_COLLECTIONS:
            total += await self.records.count(collection, [Eq("work_id", work_id)])
        return total

    # memberships -------------------------------------------------------------------------
    async def member(self, work_id: str, user_id: str) -> Record | None:
        return await self.records.get(MEMBERS, member_id(work_id, user_id))

    async def members(self, work_id: str) -> list[Record]:
        out: list[Record] = []
        async for rec in self.records.scan(MEMBERS, [Eq("work_id", work_id)]):
            out.append(rec)
        return out

    async def memberships_of(self, user_id: str, work_ids: Sequence[str]) -> dict[str, Record]:
        """The subject's memberships among ``work_ids`` (one query per page of works)."""
        if not work_ids:
            return {}
        ids = [member_id(w, user_id) for w in work_ids]
        return {m["work_id"]: m for m in await self.records.get_many(MEMBERS, ids)}

    async def work_ids_of(self, user_id: str, limit: int) -> list[str] | None:
        """Ids of the works ``user_id`` belongs to, or None when there are more than ``limit``."""
        page = await self.records.find(
            MEMBERS,
            Query(
                where=(Eq("user_id", user_id),),
                sort=(("user_id", 1), ("work_id", 1)),  # served by the (user_id, work_id) index
                limit=limit + 1,
            ),
        )
        if len(page.items) > limit:
            return None
        return [m["work_id"] for m in page.items]

    async def add_member(self, member: Record) -> Record:
        return await self.records.insert(MEMBERS, member)

    async def update_member(
        self, work_id: str, user_id: str, changes: Record, version: int
    ) -> Record:
        return await self.records.update(MEMBERS, member_id(work_id, user_id), changes, version)

    async def remove_member(self, work_id: str, user_id: str) -> None:
        await self.records.delete(MEMBERS, member_id(work_id, user_id), None)

    # other domains, read only -------------------------------------------------------------
    async def organization(self, org_id: str) -> Record | None:
        return await self.records.get("organizations", org_id)

    async def office(self, office_id: str) -> Record | None:
        return await self.records.get("offices", office_id)

    async def user(self, user_id: str) -> Record | None:
        return await self.records.get("users", user_id)
