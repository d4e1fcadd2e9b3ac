"""Master data shared by every module (seed 001 別表1-1 8(4)): positions (職位名) and business
types (業種, seed 004) here; the calendar (国民の祝日等の暦情報, ``api.master.days``) and the
notification mail templates (通知メールの雛形文章, ``api.master.templates``) beside.
Everyone signed in reads them. Positions and business types are global: only operators edit
them (issue 7 item 5), each change audited in the same unit of work.
"""

from __future__ import annotations

from typing import Any

from api.errors import DuplicateError, ValidationFailed
from api.kit import claims
from api.kit.ids import new_id
from api.master.base import MasterBase
from api.master.business_types import BUSINESS_TYPES
from api.master.schemas import BusinessTypeUpdate, PositionCreate, PositionUpdate
from api.permissions.policy import Subject
from storage.errors import DuplicateKey
from storage.query import Query

POSITIONS = "positions"
BUSINESS_TYPES_COLL = "business_types"
KEYS = "master_keys"


class MasterService(MasterBase):
    """Positions and business types: global master data, changed by operators only."""

    # positions (職位)
    async def positions(self, subject: Subject | None) -> list[dict[str, Any]]:
        self._read(subject)
        page = await self.records.find(POSITIONS, Query(sort=(("rank", 1),), limit=1000))
        return page.items

    async def create_position(
        self, subject: Subject | None, data: PositionCreate
    ) -> dict[str, Any]:
        self._manage_global(subject)
        now = self._now()
        record = {"id": new_id(), **data.model_dump(), "created_at": now, "updated_at": now}
        async with self.uow():
            await self._claim(f"positions:{data.name}", record["id"], "この職位名")
            stored = await self.records.insert(POSITIONS, record)
            await self.audit.record(
                subject, "positions.created", f"positions/{stored['id']}", after=stored
            )
        return stored

    async def update_position(
        self, subject: Subject | None, position_id: str, data: PositionUpdate
    ) -> dict[str, Any]:
        self._manage_global(subject)
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        if any(changes.get(k, "") is None for k in ("name", "rank")):
            raise ValidationFailed("職位名と順位は空にできません。")
        async with self.uow():
            before = await self._get(POSITIONS, position_id, "職位が見つかりません。")
            if "name" in changes and changes["name"] != before["name"]:
                await self._release(f"positions:{before['name']}")
                await self._claim(f"positions:{changes['name']}", position_id, "この職位名")
            changes["updated_at"] = self._now()
            after = await self.records.update(POSITIONS, position_id, changes, data.version)
            await self.audit.record(
                subject,
                "positions.updated",
                f"positions/{position_id}",
                before=before,
                after=after,
            )
        return after

    async def delete_position(
        self, subject: Subject | None, position_id: str, version: int | None
    ) -> None:
        self._manage_global(subject)
        async with self.uow():
            before = await self._get(POSITIONS, position_id, "職位が見つかりません。")
            await self._release(f"positions:{before['name']}")
            await self.records.delete(POSITIONS, position_id, version)
            await self.audit.record(
                subject, "positions.deleted", f"positions/{position_id}", before=before
            )

    # business types (業種, seed 004)
    async def ensure_business_types(self) -> None:
        """Seed the 29 kinds once; safe to call on every read and by concurrent requests."""
        if await self.records.count(BUSINESS_TYPES_COLL) >= len(BUSINESS_TYPES):
            return
        async with self.uow():
            added = []
            for code, name in BUSINESS_TYPES:
                if await self.records.get(BUSINESS_TYPES_COLL, code) is not None:
                    continue
                record: dict[str, Any] = {"id": code, "code": code, "name": name}
                record.update(abbreviation=None, active=True)
                try:
                    await self.records.insert(BUSINESS_TYPES_COLL, record)
                except DuplicateKey:
                    continue
                added.append(code)
            if added:
                await self.audit.record(
                    "system:seed",
                    "business_types.seeded",
                    BUSINESS_TYPES_COLL,
                    detail={"codes": added},
                )

    async def business_types(self, subject: Subject | None) -> list[dict[str, Any]]:
        self._read(subject)
        await self.ensure_business_types()
        page = await self.records.find(BUSINESS_TYPES_COLL, Query(sort=(("code", 1),), limit=1000))
        return page.items

    async def update_business_type(
        self, subject: Subject | None, code: str, data: BusinessTypeUpdate
    ) -> dict[str, Any]:
        self._manage_global(subject)
        await self.ensure_business_types()
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        if "name" in changes and changes["name"] is None:
            raise ValidationFailed("業種名は空にできません。")
        async with self.uow():
            before = await self._get(BUSINESS_TYPES_COLL, code, "業種が見つかりません。")
            after = await self.records.update(BUSINESS_TYPES_COLL, code, changes, data.version)
            await self.audit.record(
                subject,
                "business_types.updated",
                f"business_types/{code}",
                before=before,
                after=after,
            )
        return after

    # helpers
    async def _claim(self, key: str, owner_id: str, what: str) -> None:
        try:
            await claims.claim(self.records, KEYS, key, owner_id)
        except claims.ClaimTaken as exc:
            raise DuplicateError(f"{what}はすでに登録されています。") from exc

    async def _release(self, key: str) -> None:
        await claims.release(self.records, KEYS, key)
