"""Typed errors with an HTTP status and a stable code, rendered as RFC 9457 problem+json.

Services raise these (never HTTPException). ``install_error_handlers`` renders them, storage
errors and payload validation errors (the only 422s), and hides everything else behind a
generic 500 without a stack trace. ``title`` is Japanese: the UI shows it to people.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def as_kura_error(exc: Exception) -> KuraError | None:
    if isinstance(exc, KuraError):
        return exc
    if isinstance(exc, storage_errors.StorageError):
        return _from_storage(exc)
    return None


def install_error_handlers(app: FastAPI) -> None:
    async def on_kura(request: Request, exc: Exception) -> JSONResponse:
        err = as_kura_error(exc)
        assert err is not None
        if err.status >= 500:
            log.warning("request failed: %s", exc)
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
        return problem(exc.status_code, f"http_{exc.status_code}", title, title, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        title = "システムエラーが発生しました。"
        return problem(500, "internal_error", title, title, request.url.path)

    app.add_exception_handler(KuraError, on_kura)
    app.add_exception_handler(storage_errors.StorageError, on_kura)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
