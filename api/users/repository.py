"""All queries on the ``users`` collection live here (style: queries in the repository)."""

from __future__ import annotations

from typing import Any

from api.users.models import COLLECTION, User
from storage.ports import IndexSpec, RecordStore
from storage.query import Condition, Eq, Page, Query

INDEXES = [
    IndexSpec((("login_key", 1),), unique=True),
    IndexSpec((("org_id", 1), ("login_key", 1))),
    IndexSpec((("status", 1), ("login_key", 1))),
]


async def ensure_indexes(records: RecordStore) -> None:
    """Create the users indexes (idempotent; run by ``api.schema.ensure_schema`` at start)."""
    await records.ensure_indexes(COLLECTION, INDEXES)


class UserRepository:
    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def get(self, user_id: str) -> User | None:
        record = await self.records.get(COLLECTION, user_id)
        return User.from_record(record) if record else None

    async def get_by_login_id(self, login_id: str) -> User | None:
        page = await self.records.find(
            COLLECTION, Query(where=(Eq("login_key", login_id.lower()),), limit=1)
        )
        return User.from_record(page.items[0]) if page.items else None

    async def insert(self, user: User) -> User:
        return User.from_record(await self.records.insert(COLLECTION, user.to_record()))

    async def update(self, user: User, changes: dict[str, Any]) -> User:
        """Set fields (None removes one) if ``user.version`` is still current, else 409."""
        record = await self.records.update(COLLECTION, user.id, changes, user.version)
        return User.from_record(record)

    async def find(
        self,
        *,
        org_id: str | None = None,
        status: str | None = None,
        login_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[User], str | None]:
        where: list[Condition] = []
        if org_id is not None:
            where.append(Eq("org_id", org_id))
        if status is not None:
            where.append(Eq("status", status))
        if login_id is not None:
            where.append(Eq("login_key", login_id.lower()))
        page: Page = await self.records.find(
            COLLECTION,
            Query(where=tuple(where), sort=(("login_key", 1),), limit=limit, cursor=cursor),
        )
        return [User.from_record(r) for r in page.items], page.next_cursor

    async def any_exists(self) -> bool:
        return await self.records.count(COLLECTION) > 0
