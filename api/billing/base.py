"""What every billing service shares: the ports, the JST day, numbering, stats, claims.

Dates of billing are Japanese calendar days (the clock is UTC; a day is the Asia/Tokyo day).
Numbers are per series and fiscal year (``請求第2026-000001号``) from a counter record
incremented inside the unit of work of the document it numbers, so a rolled-back change
gives its number back and no number is used twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from api.audit.service import AuditLog
from api.billing import models
from api.billing.permissions import BillingResource
from api.errors import Conflict, DuplicateError, Forbidden, NotFoundError
from api.kit import claims
from api.kit.clock import to_iso
from api.kit.ids import is_id
from api.permissions.policy import Subject
from storage.errors import DuplicateKey, StaleVersion
from storage.query import Record

if TYPE_CHECKING:
    from api.container import Container

JST = ZoneInfo("Asia/Tokyo")

SERIES: dict[str, str] = {
    "agreement": "覚書第{fy}-{n:04d}号",
    "jouun1": "依頼第{fy}-{n:05d}号",
    "jouun2": "承諾第{fy}-{n:05d}号",
    "jouun3": "通知第{fy}-{n:05d}号",
    "invoice": "請求第{fy}-{n:06d}号",
    "credit_note": "返還第{fy}-{n:06d}号",
    "application": "申込第{fy}-{n:05d}号",
    "start_notice": "開始第{fy}-{n:05d}号",
    "id_notice": "ID第{fy}-{n:05d}号",
    "jouun7": "終了第{fy}-{n:04d}号",
    "jouun8": "停止第{fy}-{n:04d}号",
    "receipt": "領収第{fy}-{n:06d}号",
    "document": "文書第{fy}-{n:06d}号",
}


def jst_day(moment: datetime) -> date:
    return moment.astimezone(JST).date()


class Base:
    """The container's ports as billing uses them."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.audit = AuditLog(container.records, container.clock)

    # time ------------------------------------------------------------------------------
    def now(self) -> str:
        return to_iso(self.clock.now())

    def today(self) -> date:
        return jst_day(self.clock.now())

    # loading ---------------------------------------------------------------------------
    async def get(self, collection: str, record_id: str, what: str) -> Record:
        record = await self.records.get(collection, record_id) if _safe_id(record_id) else None
        if record is None:
            raise NotFoundError(f"{what}が見つかりません。")
        return record

    async def readable(
        self, subject: Subject | None, collection: str, record_id: str, what: str
    ) -> Record:
        """The record if the subject may read it: 401, then the same 404 for unknown and
        another organization's records (existence is not revealed)."""
        self.policy.require(subject, "billing.list")
        record = await self.records.get(collection, record_id) if _safe_id(record_id) else None
        if record is None:
            raise NotFoundError(f"{what}が見つかりません。")
        if not self.policy.can(subject, "billing.read", resource(record)):
            assert subject is not None
            parties = (record.get("org_id"), record.get("orderer_org_id"))
            if subject.org_id is not None and subject.org_id in parties:
                raise Forbidden()  # their organization's record, but not their function
            raise NotFoundError(f"{what}が見つかりません。")
        return record

    async def org(self, org_id: str) -> Record:
        org = await self.records.get("organizations", org_id)
        if org is None:
            raise NotFoundError("組織が見つかりません。")
        return org

    async def profile(self) -> Record:
        """The operator's data printed on every form (an empty profile until set)."""
        return await self.records.get(models.PROFILE, models.PROFILE_ID) or {
            "id": models.PROFILE_ID,
            "name": "",
            "registration_number": "",
            "address": "",
            "phone": "",
            "bank": "",
        }

    # numbering -------------------------------------------------------------------------
    async def next_number(self, series: str, fiscal_year: int, count: int = 1) -> list[str]:
        """Take ``count`` consecutive numbers of a series (inside the caller's unit)."""
        key = f"{series}-{fiscal_year}"
        for _ in range(20):
            counter = await self.records.get(models.COUNTERS, key)
            try:
                if counter is None:
                    await self.records.insert(models.COUNTERS, {"id": key, "value": count})
                    first = 1
                else:
                    await self.records.update(
                        models.COUNTERS,
                        key,
                        {"value": int(counter["value"]) + count},
                        int(counter["version"]),
                    )
                    first = int(counter["value"]) + 1
            except (DuplicateKey, StaleVersion):
                continue
            pattern = SERIES[series]
            return [pattern.format(fy=fiscal_year, n=n) for n in range(first, first + count)]
        raise Conflict("番号の採番が混み合っています。やり直してください。")

    # claims ----------------------------------------------------------------------------
    async def claim(self, key: str, owner_id: str, message: str) -> None:
        try:
            await claims.claim(self.records, models.KEYS, key, owner_id)
        except claims.ClaimTaken as exc:
            raise DuplicateError(message) from exc

    async def release(self, key: str) -> None:
        await claims.release(self.records, models.KEYS, key)

    # stats -----------------------------------------------------------------------------
    async def bump(self, fiscal_year: int, **deltas: int) -> None:
        """Add to the fiscal year's totals (inside the caller's unit, with the change)."""
        await bump_stats(self.records, fiscal_year, deltas)

    # transitions -----------------------------------------------------------------------
    @staticmethod
    def check_transition(collection: str, record: Record, to: str) -> None:
        if not models.allowed(collection, str(record["state"]), to):
            raise StateConflict(
                f"現在の状態（{record['state']}）からは、この操作はできません。",
                state=record["state"],
            )


