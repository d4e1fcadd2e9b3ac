"""Logging: one JSON object per line, each carrying the id of the request it belongs to.

The request middleware puts a ``RequestContext`` into a contextvar; ``JsonFormatter`` reads it
at format time, so every log line written while a request runs carries its ``request_id``
(and the user id once the auth layer has called ``bind_user``). ``configure_logging`` is
idempotent: it replaces the handler it installed before instead of stacking another.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.config import Settings


@dataclass
class RequestContext:
    """Mutable on purpose: a dependency running in another task can still set the user."""

    request_id: str
    user_id: str | None = None
    # Set once the cause of a 5xx answer has been logged (``api.errors.log_failure``), so the
    # middleware can tell a 5xx whose cause nobody logged.
    cause_logged: bool = False


_current: ContextVar[RequestContext | None] = ContextVar("kura_request", default=None)


def current_request() -> RequestContext | None:
    """The context of the request being served in this task, if any."""
    return _current.get()


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx else None


def bind_user(user_id: str) -> None:
    """Record who is asking, so the access log line names them (called by the auth layer)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.user_id = user_id


def mark_cause_logged() -> None:
    """Note that the cause of this request's failure is in the log."""
    ctx = _current.get()
    if ctx is not None:
        ctx.cause_logged = True


def enter_request(ctx: RequestContext) -> Any:
    """Make ``ctx`` current; returns a token for ``leave_request``."""
    return _current.set(ctx)


def leave_request(token: Any) -> None:
    _current.reset(token)


# LogRecord attributes that are not "extra" fields given by the caller (uvicorn adds an
# ANSI-coloured copy of its message, useless in JSON).
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[
                :-3
            ]
            + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ctx = _current.get()
        if ctx is not None:
            out["request_id"] = ctx.request_id
            if ctx.user_id:
                out["user_id"] = ctx.user_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines for development (``KURA_LOG_JSON=false``)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return super().format(record)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(settings: Settings) -> None:
    """Send every logger through one stderr handler (JSON or text) at ``settings.log_level``.

    Uvicorn's own loggers are routed to the same handler; its access log is silenced because
    the request middleware writes a richer one (``kura.access``).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if settings.log_json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
