"""Response and filter models of the audit API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.clock import UtcDateTime
from api.kit.text import Text

_Key = Annotated[str, Text(200)]


class AuditEventRead(BaseModel):
    id: str
    seq: int
    at: UtcDateTime
    actor_id: str
    actor_login: str | None = None
    action: str
    target: str
    before_digest: str | None = None
    after_digest: str | None = None
    detail: dict[str, Any] = {}
    prev_hash: str
    # The audit key that sealed the event (None: a legacy event, plain SHA-256).
    key_id: str | None = None
    hash: str
    # The organizations the event concerns (absent on events recorded before issue 7).
    org_ids: list[str] | None = None


class AuditField(BaseModel):
    key: str
    label: str
    value: str


class AuditEventWords(AuditEventRead):
    """An event as people read it (issue 8 §3 item 6): the action's Japanese name, the names
    of the actor and the target, the work it is about, the detail as labelled fields."""

    action_name: str
    actor_name: str | None = None
    target_name: str | None = None
    work_id: str | None = None
    fields: list[AuditField] = []


class AuditFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: _Key | None = None
    actor: _Key | None = None
    target: _Key | None = None
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: Annotated[str, Field(max_length=2000)] | None = None


class AuditExportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "jsonl"] = "jsonl"
    action: _Key | None = None
    actor: _Key | None = None
    target: _Key | None = None
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None
