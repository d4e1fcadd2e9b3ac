"""Request context middleware: request id, access log, metrics, last-resort 500.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed downloads pass through untouched and the
request's contextvar is visible to everything the request runs.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings
from api.errors import log_failure, unexpected_response
from api.kit.ids import new_id
from api.ops.logging import RequestContext, configure_logging, enter_request, leave_request
from api.ops.metrics import Metrics

log = logging.getLogger("kura.access")
errors_log = logging.getLogger("kura.errors")

REQUEST_ID_HEADER = "x-request-id"
# An incoming id is kept only if it cannot forge log lines or blow up label sizes.
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Probes hit these every few seconds; their successes are logged at DEBUG only.
_QUIET_PATHS = frozenset({"/healthz", "/metrics"})


def incoming_request_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.match(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/works/{work_id}``), never the raw path,
    so metric labels stay few."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _user_id(scope: Scope, ctx: RequestContext) -> str | None:
    """Who asked: set by ``bind_user``, or found on ``request.state`` where the auth layer
    leaves the subject or credential it validated (``user_id`` attribute)."""
    if ctx.user_id:
        return ctx.user_id
    state = scope.get("state")
    if not isinstance(state, dict):
        return None
    if isinstance(state.get("user_id"), str):
        return str(state["user_id"])
    for key in ("subject", "kura_credential"):
        found = getattr(state.get(key), "user_id", None)
        if isinstance(found, str):
            return found
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = RequestContext(incoming_request_id(scope) or new_id())
        token = enter_request(ctx)
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = ctx.request_id
            await send(message)

        self.metrics.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                # Too late for an error answer: the client sees a cut body.
                log_failure(exc, status)
                raise
            # Rendered here rather than by Starlette's outermost handler so the answer carries
            # the request id too; no stack trace reaches the client. A full disk is a 507.
            response = unexpected_response(exc, scope.get("path", ""))
            await response(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            if status >= 500 and not ctx.cause_logged:
                errors_log.error(
                    "answered %s without a logged cause", status, extra={"status": status}
                )
            self.metrics.in_flight.dec()
            self.metrics.observe(scope.get("method", ""), route_template(scope), status, seconds)
            self._access_log(scope, ctx, status, seconds)
            leave_request(token)

    @staticmethod
    def _access_log(scope: Scope, ctx: RequestContext, status: int, seconds: float) -> None:
        path = scope.get("path", "")
        if status >= 500:
            level = logging.WARNING
        elif path in _QUIET_PATHS and status < 400:
            level = logging.DEBUG
        else:
            level = logging.INFO
        if not log.isEnabledFor(level):
            return
        method = scope.get("method", "")
        duration_ms = round(seconds * 1000, 2)
        extra: dict[str, Any] = {
            "request_id": ctx.request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
        }
        user_id = _user_id(scope, ctx)
        if user_id:
            extra["user_id"] = user_id
        log.log(level, "%s %s %s %.1fms", method, path, status, duration_ms, extra=extra)


def install_observability(app: FastAPI, settings: Settings) -> None:
    """Configure logging and add the request middleware and the app's own metrics registry."""
    configure_logging(settings)
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
