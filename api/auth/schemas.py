"""Request and response models of the auth API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.kit.clock import UtcDateTime
from api.kit.text import Text
from api.users.schemas import UserRead

# Generous outer bounds: the policy (not the payload shape) explains a too-long password.
_PW = Field(min_length=1, max_length=1024)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login_id: str = Field(min_length=1, max_length=256)
    password: str = _PW
    mode: Literal["session", "token"] = "session"
    # Token mode only (issue 7 item 12): ``read`` tokens may only read; a name to tell
    # tokens apart in ``GET /auth/tokens``; a lifetime up to ``token_ttl_days`` days.
    scope: Literal["read", "full"] | None = None
    token_name: Annotated[str, Text(100, required=False)] | None = None
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class LoginResponse(BaseModel):
    user: UserRead
    mode: Literal["session", "token"]
    expires_at: UtcDateTime
    password_change_required: bool
    # Session mode: also set as the ``kura_csrf`` cookie; send it back in X-CSRF-Token.
    csrf_token: str | None = None
    # Token mode: send as ``Authorization: Bearer <token>``; shown once.
    token: str | None = None
    token_id: str | None = None
    scope: Literal["read", "full"] | None = None


class TokenRead(BaseModel):
    """One of the caller's API tokens, without its secret."""

    id: str
    name: str | None = None
    scope: Literal["read", "full"]
    created_at: UtcDateTime
    expires_at: UtcDateTime
    ip: str | None = None
    user_agent: str | None = None
    current: bool = False


class MeResponse(BaseModel):
    user: UserRead
    org_kind: str | None
    grants: list[str]
    password_change_required: bool


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = _PW
    new_password: str = _PW


class PolicyRule(BaseModel):
    code: str
    description: str


class PasswordPolicy(BaseModel):
    rules: list[PolicyRule]
    min_length: int
    max_length: int
    max_age_days: int
    max_age: str
    lockout: str


class PolicyCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=1024)


class PolicyCheckResponse(BaseModel):
    ok: bool
    failed: list[PolicyRule]
