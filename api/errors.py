"""Typed errors with an HTTP status and a stable code, rendered as RFC 9457 problem+json.

Services raise these (never HTTPException). ``install_error_handlers`` renders them, storage
errors and payload validation errors (the only 422s), and hides everything else behind a
generic 500 without a stack trace. ``title`` is Japanese: the UI shows it to people.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.ops.logging import mark_cause_logged
from storage import errors as storage_errors

log = logging.getLogger("kura.errors")

PROBLEM_JSON = "application/problem+json"


class KuraError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "リクエストが正しくありません。"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class BadRequest(KuraError):
    pass


class NotAuthenticated(KuraError):
    status = 401
    code = "not_authenticated"
    title = "ログインが必要です。"


class InvalidCredentials(KuraError):
    status = 401
    code = "invalid_credentials"
    title = "IDまたはパスワードが正しくありません。"


class AccountLocked(KuraError):
    status = 423
    code = "account_locked"
    title = "ログインに続けて失敗したため、アカウントが一時的にロックされています。"


class PasswordChangeRequired(KuraError):
    status = 403
    code = "password_change_required"
    title = "パスワードの変更が必要です。"


class Forbidden(KuraError):
    status = 403
    code = "forbidden"
    title = "この操作を行う権限がありません。"


class CsrfFailed(KuraError):
    status = 403
    code = "csrf_failed"
    title = "画面の有効期限が切れました。再読み込みしてからやり直してください。"


class NotFoundError(KuraError):
    status = 404
    code = "not_found"
    title = "見つかりません。"


class Conflict(KuraError):
    status = 409
    code = "conflict"
    title = "他の変更と競合しました。"


class StaleVersionError(Conflict):
    code = "stale_version"
    title = "他の利用者が先に更新しました。最新の内容を読み込んでからやり直してください。"


class DuplicateError(Conflict):
    code = "duplicate"
    title = "同じものがすでに登録されています。"


class ValidationFailed(KuraError):
    """A rule about the request's meaning (not its shape) failed; 400, not 422."""

    code = "validation_failed"
    title = "入力内容に誤りがあります。"


class TooManyRequests(KuraError):
    status = 429
    code = "too_many_requests"
    title = "操作が多すぎます。しばらく待ってからやり直してください。"


class PayloadTooLarge(KuraError):
    status = 413
    code = "too_large"
    title = "サイズの上限を超えています。"


class OffsetConflict(Conflict):
    code = "offset_mismatch"
    title = "アップロード位置が一致しません。中断した位置から再開してください。"


class ChecksumFailed(KuraError):
    status = 460  # tus checksum extension
    code = "checksum_mismatch"
    title = "受信したデータのチェックサムが一致しません。もう一度送信してください。"


class ServiceUnavailable(KuraError):
    status = 503
    code = "service_unavailable"
    title = "一時的に利用できません。しばらく待ってからやり直してください。"


class InsufficientStorage(KuraError):
    """The storage has no room left (RFC 4918 §11.5): nothing was stored; an operator must
    free or add space."""

    status = 507
    code = "insufficient_storage"
    title = "保存領域に空きがないため保存できませんでした。管理者に連絡してください。"


def problem(
    status: int, code: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://kura.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
    }
    body.update(extra)
    headers = {"Retry-After": "30"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _from_storage(exc: storage_errors.StorageError) -> KuraError:
    if isinstance(exc, storage_errors.StaleVersion):
        return StaleVersionError(current_version=exc.actual)
    if isinstance(exc, storage_errors.DuplicateKey):
        return DuplicateError(fields=list(exc.fields))
    if isinstance(exc, storage_errors.NotFound):
        return NotFoundError()
    if isinstance(exc, storage_errors.StorageFull):
        return InsufficientStorage(backend=exc.backend)
    if isinstance(exc, storage_errors.BackendUnavailable):
        return ServiceUnavailable(backend=exc.backend)
    if isinstance(exc, storage_errors.OffsetMismatch):
        return OffsetConflict(expected_offset=exc.expected)
    if isinstance(exc, storage_errors.ChecksumMismatch):
        return ChecksumFailed()
    if isinstance(exc, storage_errors.SizeExceeded):
        return PayloadTooLarge()
    if isinstance(exc, storage_errors.InvalidQuery):
        return BadRequest(str(exc))
    return ServiceUnavailable()


# A disk that is full answers 507; one the server may not write (permissions, read-only
# mount) is an operations fault: 503 with the cause in the log.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def _from_os_error(exc: OSError) -> KuraError | None:
    if exc.errno in _FULL_ERRNOS:
        return InsufficientStorage()
    if exc.errno in _DENIED_ERRNOS:
        return ServiceUnavailable()
    return None


def as_kura_error(exc: BaseException) -> KuraError | None:
    """The typed error ``exc`` stands for: itself, a storage error's mapping, or a disk
    failure (``OSError`` full or denied, also when raised as the cause of another error)."""
    if isinstance(exc, KuraError):
        return exc
    if isinstance(exc, storage_errors.StorageError):
        return _from_storage(exc)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            found = _from_os_error(current)
            if found is not None:
                return found
        current = current.__cause__ or current.__context__
    return None


def log_failure(exc: BaseException, status: int) -> None:
    """Log why a request answers ``status`` (a 5xx): once per exception, with its traceback
    and chained causes (``Errno 28``, ``Operation not permitted``); the formatter adds the
    request id. Later handlers that see the same exception again stay quiet."""
    if getattr(exc, "_kura_logged", False):
        return
    with contextlib.suppress(AttributeError):
        setattr(exc, "_kura_logged", True)  # noqa: B010 (not every exception takes attributes)
    mark_cause_logged()
    log.error(
        "request failed with %s: %s: %s",
        status,
        type(exc).__name__,
        exc,
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"status": status},
    )


def unexpected_response(exc: BaseException, path: str) -> JSONResponse:
    """The answer to an exception no handler knew: its typed meaning if it has one (a full
    disk: 507), else a generic 500 without a stack trace; the cause is logged either way."""
    err = as_kura_error(exc)
    if err is None:
        log_failure(exc, 500)
        title = "システムエラーが発生しました。"
        return problem(500, "internal_error", title, title, path)
    if err.status >= 500:
        log_failure(exc, err.status)
    return problem(err.status, err.code, err.title, err.detail, path, **err.extra)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, scope: Any) -> list[str]:
    """Every method some route of ``app`` answers at the request's path (for ``Allow``)."""
    routes = getattr(app, "routes", ())
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    async def on_kura(request: Request, exc: Exception) -> JSONResponse:
        err = as_kura_error(exc)
        assert err is not None
        if err.status >= 500:
            log_failure(exc, err.status)
        return problem(err.status, err.code, err.title, err.detail, request.url.path, **err.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(
            422,
            "invalid_payload",
            "入力内容の形式が正しくありません。",
            "リクエストの形式に誤りがあります。",
            request.url.path,
            errors=errors,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        titles = {404: "見つかりません。", 405: "この操作には対応していません。"}
        title = titles.get(exc.status_code, "リクエストを処理できません。")
        response = problem(
            exc.status_code, f"http_{exc.status_code}", title, title, request.url.path
        )
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110 §15.5.6: every method the path answers, not only the first route's.
            response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        if exc.status_code >= 500:
            log_failure(exc, exc.status_code)
        return response

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_response(exc, request.url.path)

    app.add_exception_handler(KuraError, on_kura)
    app.add_exception_handler(storage_errors.StorageError, on_kura)
    app.add_exception_handler(OSError, on_unexpected)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
