"""The calendar's custom days, global and per organization (seed 001 別表1-1 8(4): 国民の祝日等の
暦情報; issue 7 item 5).

Global days (collection ``calendar_days``, id = the date) apply to every organization and only
operators change them. An organization's own days (``org_calendar_days``, id
``<org id>:<date>``; e.g. a city's foundation day closure or a Saturday filing window) apply to
that organization only and override a global day on the same date. Deadlines of a work follow
its orderer's calendar: ``calendar_for`` takes the caller's organization, a named one, or a
work the caller reads.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.master.base import MasterBase
from api.master.calendar import BusinessCalendar, CustomDay, DayKind
from api.master.schemas import CalendarDayWrite
from api.permissions.policy import Subject
from storage.ports import IndexSpec, RecordStore
from storage.query import Condition, Eq, Range

CALENDAR_DAYS = "calendar_days"
ORG_CALENDAR_DAYS = "org_calendar_days"
ACTION = "calendar_days"
INDEXES = [IndexSpec((("org_id", 1), ("date", 1)))]


def _day(record: dict[str, Any]) -> CustomDay:
    return CustomDay(
        date.fromisoformat(record["date"]), DayKind(record["kind"]), str(record.get("name", ""))
    )


async def load_calendar(records: RecordStore, org_id: str | None = None) -> BusinessCalendar:
    """The business calendar of ``org_id`` (None: the global one): every global custom day,
    then the organization's own days over them (for deadline computations)."""
    days = {d.date: d async for d in _scan(records, CALENDAR_DAYS, ())}
    if org_id is not None:
        days.update({d.date: d async for d in _scan(records, ORG_CALENDAR_DAYS, _of(org_id))})
    return BusinessCalendar(days)


async def _scan(records: RecordStore, collection: str, where: tuple[Condition, ...]) -> Any:
    async for record in records.scan(collection, where):
        yield _day(record)


def _of(org_id: str) -> tuple[Condition, ...]:
    return (Eq("org_id", org_id),)


def _year(year: int | None) -> tuple[Condition, ...]:
    if year is None:
        return ()
    return (Range("date", gte=f"{year:04d}-01-01", lte=f"{year:04d}-12-31"),)


class CalendarDays(MasterBase):
    async def calendar_for(
        self,
        subject: Subject | None,
        org_id: str | None = None,
        work: dict[str, Any] | None = None,
    ) -> BusinessCalendar:
        """The calendar a deadline uses: a work's orderer's (``work`` as loaded for a reader
        of it by ``WorkService.load``), else the named organization's, else the caller's own
        (operators: the global one)."""
        if work is not None:
            self._read(subject)
            return await load_calendar(self.records, work.get("orderer_org_id"))
        return await load_calendar(self.records, await self.read_scope(subject, org_id))

    async def days(
        self, subject: Subject | None, year: int | None, org_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The custom days a scope sees: global ones (``org_id`` null) and, for an
        organization, its own ones, by date."""
        scope = await self.read_scope(subject, org_id)
        out = [{**r, "org_id": None} async for r in self.records.scan(CALENDAR_DAYS, _year(year))]
        if scope is not None:
            where = (*_of(scope), *_year(year))
            out += [r async for r in self.records.scan(ORG_CALENDAR_DAYS, where)]
        return sorted(out, key=lambda r: (str(r["date"]), r.get("org_id") or ""))

    async def save(
        self, subject: Subject | None, day: date, data: CalendarDayWrite, org_id: str | None
    ) -> dict[str, Any]:
        scope = await self.write_scope(subject, org_id)
        fields: dict[str, Any] = {"date": day.isoformat(), "kind": data.kind, "name": data.name}
        if scope is None:
            stored = await self._put(
                subject, CALENDAR_DAYS, day.isoformat(), fields, data.version, ACTION
            )
            return {**stored, "org_id": None}
        fields["org_id"] = scope
        record_id = f"{scope}:{day.isoformat()}"
        return await self._put(subject, ORG_CALENDAR_DAYS, record_id, fields, data.version, ACTION)

    async def delete(
        self, subject: Subject | None, day: date, version: int | None, org_id: str | None
    ) -> None:
        scope = await self.write_scope(subject, org_id)
        collection = CALENDAR_DAYS if scope is None else ORG_CALENDAR_DAYS
        record_id = day.isoformat() if scope is None else f"{scope}:{day.isoformat()}"
        async with self.uow():
            before = await self._get(collection, record_id, "この日は登録されていません。")
            await self.records.delete(collection, record_id, version)
            await self.audit.record(
                subject, f"{ACTION}.deleted", f"{collection}/{record_id}", before=before
            )


async def work_calendar(records: RecordStore, work_id: str) -> BusinessCalendar:
    """The business calendar a work's deadlines follow: its orderer's (seed 001 別表1-1 4(2):
    dates of a work count the orderer's business days, for everyone on the work)."""
    work = await records.get("works", work_id)
    orderer = work.get("orderer_org_id") if work else None
    return await load_calendar(records, str(orderer) if orderer else None)
