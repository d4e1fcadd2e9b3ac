"""All record-store questions about organizations and offices live here.

Uniqueness of 発注者コード, 法人番号 and per-organization office codes is enforced by claims
(``api.kit.claims``) in ``org_keys``.
"""

from __future__ import annotations

from typing import Any

from api.kit import claims
from storage.ports import IndexSpec, RecordStore
from storage.query import Eq, Page, Query

ORGS = "organizations"
OFFICES = "offices"
KEYS = "org_keys"
USERS = "users"
WORKS = "works"


def code_key(code: str) -> str:
    return f"code:{code}"


def corporate_number_key(number: str) -> str:
    return f"corporate_number:{number}"


def office_code_key(org_id: str, code: str) -> str:
    return f"office:{org_id}:{code}"


class OrganizationRepository:
    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def ensure_indexes(self) -> None:
        await self.records.ensure_indexes(ORGS, [IndexSpec((("kind", 1), ("id", 1)))])
        await self.records.ensure_indexes(OFFICES, [IndexSpec((("org_id", 1), ("id", 1)))])

    # organizations
    async def get(self, org_id: str) -> dict[str, Any] | None:
        return await self.records.get(ORGS, org_id)

    async def find(
        self, *, kind: str | None, only_id: str | None, limit: int, cursor: str | None
    ) -> Page:
        where: list[Any] = []
        if kind is not None:
            where.append(Eq("kind", kind))
        if only_id is not None:
            where.append(Eq("id", only_id))
        return await self.records.find(
            ORGS, Query(where=tuple(where), sort=(("id", 1),), limit=limit, cursor=cursor)
        )

    async def insert(self, record: dict[str, Any]) -> dict[str, Any]:
        return await self.records.insert(ORGS, record)

    async def update(self, org_id: str, changes: dict[str, Any], version: int) -> dict[str, Any]:
        return await self.records.update(ORGS, org_id, changes, version)

    async def delete(self, org_id: str, version: int | None) -> None:
        await self.records.delete(ORGS, org_id, version)

    async def references(self, org_id: str) -> dict[str, int]:
        """How many users and works point at this organization (deletion is refused if any)."""
        return {
            "users": await self.records.count(USERS, (Eq("org_id", org_id),)),
            "works_as_orderer": await self.records.count(WORKS, (Eq("orderer_org_id", org_id),)),
            "works_as_contractor": await self.records.count(
                WORKS, (Eq("contractor_org_ids", org_id),)
            ),
        }

    # offices
    async def get_office(self, office_id: str) -> dict[str, Any] | None:
        return await self.records.get(OFFICES, office_id)

    async def list_offices(self, org_id: str, limit: int, cursor: str | None) -> Page:
        return await self.records.find(
            OFFICES,
            Query(where=(Eq("org_id", org_id),), sort=(("id", 1),), limit=limit, cursor=cursor),
        )

    async def all_offices(self, org_id: str) -> list[dict[str, Any]]:
        return [o async for o in self.records.scan(OFFICES, (Eq("org_id", org_id),))]

    async def insert_office(self, record: dict[str, Any]) -> dict[str, Any]:
        return await self.records.insert(OFFICES, record)

    async def update_office(
        self, office_id: str, changes: dict[str, Any], version: int
    ) -> dict[str, Any]:
        return await self.records.update(OFFICES, office_id, changes, version)

    async def delete_office(self, office_id: str, version: int | None) -> None:
        await self.records.delete(OFFICES, office_id, version)

    async def office_references(self, office_id: str) -> int:
        """Works registered under this office (``works.office_id``)."""
        return await self.records.count(WORKS, (Eq("office_id", office_id),))

    # claims
    async def claim(self, key: str, owner_id: str) -> None:
        """Reserve a unique value for ``owner_id``; ``ClaimTaken`` if someone holds it."""
        await claims.claim(self.records, KEYS, key, owner_id)

    async def release(self, key: str) -> None:
        await claims.release(self.records, KEYS, key)
