"""HTTP API for master data under ``/master`` (seed 001 別表1-1 8(4))."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from api.container import Container
from api.deps import ContainerDep, SubjectDep
from api.errors import ValidationFailed
from api.master.calendar import FIRST_DAY, LAST_DAY
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

router = APIRouter(prefix="/master", tags=["master"])

Version = Annotated[int | None, Query(ge=1)]
Year = Annotated[int, Query(ge=1955, le=2100)]
Key = Annotated[str, Path(max_length=64)]
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NO_CONTENT = status.HTTP_204_NO_CONTENT


def service(container: Container) -> MasterService:
    return MasterService(container.records, container.uow, container.policy, container.clock)


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


# mail templates
@router.get("/mail-templates", response_model=list[MailTemplateRead])
async def list_mail_templates(container: ContainerDep, subject: SubjectDep) -> list[dict[str, Any]]:
    return await service(container).mail_templates(subject)


@router.get("/mail-templates/{key}", response_model=MailTemplateRead)
async def get_mail_template(
    key: Key, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).mail_template(subject, key)


@router.put("/mail-templates/{key}", response_model=MailTemplateRead)
async def save_mail_template(
    key: Key, body: MailTemplateWrite, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).save_mail_template(subject, key, body)


@router.delete("/mail-templates/{key}", status_code=NO_CONTENT)
async def reset_mail_template(
    key: Key, container: ContainerDep, subject: SubjectDep, version: Version = None
) -> Response:
    await service(container).reset_mail_template(subject, key, version)
    return Response(status_code=NO_CONTENT)


@router.post("/mail-templates/{key}/preview", response_model=MailRendered)
async def preview_mail_template(
    key: Key, body: MailPreview, container: ContainerDep, subject: SubjectDep
) -> MailRendered:
    rendered_subject, rendered_body = await service(container).render_mail(
        subject, key, body.values
    )
    return MailRendered(subject=rendered_subject, body=rendered_body)


# calendar
@router.get("/calendar", response_model=CalendarYear)
async def calendar_year(container: ContainerDep, subject: SubjectDep, year: Year) -> CalendarYear:
    """Every non-business day of the year: weekends, holidays, closure and custom days."""
    cal = await service(container).calendar(subject)
    days = [
        NonBusinessDayRead(date=d.date, kind=d.kind.value, name=d.name)
        for d in cal.non_business_days(year)
    ]
    return CalendarYear(year=year, days=days)


@router.get(
    "/calendar/business-days", response_model=BusinessDayAnswer, response_model_by_alias=True
)
async def business_days(
    container: ContainerDep,
    subject: SubjectDep,
    from_: Annotated[str, Query(alias="from", pattern=DAY_PATTERN)],
    add: Annotated[int | None, Query(ge=-3660, le=3660)] = None,
    to: Annotated[str | None, Query(pattern=DAY_PATTERN)] = None,
) -> BusinessDayAnswer:
    """``add``: the date that many business days after ``from``; ``to``: the count between."""
    start = day_of(from_)
    end = day_of(to) if to is not None else None
    if add is None and end is None:
        raise ValidationFailed("add または to を指定してください。")
    cal = await service(container).calendar(subject)

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
) -> list[dict[str, Any]]:
    return await service(container).calendar_days(subject, year)


@router.put("/calendar/days/{day}", response_model=CalendarDayRead)
async def save_calendar_day(
    day: Key, body: CalendarDayWrite, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    return await service(container).save_calendar_day(subject, day_of(day), body)


@router.delete("/calendar/days/{day}", status_code=NO_CONTENT)
async def delete_calendar_day(
    day: Key, container: ContainerDep, subject: SubjectDep, version: Version = None
) -> Response:
    await service(container).delete_calendar_day(subject, day_of(day), version)
    return Response(status_code=NO_CONTENT)
