"""Request and response models for per-user function grants (seed 001 別表1-1 8(3))."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.kit.clock import UtcDateTime


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grant: str = Field(min_length=1, max_length=64)


class GrantRead(BaseModel):
    id: str
    user_id: str
    org_id: str | None = None
    grant: str
    label: str = ""
    granted_by: str
    granted_at: UtcDateTime
    version: int


class GrantName(BaseModel):
    name: str
    label: str
