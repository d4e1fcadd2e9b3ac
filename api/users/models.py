"""The stored user record (collection ``users``) and its field rules.

One login ID works in every module and every work the user belongs to (seed 000 ※2,
seed 001 別表1-1 8(2)). ``login_key`` is the lower-cased login ID: IDs are unique and looked
up without regard to case, while the ID is shown as it was registered.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from api.kit.clock import UtcDateTime, from_iso, to_iso

COLLECTION = "users"
LOGIN_ID_RE = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
_EMAIL_RE = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)

MAX_NAME = 100
MAX_EMAIL = 254
MAX_POSITION = 100


class UserStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


def check_login_id(value: str) -> str:
    if not LOGIN_ID_RE.match(value):
        raise ValueError(
            "ログインIDは半角英数字と . _ - を使い、3文字以上64文字以内で入力してください。"
        )
    return value


def check_email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise ValueError("メールアドレスの形式が正しくありません。")
    return value


class User(BaseModel):
    """A user as stored. ``password_hash`` never leaves the service layer."""

    model_config = ConfigDict(extra="ignore")

    id: str
    login_id: str
    login_key: str
    name: str
    name_kana: str | None = None
    email: str | None = None
    org_id: str
    position: str | None = None
    status: UserStatus = UserStatus.ACTIVE
    password_hash: str
    # Hashes of earlier passwords, newest first (``AuthSettings.password_history``).
    password_history: list[str] = []
    password_changed_at: UtcDateTime | None = None
    must_change_password: bool = False
    failed_attempts: int = 0
    locked_until: UtcDateTime | None = None
    last_login_at: UtcDateTime | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int = 1

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> User:
        return cls.model_validate(record)

    def to_record(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"version"})
        return {k: v for k, v in data.items() if v is not None}

    def public(self) -> dict[str, Any]:
        """The state shown in audit digests and API answers: no password hashes."""
        data = self.model_dump(
            mode="json", exclude={"password_hash", "password_history", "login_key"}
        )
        return data

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def iso(value: datetime) -> str:
    return to_iso(value)


def parse_iso(value: str) -> datetime:
    return from_iso(value)
