"""Who is asking: the subject behind the session cookie or the bearer token.

``resolve_subject`` is called once per request through ``api.deps.SubjectDep``. It enforces
three rules before any endpoint runs:
- CSRF (double submit): an unsafe method authenticated by the session cookie must send
  ``X-CSRF-Token`` equal to the session's token; bearer tokens need none (a browser never
  attaches them by itself);
- a user whose password expired or was reset may only change it (seed 001 別表1-1 8(5)):
  every other endpoint answers 403 ``password_change_required``;
- a ``read`` token (issue 7 item 12) may use safe methods only, besides logging out and
  revoking a token: anything else answers 403 ``token_read_only``.
Nothing is cached across requests: a disabled user or a revoked session stops at once.
"""

from __future__ import annotations

from fastapi import Request

from api.auth.service import AuthService
from api.auth.sessions import Credential, CredentialKind, TokenScope
from api.container import Container
from api.errors import CsrfFailed, Forbidden, NotAuthenticated, PasswordChangeRequired
from api.permissions.policy import Subject

SESSION_COOKIE = "kura_session"
CSRF_COOKIE = "kura_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Paths a user who must change their password may still use.
_CHANGE_ALLOWED = frozenset(
    "/api/v1/auth/" + p
    for p in ("password", "me", "logout", "password-policy", "password-policy/check")
)

# What a read-only token may still do with an unsafe method: give up rights, never gain any.
_READ_TOKEN_WRITES = (("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/auth/tokens/"))


class TokenReadOnly(Forbidden):
    code = "token_read_only"
    title = "このアクセストークンは読み取り専用です。"


def auth_service(container: Container) -> AuthService:
    return AuthService(container.records, container.uow, container.clock, container.settings.auth)


def current_credential(request: Request) -> Credential | None:
    """The credential ``resolve_subject`` validated for this request, if any."""
    cred: Credential | None = getattr(request.state, "kura_credential", None)
    return cred


def _read_allowed(request: Request) -> bool:
    if request.method in SAFE_METHODS:
        return True
    path = request.url.path
    return any(
        request.method == method and (path.rstrip("/") == prefix or path.startswith(prefix))
        for method, prefix in _READ_TOKEN_WRITES
    )


def _change_allowed(path: str) -> bool:
    return path.rstrip("/") in _CHANGE_ALLOWED


async def resolve_subject(request: Request) -> Subject | None:
    container: Container = request.app.state.container
    service = auth_service(container)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("Authorization ヘッダーの形式が正しくありません。")
        found = await service.authenticate(CredentialKind.TOKEN, token.strip())
        if found is None:
            raise NotAuthenticated("アクセストークンが無効か、有効期限が切れています。")
        if found[0].scope is TokenScope.READ and not _read_allowed(request):
            raise TokenReadOnly(
                "このアクセストークンは読み取り専用のため、変更する操作には使えません。"
                "変更には scope=full のトークンを発行してください。"
            )
    else:
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return None
        found = await service.authenticate(CredentialKind.SESSION, secret)
        if found is None:
            return None
        if request.method not in SAFE_METHODS and not found[0].csrf_ok(
            request.headers.get(CSRF_HEADER)
        ):
            raise CsrfFailed()
    cred, user = found
    request.state.kura_credential = cred
    if service.password_change_required(user) and not _change_allowed(request.url.path):
        raise PasswordChangeRequired(
            "パスワードの有効期限が切れたか、初期パスワードのままです。"
            "パスワードを変更してください。"
        )
    return await service.subject_for(user)
