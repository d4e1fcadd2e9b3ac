"""HTTP API for master data under ``/master`` (seed 001 別表1-1 8(4))."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.errors import ValidationFailed
from api.master.calendar import FIRST_DAY, LAST_DAY, BusinessCalendar
from api.master.days import CalendarDays
from api.master.schemas import (
    BusinessDayAnswer,
    BusinessTypeRead,
    BusinessTypeUpdate,
    CalendarDayRead,
    CalendarDayWrite,
    CalendarYear,
    MailPreview,
    MailRendered,
    MailTemplateRead,
    MailTemplateWrite,
    NonBusinessDayRead,
    PositionCreate,
    PositionRead,
    PositionUpdate,
    parse_day,
)
from api.master.service import MasterService
from api.master.templates import MailTemplates
from api.permissions.policy import Subject
from api.works.service import WorkService

router = APIRouter(prefix="/master", tags=["master"])

Version = Annotated[int | None, Query(ge=1)]
Year = Annotated[int, Query(ge=1955, le=2100)]
Key = Annotated[str, Path(max_length=64)]
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
OrgId = Annotated[str | None, Query(min_length=1, max_length=64)]
WorkId = Annotated[str | None, Query(min_length=1, max_length=64)]
NO_CONTENT = status.HTTP_204_NO_CONTENT


def service(container: Container) -> MasterService:
    return MasterService(container.records, container.uow, container.policy, container.clock)


def days(container: Container) -> CalendarDays:
    return CalendarDays(container.records, container.uow, container.policy, container.clock)


def templates(container: Container) -> MailTemplates:
    return MailTemplates(container.records, container.uow, container.policy, container.clock)


def day_of(value: str) -> date:
    """A ``YYYY-MM-DD`` date between ``FIRST_DAY`` and ``LAST_DAY`` (issue 7 item 3: an
    unbounded range kept the event loop busy for seconds and overflowed at 9999-12-31)."""
    try:
        day = parse_day(value)
    except ValueError as exc:
        raise ValidationFailed("日付は YYYY-MM-DD の形式で指定してください。") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationFailed(
            f"日付は {FIRST_DAY.isoformat()} から {LAST_DAY.isoformat()} までで指定してください。"
        )
    return day


# positions
@router.get("/positions", response_model=list[PositionRead])
async def list_positions(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    return await service(container).positions(subject)


@router.post("/positions", response_model=PositionRead, status_code=status.HTTP_201_CREATED)
async def create_position(
    body: PositionCreate, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).create_position(subject, body)


@router.patch("/positions/{position_id}", response_model=PositionRead)
async def update_position(
    position_id: Key, body: PositionUpdate, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).update_position(subject, position_id, body)


@router.delete("/positions/{position_id}", status_code=NO_CONTENT)
async def delete_position(
    position_id: Key, container: ContainerDep, subject: SubjectDep, version: Version = None
) -> Response:
    await service(container).delete_position(subject, position_id, version)
    return Response(status_code=NO_CONTENT)


# business types
@router.get("/business-types", response_model=list[BusinessTypeRead])
async def list_business_types(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    return await service(container).business_types(subject)


@router.patch("/business-types/{code}", response_model=BusinessTypeRead)
async def update_business_type(
    code: Key, body: BusinessTypeUpdate, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).update_business_type(subject, code, body)


# mail templates: global (operators) and per organization (issue 7 item 5)
@router.get("/mail-templates", response_model=list[MailTemplateRead])
async def list_mail_templates(
    container: ContainerDep, subject: SubjectDep, org_id: OrgId = None
) -> list[dict[str, Any]]:
    """Every template as ``org_id``'s scope sees it (default: the caller's organization;
    operators: the global layer)."""
    return await templates(container).list(subject, org_id)


@router.get("/mail-templates/{key}", response_model=MailTemplateRead)
async def get_mail_template(
    key: Key, container: ContainerDep, subject: SubjectDep, org_id: OrgId = None
) -> dict[str, Any]:
    return await templates(container).get(subject, key, org_id)


@router.put("/mail-templates/{key}", response_model=MailTemplateRead)
async def save_mail_template(
    key: Key,
    body: MailTemplateWrite,
    container: ContainerDep,
    subject: SubjectDep,
    org_id: OrgId = None,
) -> dict[str, Any]:
    """Replace the template in one scope: the caller's organization by default (holders of
    ``master.manage``), the global layer for operators without ``org_id``."""
    return await templates(container).save(subject, key, body, org_id)


@router.delete("/mail-templates/{key}", status_code=NO_CONTENT)
async def reset_mail_template(
    key: Key,
    container: ContainerDep,
    subject: SubjectDep,
    version: Version = None,
    org_id: OrgId = None,
) -> Response:
    await templates(container).reset(subject, key, version, org_id)
    return Response(status_code=NO_CONTENT)


@router.post("/mail-templates/{key}/preview", response_model=MailRendered)
async def preview_mail_template(
    key: Key, body: MailPreview, container: ContainerDep, subject: SubjectDep, org_id: OrgId = None
) -> MailRendered:
    rendered_subject, rendered_body = await templates(container).render(
        subject, key, body.values, org_id
    )
    return MailRendered(subject=rendered_subject, body=rendered_body)


# calendar: global days (operators) and per organization; deadlines follow the caller's
# organization, a named one, or a work's orderer (issue 7 item 5)
async def _calendar(
    container: Container, subject: Subject | None, org_id: str | None, work_id: str | None
) -> BusinessCalendar:
    work = None
    if work_id is not None:
        work = await WorkService.of(container).load(subject, work_id, "works.read")
    return await days(container).calendar_for(subject, org_id, work)


@router.get("/calendar", response_model=CalendarYear)
async def calendar_year(
    container: ContainerDep,
    subject: SubjectDep,
    year: Year,
    org_id: OrgId = None,
    work_id: WorkId = None,
) -> CalendarYear:
    """Every non-business day of the year: weekends, holidays, closure and custom days."""
    cal = await _calendar(container, subject, org_id, work_id)
    found = [
        NonBusinessDayRead(date=d.date, kind=d.kind.value, name=d.name)
        for d in cal.non_business_days(year)
    ]
    return CalendarYear(year=year, days=found)


@router.get(
    "/calendar/business-days", response_model=BusinessDayAnswer, response_model_by_alias=True
)
async def business_days(
    container: ContainerDep,
    subject: SubjectDep,
    from_: Annotated[str, Query(alias="from", pattern=DAY_PATTERN)],
    add: Annotated[int | None, Query(ge=-3660, le=3660)] = None,
    to: Annotated[str | None, Query(pattern=DAY_PATTERN)] = None,
    org_id: OrgId = None,
    work_id: WorkId = None,
) -> BusinessDayAnswer:
    """``add``: the date that many business days after ``from``; ``to``: the count between."""
    start = day_of(from_)
    end = day_of(to) if to is not None else None
    if add is None and end is None:
        raise ValidationFailed("add または to を指定してください。")
    cal = await _calendar(container, subject, org_id, work_id)

    def compute() -> BusinessDayAnswer:
        answer = BusinessDayAnswer(from_date=start, is_business_day=cal.is_business_day(start))
        if add is not None:
            answer.add = add
            answer.date = cal.add_business_days(start, add)
        if end is not None:
            answer.to = end
            answer.business_days = cal.business_days_between(start, end)
        return answer

    # A first look at many years computes their holidays: off the event loop.
    return await asyncio.to_thread(compute)


@router.get("/calendar/days", response_model=list[CalendarDayRead])
async def list_calendar_days(
    container: ContainerDep,
    subject: SubjectDep,
    year: Annotated[int | None, Query(ge=1955, le=2100)] = None,
    org_id: OrgId = None,
) -> list[dict[str, Any]]:
    """The custom days a scope sees: global ones and the organization's own."""
    return await days(container).days(subject, year, org_id)


@router.put("/calendar/days/{day}", response_model=CalendarDayRead)
async def save_calendar_day(
    day: Key,
    body: CalendarDayWrite,
    container: ContainerDep,
    subject: SubjectDep,
    org_id: OrgId = None,
) -> dict[str, Any]:
    """Set a custom day in one scope: the caller's organization by default (holders of
    ``master.manage``), the global calendar for operators without ``org_id``."""
    return await days(container).save(subject, day_of(day), body, org_id)


@router.delete("/calendar/days/{day}", status_code=NO_CONTENT)
async def delete_calendar_day(
    day: Key,
    container: ContainerDep,
    subject: SubjectDep,
    version: Version = None,
    org_id: OrgId = None,
) -> Response:
    await days(container).delete(subject, day_of(day), version, org_id)
    return Response(status_code=NO_CONTENT)
