"""Request and response models of the users API (``XCreate/XUpdate/XRead``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.kit.clock import UtcDateTime
from api.kit.text import Kana, Text
from api.users.models import (
    MAX_EMAIL,
    MAX_NAME,
    MAX_POSITION,
    UserStatus,
    check_email,
    check_login_id,
)

LoginId = Annotated[str, Field(max_length=64), AfterValidator(check_login_id)]
Name = Annotated[str, Text(MAX_NAME, blank_message="氏名を入力してください。")]
Email = Annotated[str, Text(MAX_EMAIL, required=False), AfterValidator(check_email)]
Position = Annotated[str, Text(MAX_POSITION, required=False)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login_id: LoginId
    name: Name
    name_kana: Kana | None = None
    email: Email | None = None
    org_id: str = Field(min_length=1, max_length=64)
    position: Position | None = None


class UserUpdate(BaseModel):
    """Fields to change; ``version`` is the version read (a stale one answers 409)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    name: Name | None = None
    name_kana: Kana | None = None
    email: Email | None = None
    # Moving a user to another organization: operators only, and only a user without grants
    # or work memberships (those belong to the old organization; issue 8 §3 item 11).
    org_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    position: Position | None = None
    status: UserStatus | None = None


class UserRead(BaseModel):
    id: str
    login_id: str
    name: str
    name_kana: str | None = None
    email: str | None = None
    org_id: str
    position: str | None = None
    status: UserStatus
    must_change_password: bool
    password_changed_at: UtcDateTime | None = None
    locked_until: UtcDateTime | None = None
    last_login_at: UtcDateTime | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int


class UserCreated(BaseModel):
    """The new user and its one-time password, shown once and never stored in clear."""

    user: UserRead
    initial_password: str


class PasswordReset(BaseModel):
    user: UserRead
    one_time_password: str


class VersionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
