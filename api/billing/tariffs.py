"""Fee tables as data with validity dates, and the operator's profile (issue 13 §3).

A tariff is a list of items (what is charged, to whom, how much, at which tax rate) valid from
``valid_from`` until the next tariff's ``valid_from``. Invoices keep the tariff id and copy
each unit price onto their lines, so an old invoice regenerates exactly. A tariff already
used by an invoice is never edited; a new tariff may not start on or before a day an issued
invoice priced with the old one covers (that would alter it: 409 ``tariff_in_use``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.billing import models
from api.billing.base import Base
from api.billing.models import ItemKind, System
from api.billing.rules import registration_number_valid
from api.errors import Conflict, NotFoundError, ValidationFailed
from api.kit.ids import new_id
from api.permissions.policy import Subject
from storage.query import Eq, Query, Range, Record

DEFAULT_ITEMS: list[dict[str, Any]] = [
    {
        "code": "collab_annual",
        "label": "情報共有システム利用料（年額）",
        "kind": ItemKind.ORG_ANNUAL.value,
        "system": System.COLLAB.value,
        "unit_price": 120000,
        "tax_rate": "10",
    },
    {
        "code": "archive_annual",
        "label": "保管管理システム利用料（年額）",
        "kind": ItemKind.ORG_ANNUAL.value,
        "system": System.ARCHIVE.value,
        "unit_price": 60000,
        "tax_rate": "10",
    },
    {
        "code": "archive_work",
        "label": "保管管理システム案件保管料（年額・1件）",
        "kind": ItemKind.ARCHIVE_WORK_ANNUAL.value,
        "system": System.ARCHIVE.value,
        "unit_price": 1200,
        "tax_rate": "10",
    },
    {
        # module anchors §3 precedent (sct.or.jp/work/cals/fee/): 10,000円/月
        "code": "work_monthly",
        "label": "情報共有システム案件利用料（月額）",
        "kind": ItemKind.WORK_MONTHLY.value,
        "system": System.COLLAB.value,
        "unit_price": 10000,
        "tax_rate": "10",
    },
]


class InUse(Conflict):
    code = "tariff_in_use"
    title = "発行済みの請求書で使われている料金表は変更できません。"


def check_items(items: list[dict[str, Any]]) -> None:
    codes = [i["code"] for i in items]
    if len(set(codes)) != len(codes):
        raise ValidationFailed("料金表の品目コードが重複しています。", field="items")
    kinds = {(i["kind"], i.get("system")) for i in items}
    if len(kinds) != len(items):
        raise ValidationFailed("同じ種類の品目が重複しています。", field="items")


class Tariffs(Base):
    async def ensure_default(self) -> None:
        """A first tariff so a new installation can explain its fees (利用検討協議)."""
        if await self.records.count(models.TARIFFS) == 0:
            await self.records.insert(
                models.TARIFFS,
                {
                    "id": new_id(),
                    "name": "標準料金表",
                    "valid_from": "2000-04-01",
                    "valid_to": None,
                    "items": DEFAULT_ITEMS,
                    "created_at": self.now(),
                    "created_by": "system:setup",
                },
            )

    async def find(self, subject: Subject | None) -> list[Record]:
        self.policy.require(subject, "billing.tariffs.read")
        page = await self.records.find(models.TARIFFS, Query(sort=(("valid_from", -1),), limit=200))
        return page.items

    async def effective(self, day: date) -> Record:
        """The tariff in force on ``day``."""
        page = await self.records.find(
            models.TARIFFS,
            Query(
                where=(Range("valid_from", lte=day.isoformat()),),
                sort=(("valid_from", -1),),
                limit=1,
            ),
        )
        if not page.items:
            raise NotFoundError(f"{day.isoformat()} に有効な料金表がありません。")
        return page.items[0]

    async def create(
        self, subject: Subject | None, name: str, valid_from: date, items: list[dict[str, Any]]
    ) -> Record:
        """A new tariff from ``valid_from``; the one before it ends there. Refused when an
        issued invoice priced with the earlier tariff covers a day from ``valid_from`` on."""
        self.policy.require(subject, "billing.operate")
        check_items(items)
        start = valid_from.isoformat()
        async with self.container.uow():
            if await self.records.count(models.TARIFFS, (Eq("valid_from", start),)):
                raise Conflict("同じ適用開始日の料金表があります。", field="valid_from")
            before = await self.records.find(
                models.TARIFFS,
                Query(where=(Range("valid_from", lt=start),), sort=(("valid_from", -1),), limit=1),
            )
            previous = before.items[0] if before.items else None
            later = await self.records.find(
                models.TARIFFS,
                Query(where=(Range("valid_from", gt=start),), sort=(("valid_from", 1),), limit=1),
            )
            if previous is not None:
                await self._refuse_if_used(previous["id"], start)
                await self.records.update(
                    models.TARIFFS, previous["id"], {"valid_to": start}, int(previous["version"])
                )
            record = {
                "id": new_id(),
                "name": name,
                "valid_from": start,
                "valid_to": later.items[0]["valid_from"] if later.items else None,
                "items": items,
                "created_at": self.now(),
                "created_by": subject.user_id if subject else None,
            }
            stored = await self.records.insert(models.TARIFFS, record)
            await self.audit.record(
                subject, "billing.tariff_created", f"{models.TARIFFS}/{stored['id']}", after=stored
            )
        return stored

    async def _refuse_if_used(self, tariff_id: str, from_day: str) -> None:
        used = await self.records.count(
            models.INVOICES, (Eq("tariff_id", tariff_id), Range("service_to", gte=from_day))
        )
        if used:
            raise InUse(
                f"{from_day} 以降の期間を、この日より前の料金表で請求した請求書が"
                f" {used} 件あります。"
                "適用開始日を遅らせるか、請求書を返還処理してから変更してください。",
                invoices=used,
            )

    # the operator's profile ------------------------------------------------------------
    async def save_profile(self, subject: Subject | None, data: dict[str, Any]) -> Record:
        self.policy.require(subject, "billing.operate")
        number = data.get("registration_number") or ""
        if number and not registration_number_valid(number):
            raise ValidationFailed(
                "登録番号は「T」と13桁の数字で、先頭の数字（チェックデジット）が正しいものを"
                "指定してください。",
                field="registration_number",
            )
        async with self.container.uow():
            before = await self.records.get(models.PROFILE, models.PROFILE_ID)
            fields = {**data, "updated_at": self.now()}
            if before is None:
                stored = await self.records.insert(
                    models.PROFILE, {"id": models.PROFILE_ID, **fields}
                )
            else:
                stored = await self.records.update(
                    models.PROFILE, models.PROFILE_ID, fields, int(before["version"])
                )
            await self.audit.record(
                subject,
                "billing.profile_saved",
                f"{models.PROFILE}/{models.PROFILE_ID}",
                before=before,
                after=stored,
            )
        return stored


def item(tariff: Record, kind: ItemKind, system: System | None = None) -> Record | None:
    for entry in tariff["items"]:
        if entry["kind"] == kind.value and (system is None or entry.get("system") == system):
            return dict(entry)
    return None
