"""Request and response models of ``/api/v1/schedules``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from api.schedules.models import (
    MAX_DESCRIPTION,
    MAX_EXDATES,
    MAX_LOCATION,
    MAX_RDATES,
    MAX_TITLE,
    MAX_WORKS_PER_ENTRY,
)

Visibility = Literal["public", "private"]
# "2026-06-01" (all-day) or "2026-06-01T09:00[:00]" (wall time of ``tz``) or with an offset.
When = str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntryCreate(_Model):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    start: When = Field(min_length=10, max_length=40)
    end: When = Field(min_length=10, max_length=40)
    all_day: bool = False
    tz: str | None = Field(default=None, max_length=64)
    location: str = Field(default="", max_length=MAX_LOCATION)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    # seed 001 別表1-1 7(5): public unless the owner chooses private.
    visibility: Visibility = "public"
    # 7(1): linked to a work or not; 7(3): one entry in several works at once.
    work_ids: list[str] = Field(default_factory=list, max_length=MAX_WORKS_PER_ENTRY)
    rrule: str | None = Field(default=None, max_length=500)
    exdates: list[When] = Field(default_factory=list, max_length=MAX_EXDATES)
    rdates: list[When] = Field(default_factory=list, max_length=MAX_RDATES)


class EntryUpdate(_Model):
    """Changes to the whole series; fields left out keep their value."""

    version: int = Field(ge=1)
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    start: When | None = Field(default=None, min_length=10, max_length=40)
    end: When | None = Field(default=None, min_length=10, max_length=40)
    all_day: bool | None = None
    tz: str | None = Field(default=None, max_length=64)
    location: str | None = Field(default=None, max_length=MAX_LOCATION)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    visibility: Visibility | None = None
    work_ids: list[str] | None = Field(default=None, max_length=MAX_WORKS_PER_ENTRY)
    # "" removes the recurrence.
    rrule: str | None = Field(default=None, max_length=500)
    exdates: list[When] | None = Field(default=None, max_length=MAX_EXDATES)
    rdates: list[When] | None = Field(default=None, max_length=MAX_RDATES)


class OccurrenceUpdate(_Model):
    """One occurrence edited on its own (RECURRENCE-ID); left-out fields follow the series."""

    version: int = Field(ge=1)
    start: When | None = Field(default=None, min_length=10, max_length=40)
    end: When | None = Field(default=None, min_length=10, max_length=40)
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    location: str | None = Field(default=None, max_length=MAX_LOCATION)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


class WorkRef(BaseModel):
    id: str
    title: str


class EntryRead(BaseModel):
    """A series as its owner (or a reader allowed its details) sees it."""

    id: str
    version: int
    owner_id: str
    owner_name: str = ""
    title: str
    location: str = ""
    description: str = ""
    all_day: bool
    tz: str
    start: str
    end: str
    rrule: str | None = None
    exdates: list[str] = Field(default_factory=list)
    rdates: list[str] = Field(default_factory=list)
    overrides: dict[str, dict[str, str]] = Field(default_factory=dict)
    visibility: Visibility
    work_ids: list[str] = Field(default_factory=list)
    works: list[WorkRef] = Field(default_factory=list)
    uid: str
    source: dict[str, str] = Field(default_factory=dict)
    editable: bool = False
    created_at: str
    updated_at: str


class OccurrenceRead(BaseModel):
    """One occurrence in a viewed range (the home page's and the calendar's contract).

    ``busy_only``: the reader may know only that the time is taken (seed 001 別表1-1 7(4)(5)):
    no title, location, works or series id are sent."""

    id: str
    title: str | None
    start: str
    end: str
    all_day: bool
    work_id: str | None = None
    busy_only: bool = False
    location: str | None = None
    owner_id: str
    owner_name: str = ""
    series_id: str | None = None
    recurrence_id: str | None = None
    recurring: bool = False
    work_ids: list[str] = Field(default_factory=list)
    visibility: Visibility | None = None
    editable: bool = False


class OccurrenceRow(TypedDict):
    """``OccurrenceRead`` as the views build it (``api.schedules.views.rows``): a plain dict
    with every field of the model, in its order, which the list endpoint writes with
    pydantic's encoder without building thousands of model instances (the same bytes:
    ``tests/schedules/test_views.py``). mypy checks the rows against it."""

    id: str
    title: str | None
    start: str
    end: str
    all_day: bool
    work_id: str | None
    busy_only: bool
    location: str | None
    owner_id: str
    owner_name: str
    series_id: str | None
    recurrence_id: str | None
    recurring: bool
    work_ids: list[str]
    visibility: Visibility | None
    editable: bool


class CancelResult(BaseModel):
    """Cancelling one occurrence: the series left, or ``deleted`` when none remained."""

    deleted: bool
    entry: EntryRead | None = None


class HolidayRead(BaseModel):
    date: str
    name: str
    kind: str


class ImportRead(BaseModel):
    id: str
    state: str
    filename: str = ""
    size: int = 0
    progress: dict[str, int] = Field(default_factory=dict)
    report: dict[str, object] = Field(default_factory=dict)
    error: str | None = None
    created_at: str
    finished_at: str | None = None


class ImportFromAttachment(_Model):
    attachment_id: str = Field(min_length=1, max_length=64)
    visibility: Visibility = "public"
    work_id: str | None = Field(default=None, max_length=64)


class FeedCreate(_Model):
    scope: Literal["user", "work"] = "user"
    work_id: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=100)


class FeedRead(BaseModel):
    id: str
    scope: str
    work_id: str | None = None
    name: str = ""
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None
    # Only in the answer that creates it: the token is stored as a hash.
    url: str | None = None