STAT_FIELDS = (
    "invoices",
    "billed",
    "credited",
    "collected",
    "collected_in_closing",
    "collected_late",
)


async def bump_stats(records: Any, fiscal_year: int, deltas: dict[str, int]) -> None:
    key = str(fiscal_year)
    for _ in range(20):
        row = await records.get(models.STATS, key)
        try:
            if row is None:
                fresh: dict[str, Any] = {"id": key, "fiscal_year": fiscal_year}
                for name in STAT_FIELDS:
                    fresh[name] = int(deltas.get(name, 0))
                await records.insert(models.STATS, fresh)
            else:
                changes = {name: int(row.get(name, 0)) + value for name, value in deltas.items()}
                await records.update(models.STATS, key, changes, int(row["version"]))
            return
        except (DuplicateKey, StaleVersion):
            continue
    raise Conflict("集計の更新が混み合っています。やり直してください。")


async def bump_due(records: Any, fiscal_year: int, due_date: str | None, delta: int) -> None:
    """Add ``delta`` to what is still to be paid of fiscal year ``fiscal_year`` by
    ``due_date`` (inside the caller's unit)."""
    if not due_date or delta == 0:
        return
    key = f"{fiscal_year}:{due_date}"
    for _ in range(20):
        row = await records.get(models.DUE, key)
        try:
            if row is None:
                await records.insert(
                    models.DUE,
                    {
                        "id": key,
                        "fiscal_year": fiscal_year,
                        "due_date": due_date,
                        "outstanding": delta,
                    },
                )
            else:
                await records.update(
                    models.DUE,
                    key,
                    {"outstanding": int(row["outstanding"]) + delta},
                    int(row["version"]),
                )
            return
        except (DuplicateKey, StaleVersion):
            continue
    raise Conflict("集計の更新が混み合っています。やり直してください。")


class StateConflict(Conflict):
    code = "invalid_state"
    title = "現在の状態では、この操作はできません。"


def resource(record: Record) -> BillingResource:
    return BillingResource(str(record.get("org_id") or ""), record.get("orderer_org_id"))


def _safe_id(value: str) -> bool:
    """Billing ids: generated ids, or the derived ids of invoices (``i`` + 31 hex digits,
    ``api.billing.invoices.invoice_id``)."""
    if is_id(value):
        return True
    return len(value) == 32 and value[0] == "i" and all(c in "0123456789abcdef" for c in value[1:])
