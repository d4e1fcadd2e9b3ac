"""Request body limits and JSON text sanity, before any endpoint reads a byte (issue 7 items 4
and 8).

Pure ASGI. Each request falls into one body class, chosen by method and path template:

- ``stream``: the tus upload endpoints (PATCH, creation-with-upload, the POST override), up
  to ``archive.max_upload_bytes``; the multipart upload form, up to
  ``http.max_form_body_bytes``; the iCalendar import, up to ``schedules.max_import_bytes``.
  A new endpoint that takes a large body must be listed here. These bodies pass through as
  they arrive; the bytes are counted and the request fails with 413 at the first byte past
  the limit.
- ``small``: everything else (JSON APIs, login), up to ``http.max_body_bytes`` (1 MiB). The
  body is read whole here (it is small), so an oversized one never reaches the app; a JSON
  body holding a lone UTF-16 surrogate escape (``"\\ud800"``), which no store, hash or log can
  encode, is refused with 422 like any other malformed payload.

A declared ``Content-Length`` above the limit answers 413 at once, without reading the body.
Answers are RFC 9457 problem+json with Japanese titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings
from api.errors import PayloadTooLarge, problem

BodyKind = Literal["small", "stream"]

TOO_LARGE_TITLE = "リクエストの本文が大きすぎます。"
SURROGATE_DETAIL = "文字列に不正な文字（対になっていないサロゲート）が含まれています。"

# (methods, path template) of the endpoints that stream large bodies; {name} is one segment.
TUS_ROUTES = (
    (frozenset({"PATCH", "POST"}), "/api/v1/uploads/{upload_id}"),
    (frozenset({"POST"}), "/api/v1/works/{work_id}/uploads"),
    (frozenset({"POST"}), "/api/v1/attachments/uploads"),
)
FORM_ROUTES = ((frozenset({"POST"}), "/api/v1/works/{work_id}/files"),)
# The iCalendar import takes the file as its body (``schedules.max_import_bytes``).
ICAL_ROUTES = ((frozenset({"POST"}), "/api/v1/schedules/imports"),)


def _template_re(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "/?$")


class BodyTooLarge(PayloadTooLarge):
    """Raised from ``receive`` when a streamed body passes its limit (the ``too_large`` code
    of every size refusal)."""

    title = TOO_LARGE_TITLE


@dataclass(frozen=True)
class BodyRule:
    kind: BodyKind
    limit: int


class BodyLimits:
    """Which rule applies to a request (method and path)."""

    def __init__(self, settings: Settings) -> None:
        self.small = BodyRule("small", settings.http.max_body_bytes)
        upload = BodyRule("stream", settings.archive.max_upload_bytes)
        form = BodyRule("stream", settings.http.max_form_body_bytes)
        ical = BodyRule("stream", settings.schedules.max_import_bytes)
        self.rules = [
            *((methods, _template_re(t), upload) for methods, t in TUS_ROUTES),
            *((methods, _template_re(t), form) for methods, t in FORM_ROUTES),
            *((methods, _template_re(t), ical) for methods, t in ICAL_ROUTES),
        ]

    def rule(self, method: str, path: str) -> BodyRule:
        for methods, pattern, rule in self.rules:
            if method in methods and pattern.match(path):
                return rule
        return self.small


# One JSON string escape: ``\uXXXX`` (group 1) or any other escaped character. Scanning left
# to right keeps ``\\ud800`` (an escaped backslash, then text) apart from ``\ud800``.
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON text escapes a UTF-16 surrogate that is not part of a valid pair."""
    if b"\\u" not in body and b"\\U" not in body:
        return False
    high_end = -1  # where an unpaired high surrogate escape ended, -1 if none pending
    for m in _ESCAPE.finditer(body):
        hexa = m.group(1)
        value = int(hexa, 16) if hexa else -1
        if high_end >= 0:
            if m.start() == high_end and 0xDC00 <= value <= 0xDFFF:
                high_end = -1
                continue
            return True
        if 0xD800 <= value <= 0xDBFF:
            high_end = m.end()
        elif 0xDC00 <= value <= 0xDFFF:
            return True
    return high_end >= 0


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _length(declared: bytes | None) -> int | None:
    """A ``Content-Length`` value (huge ones capped), None if absent or not a number."""
    value = (declared or b"").strip()
    if not value.isdigit():
        return None
    return int(value) if len(value) < 19 else 10**18


def _is_json(content_type: bytes | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.limits.rule(scope.get("method", ""), scope.get("path", ""))
        declared = _header(scope, b"content-length")
        length = _length(declared)
        if length is not None and length > rule.limit:
            await self._reject_size(scope, receive, send, rule.limit)
            return
        if rule.kind == "stream":
            await self.app(scope, _counting(receive, rule.limit), send)
            return
        has_body = bool(length) or _header(scope, b"transfer-encoding") is not None
        if not has_body:
            await self.app(scope, _counting(receive, rule.limit), send)
            return
        body, complete = await _read_whole(receive, rule.limit)
        if not complete:
            return  # the client went away mid-body: nobody to answer
        if body is None:
            await self._reject_size(scope, receive, send, rule.limit)
            return
        if _is_json(_header(scope, b"content-type")) and has_lone_surrogate(body):
            response = problem(
                422,
                "invalid_payload",
                "入力内容の形式が正しくありません。",
                SURROGATE_DETAIL,
                scope.get("path", ""),
                errors=[{"loc": ["body"], "msg": SURROGATE_DETAIL, "type": "string_unicode"}],
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _reject_size(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"本文は {limit:,} バイト以内にしてください。"
        response = problem(
            413, BodyTooLarge.code, TOO_LARGE_TITLE, detail, scope.get("path", ""), limit=limit
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


async def _read_whole(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """``(body, True)``; ``(None, True)`` once it passes ``limit`` (nothing more is read);
    ``(None, False)`` when the client disconnected first."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, True
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), True


def _replay(body: bytes, rest: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await rest()

    return receive


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(f"本文は {limit:,} バイト以内にしてください。", limit=limit)
        return message

    return counted


def install_body_limits(app: FastAPI, settings: Settings) -> None:
    """Add the body limits (call before ``install_observability``, so the request context
    middleware stays outermost and 413s carry the request id and an access line)."""
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits(settings))
