"""Response and filter models of the jobs API (operators)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from api.jobs.models import JobState
from api.kit.clock import UtcDateTime
from api.kit.text import Text


class JobRead(BaseModel):
    id: str
    task: str
    # The task's keyword arguments (``kwargs`` on the record).
    arguments: dict[str, Any] = Field(default_factory=dict, validation_alias=AliasChoices("kwargs"))
    state: JobState
    attempts: int = 0
    restarts: int = 0
    worker: str | None = None
    last_error: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    sent_at: UtcDateTime | None = None
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    due_at: UtcDateTime | None = None
    not_before: UtcDateTime | None = None
    version: int


class JobFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: JobState | None = None
    task: Annotated[str, Text(100)] | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: Annotated[str, Field(max_length=2000)] | None = None


class JobSummary(BaseModel):
    """How many jobs are in each state, and how many are overdue (the sweeper is behind or
    not running)."""

    counts: dict[str, int]
    overdue: int
