"""Master data shared by every module (seed 001 別表1-1 8(4)): positions (職位名), business
types (業種, seed 004), notification mail templates (通知メールの雛形文章) and the calendar
(国民の祝日等の暦情報). Everyone signed in reads them; operators and ``master.manage`` holders
edit them, each change audited in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from api.audit.service import AuditLog
from api.errors import DuplicateError, NotFoundError, StaleVersionError, ValidationFailed
from api.kit import claims
from api.kit.clock import Clock, to_iso
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.master import mail
from api.master.business_types import BUSINESS_TYPES
from api.master.calendar import BusinessCalendar, CustomDay, DayKind
from api.master.schemas import (
    BusinessTypeUpdate,
    CalendarDayWrite,
    MailTemplateWrite,
    PositionCreate,
    PositionUpdate,
)
from api.permissions.policy import Policy, Subject
from storage.errors import DuplicateKey
from storage.ports import RecordStore
from storage.query import Query, Range

POSITIONS = "positions"
BUSINESS_TYPES_COLL = "business_types"
MAIL_TEMPLATES = "mail_templates"
CALENDAR_DAYS = "calendar_days"
KEYS = "master_keys"


async def load_calendar(records: RecordStore) -> BusinessCalendar:
    """The business calendar with every custom day stored (for deadline computations)."""
    days = [
        CustomDay(date.fromisoformat(r["date"]), DayKind(r["kind"]), str(r.get("name", "")))
        async for r in records.scan(CALENDAR_DAYS)
    ]
    return BusinessCalendar(days)


class MasterService:
    def __init__(
        self,
        records: RecordStore,
        uow: Callable[[], UnitOfWork],
        policy: Policy,
        clock: Clock,
    ) -> None:
        self.records = records
        self.uow = uow
        self.policy = policy
        self.clock = clock
        self.audit = AuditLog(records, clock)

    def _read(self, subject: Subject | None) -> None:
        self.policy.require(subject, "master.read")

    def _manage(self, subject: Subject | None) -> None:
        self.policy.require(subject, "master.manage")

    def _now(self) -> str:
        return to_iso(self.clock.now())

    # positions (職位)
    async def positions(self, subject: Subject | None) -> list[dict[str, Any]]:
        self._read(subject)
        page = await self.records.find(POSITIONS, Query(sort=(("rank", 1),), limit=1000))
        return page.items

    async def create_position(
        self, subject: Subject | None, data: PositionCreate
    ) -> dict[str, Any]:
        self._manage(subject)
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
        self._manage(subject)
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
        self._manage(subject)
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
        self._manage(subject)
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

    # mail templates (通知メールの雛形文章)
    def _template_view(self, key: str, stored: dict[str, Any] | None) -> dict[str, Any]:
        kind = mail.TEMPLATE_KINDS[key]
        return {
            "key": key,
            "label": kind.label,
            "subject": stored["subject"] if stored else kind.subject,
            "body": stored["body"] if stored else kind.body,
            "placeholders": sorted(kind.placeholders),
            "customized": stored is not None,
            "version": stored["version"] if stored else None,
            "updated_at": stored.get("updated_at") if stored else None,
        }

    @staticmethod
    def _known(key: str) -> None:
        if key not in mail.TEMPLATE_KINDS:
            raise NotFoundError("メールの雛形が見つかりません。")

    async def mail_templates(self, subject: Subject | None) -> list[dict[str, Any]]:
        self._read(subject)
        stored = {
            r["id"]: r
            for r in await self.records.get_many(MAIL_TEMPLATES, list(mail.TEMPLATE_KINDS))
        }
        return [self._template_view(k, stored.get(k)) for k in mail.TEMPLATE_KINDS]

    async def mail_template(self, subject: Subject | None, key: str) -> dict[str, Any]:
        self._read(subject)
        self._known(key)
        return self._template_view(key, await self.records.get(MAIL_TEMPLATES, key))

    async def save_mail_template(
        self, subject: Subject | None, key: str, data: MailTemplateWrite
    ) -> dict[str, Any]:
        """Create or replace the template for ``key`` (``version`` required when one exists)."""
        self._manage(subject)
        self._known(key)
        try:
            mail.check(key, data.subject, data.body)
        except mail.TemplateError as exc:
            raise ValidationFailed(str(exc)) from exc
        fields = {"key": key, "subject": data.subject, "body": data.body, "updated_at": self._now()}
        after = await self._put(subject, MAIL_TEMPLATES, key, fields, data.version)
        return self._template_view(key, after)

    async def reset_mail_template(
        self, subject: Subject | None, key: str, version: int | None
    ) -> None:
        """Drop the customized template so the built-in default applies again."""
        self._manage(subject)
        self._known(key)
        async with self.uow():
            before = await self._get(MAIL_TEMPLATES, key, "メールの雛形は変更されていません。")
            await self.records.delete(MAIL_TEMPLATES, key, version)
            await self.audit.record(
                subject, "mail_templates.reset", f"mail_templates/{key}", before=before
            )

    async def render_mail(
        self, subject: Subject | None, key: str, values: dict[str, str]
    ) -> tuple[str, str]:
        view = await self.mail_template(subject, key)
        return mail.render(view["subject"], view["body"], values)

    # calendar (暦情報)
    async def calendar(self, subject: Subject | None) -> BusinessCalendar:
        self._read(subject)
        return await load_calendar(self.records)

    async def calendar_days(
        self, subject: Subject | None, year: int | None
    ) -> list[dict[str, Any]]:
        self._read(subject)
        where = (
            ()
            if year is None
            else (Range("date", gte=f"{year:04d}-01-01", lte=f"{year:04d}-12-31"),)
        )
        return [r async for r in self.records.scan(CALENDAR_DAYS, where)]

    async def save_calendar_day(
        self, subject: Subject | None, day: date, data: CalendarDayWrite
    ) -> dict[str, Any]:
        self._manage(subject)
        day_id = day.isoformat()
        fields = {"date": day_id, "kind": data.kind, "name": data.name}
        return await self._put(subject, CALENDAR_DAYS, day_id, fields, data.version)

    async def delete_calendar_day(
        self, subject: Subject | None, day: date, version: int | None
    ) -> None:
        self._manage(subject)
        day_id = day.isoformat()
        async with self.uow():
            before = await self._get(CALENDAR_DAYS, day_id, "この日は登録されていません。")
            await self.records.delete(CALENDAR_DAYS, day_id, version)
            await self.audit.record(
                subject, "calendar_days.deleted", f"calendar_days/{day_id}", before=before
            )

    # helpers
    async def _get(self, collection: str, record_id: str, missing: str) -> dict[str, Any]:
        record = await self.records.get(collection, record_id)
        if record is None:
            raise NotFoundError(missing)
        return record

    async def _put(
        self,
        subject: Subject | None,
        collection: str,
        record_id: str,
        fields: dict[str, Any],
        version: int | None,
    ) -> dict[str, Any]:
        """Create or replace the record with a natural id (PUT), audited as
        ``<collection>.created`` / ``.updated``: creating takes no ``version``, replacing
        needs the one read (a missing or stale one answers 409)."""
        async with self.uow():
            before = await self.records.get(collection, record_id)
            if before is None:
                if version is not None:
                    raise StaleVersionError(current_version=None)
                after = await self.records.insert(collection, {"id": record_id, **fields})
                action = f"{collection}.created"
            else:
                if version is None:
                    raise StaleVersionError(
                        "すでに登録されています。version を指定してください。",
                        current_version=before["version"],
                    )
                after = await self.records.update(collection, record_id, fields, version)
                action = f"{collection}.updated"
            await self.audit.record(
                subject, action, f"{collection}/{record_id}", before=before, after=after
            )
        return after

    async def _claim(self, key: str, owner_id: str, what: str) -> None:
        try:
            await claims.claim(self.records, KEYS, key, owner_id)
        except claims.ClaimTaken as exc:
            raise DuplicateError(f"{what}はすでに登録されています。") from exc

    async def _release(self, key: str) -> None:
        await claims.release(self.records, KEYS, key)
