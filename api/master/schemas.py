"""Request and response models for master data (seed 001 別表1-1 8(4))."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.clock import IsoDate, UtcDateTime
from api.kit.text import Text

ShortName = Annotated[str, Text(100)]
Abbreviation = Annotated[str, Text(10, required=False)]
MailSubject = Annotated[str, Text(200)]
MailBody = Annotated[str, Text(10_000, multiline=True)]


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
    # the scope's own template exists (``version`` is its version, for PUT and DELETE)
    customized: bool
    # where the text shown comes from: the organization's template, the global one, built-in
    source: Literal["organization", "global", "builtin"] = "builtin"
    org_id: str | None = None
    version: int | None = None
    updated_at: UtcDateTime | None = None


class MailPreview(_Strict):
    values: dict[str, Annotated[str, Field(max_length=1000)]] = Field(default_factory=dict)


class MailRendered(BaseModel):
    subject: str
    body: str


class CalendarDayWrite(_Strict):
    kind: Annotated[str, Field(pattern=r"^(closed|open)$")]
    name: Annotated[str, Text(100, required=False)] = ""
    version: int | None = Field(default=None, ge=1)


class CalendarDayRead(BaseModel):
    id: str
    # None: a global day (every organization); else the organization's own day
    org_id: str | None = None
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
