"""Request and response models of ``/api/v1/notifications``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class NotificationRead(BaseModel):
    id: str
    kind: str
    kind_label: str
    importance: Literal["normal", "important"]
    title: str
    url: str
    work_id: str | None = None
    unread: bool
    created_at: str
    read_at: str | None = None


class UnreadCount(BaseModel):
    unread: int


class ReadAllResult(BaseModel):
    marked: int


class KindPrefRead(BaseModel):
    kind: str
    label: str
    mail: bool
    min_importance: Literal["normal", "important"]


class KindPrefWrite(BaseModel):
    mail: bool
    min_importance: Literal["normal", "important"] = "normal"


class PreferencesWrite(BaseModel):
    kinds: dict[str, KindPrefWrite] = Field(max_length=100)
