"""Request and response models for master data (seed 001 別表1-1 8(4))."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.kit.clock import IsoDate, UtcDateTime
from api.organizations.schemas import multi_line, not_blank, single_line

ShortName = Annotated[
    str, Field(min_length=1, max_length=100), AfterValidator(single_line), AfterValidator(not_blank)
]
Abbreviation = Annotated[str, Field(max_length=10), AfterValidator(single_line)]
MailSubject = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(single_line), AfterValidator(not_blank)
]
MailBody = Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(multi_line)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PositionCreate(_Strict):
    name: ShortName
    rank: int = Field(default=0, ge=0, le=999)


class PositionUpdate(_Strict):
    version: int = Field(ge=1)
    name: ShortName | None = None
    rank: int | None = Field(default=None, ge=0, le=999)


class PositionRead(BaseModel):
    id: str
    name: str
    rank: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int


class BusinessTypeUpdate(_Strict):
    version: int = Field(ge=1)
    name: ShortName | None = None
    abbreviation: Abbreviation | None = None
    active: bool | None = None


class BusinessTypeRead(BaseModel):
    id: str
    code: str
    name: str
    abbreviation: str | None = None
    active: bool = True
    version: int


class MailTemplateWrite(_Strict):
    subject: MailSubject
    body: MailBody
    version: int | None = Field(default=None, ge=1)


class MailTemplateRead(BaseModel):
    key: str
    label: str
    subject: str
    body: str
    placeholders: list[str]
    customized: bool
    version: int | None = None
    updated_at: UtcDateTime | None = None


class MailPreview(_Strict):
    values: dict[str, Annotated[str, Field(max_length=1000)]] = Field(default_factory=dict)


class MailRendered(BaseModel):
    subject: str
    body: str


class CalendarDayWrite(_Strict):
    kind: Annotated[str, Field(pattern=r"^(closed|open)$")]
    name: Annotated[str, Field(max_length=100), AfterValidator(single_line)] = ""
    version: int | None = Field(default=None, ge=1)


class CalendarDayRead(BaseModel):
    id: str
    date: IsoDate
    kind: str
    name: str
    version: int


class NonBusinessDayRead(BaseModel):
    date: IsoDate
    kind: str
    name: str


class CalendarYear(BaseModel):
    year: int
    days: list[NonBusinessDayRead]


class BusinessDayAnswer(BaseModel):
    from_date: IsoDate = Field(serialization_alias="from")
    add: int | None = None
    date: IsoDate | None = None
    to: IsoDate | None = None
    business_days: int | None = None
    is_business_day: bool


def parse_day(value: str) -> date:
    """A ``YYYY-MM-DD`` path segment; ``ValueError`` otherwise."""
    if len(value) != 10:
        raise ValueError(value)
    return date.fromisoformat(value)
