"""``/api/v1/auth``: login, logout, who am I, password change and the password policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.auth import passwords
from api.auth.deps import CSRF_COOKIE, SESSION_COOKIE, auth_service, current_credential
from api.auth.schemas import (
    LoginRequest,
    LoginResponse,
    MeResponse,
    PasswordChange,
    PasswordPolicy,
    PolicyCheckRequest,
    PolicyCheckResponse,
    PolicyRule,
    TokenRead,
)
from api.auth.service import TokenRequest
from api.auth.sessions import CredentialKind, TokenScope
from api.deps import ContainerDep, SubjectDep
from api.errors import NotAuthenticated
from api.permissions.policy import Subject
from api.users.schemas import UserRead

router = APIRouter(prefix="/auth", tags=["auth"])


def _require(subject: Subject | None) -> Subject:
    if subject is None:
        raise NotAuthenticated()
    return subject


@router.post("/login", response_model=LoginResponse)
async def login(
    body: LoginRequest, request: Request, response: Response, container: ContainerDep
) -> LoginResponse:
    service = auth_service(container)
    ip = request.client.host if request.client else None
    token = TokenRequest(
        scope=TokenScope(body.scope or TokenScope.FULL.value),
        name=body.token_name or None,
        ttl_days=body.ttl_days,
    )
    result = await service.login(
        body.login_id,
        body.password,
        body.mode,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        token=token,
    )
    issued = result.issued
    out = LoginResponse(
        user=UserRead.model_validate(result.user.public()),
        mode=body.mode,
        expires_at=issued.credential.expires_at,
        password_change_required=result.password_change_required,
    )
    if issued.credential.kind is CredentialKind.TOKEN:
        out.token = issued.secret
        out.token_id = issued.credential.public_id
        out.scope = issued.credential.scope.value
        return out
    out.csrf_token = issued.csrf_token
    secure = container.settings.auth.cookie_secure
    max_age = container.settings.auth.session_ttl_minutes * 60
    response.set_cookie(
        SESSION_COOKIE,
        issued.secret,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf_token or "",
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=False,
        samesite="lax",
    )
    return out


@router.post("/logout", status_code=204)
async def logout(
    request: Request, response: Response, container: ContainerDep, subject: SubjectDep
) -> Response:
    who = _require(subject)
    cred = current_credential(request)
    if cred is not None:
        await auth_service(container).logout(who, cred)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/")
    out.delete_cookie(CSRF_COOKIE, path="/")
    return out


@router.get("/me", response_model=MeResponse)
async def me(container: ContainerDep, subject: SubjectDep) -> MeResponse:
    who = _require(subject)
    service = auth_service(container)
    user = await service.users.get(who.user_id)
    if user is None:
        raise NotAuthenticated()
    return MeResponse(
        user=UserRead.model_validate(user.public()),
        org_kind=who.org_kind.value if who.org_kind else None,
        grants=sorted(who.grants),
        password_change_required=service.password_change_required(user),
    )


@router.get("/tokens", response_model=list[TokenRead])
async def list_tokens(
    request: Request, container: ContainerDep, subject: SubjectDep
) -> list[TokenRead]:
    """The caller's API tokens without their secrets, newest first (issue 7 item 12)."""
    who = _require(subject)
    cred = current_credential(request)
    return [
        TokenRead(
            id=c.public_id,
            name=record.get("name"),
            scope=c.scope.value,
            created_at=record["created_at"],
            expires_at=c.expires_at,
            ip=record.get("ip"),
            user_agent=record.get("user_agent"),
            current=cred is not None and cred.kind is c.kind and cred.id == c.id,
        )
        for c, record in await auth_service(container).tokens(who)
    ]


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(
    token_id: Annotated[str, Path(max_length=64)], container: ContainerDep, subject: SubjectDep
) -> Response:
    """Revoke one of the caller's tokens (a read-only token may revoke itself)."""
    await auth_service(container).revoke_token(_require(subject), token_id)
    return Response(status_code=204)


@router.post("/password", response_model=UserRead)
async def change_password(
    body: PasswordChange, request: Request, container: ContainerDep, subject: SubjectDep
) -> UserRead:
    who = _require(subject)
    container.policy.require(who, "users.change_password")
    user = await auth_service(container).change_password(
        who, current_credential(request), body.current_password, body.new_password
    )
    return UserRead.model_validate(user.public())


@router.get("/password-policy", response_model=PasswordPolicy)
async def password_policy(container: ContainerDep) -> PasswordPolicy:
    """The password rules in Japanese (seed 001 別表1-1 8(5)); public, for the login page."""
    settings = container.settings.auth
    return PasswordPolicy(
        rules=[
            PolicyRule(code=r.code, description=r.description) for r in passwords.rules(settings)
        ],
        min_length=settings.password_min_length,
        max_length=passwords.MAX_LENGTH,
        max_age_days=settings.password_max_age_days,
        max_age=passwords.max_age_text(settings),
        lockout=(
            f"{settings.lockout_threshold}回続けてログインに失敗すると、"
            f"{settings.lockout_minutes}分間ログインできなくなります。"
        ),
    )


@router.post("/password-policy/check", response_model=PolicyCheckResponse)
async def check_password(
    body: PolicyCheckRequest, container: ContainerDep, subject: SubjectDep
) -> PolicyCheckResponse:
    """Which rules a candidate fails, for the change form as the user types."""
    who = _require(subject)
    failed = passwords.check(container.settings.auth, body.password, who.login_id)
    return PolicyCheckResponse(
        ok=not failed,
        failed=[PolicyRule(code=r.code, description=r.description) for r in failed],
    )
