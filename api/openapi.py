"""The OpenAPI document: every status code an operation can answer, in one place (issue 7
item 8).

Routers declare their success answers; the error answers API operations share are added
here, from the generated document itself (so no decorator lists them, and a new router is
covered without a line here):

- every ``/api/v1`` operation: 400 (a rule about the request's meaning, a bad cursor), 401
  (no or a bad credential), 403 (not allowed, CSRF, password change due), 404 (not found or
  not visible to the caller), 503 (a backend down) and 507 (storage full);
- operations that change something (POST, PUT, PATCH, DELETE): 409 (stale version,
  duplicate, conflict) and 413 (body limits, ``api.ops.limits``);
- operations with parameters or a body: 422 (payload shape);
- ``EXTRA``: codes only some operations answer (ranges, tus, throttling).

A 405 is no operation's answer: it carries ``Allow`` (``api.errors``).

Error bodies are RFC 9457 problem+json (``Problem``); FastAPI's own 422 schema is replaced by
ours. Success answers that are not JSON (downloads, CSV, ZIP) are given their media types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from api.errors import PROBLEM_JSON

JSON = "application/json"
API_PREFIX = "/api/v1"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HTTP_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", *UNSAFE})


class Problem(BaseModel):
    """An error answer (RFC 9457): ``title`` and ``detail`` in Japanese for people, ``code``
    stable for programs; some problems add fields (``errors``, ``current_version``, ...)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(Problem):
    """A 422: the request's shape is wrong; ``errors`` names each field."""

    errors: list[ValidationErrorItem]


DESCRIPTIONS: dict[int, str] = {
    304: "変更されていません",
    400: "入力内容に誤りがあります",
    401: "ログインが必要です",
    403: "権限がありません",
    404: "見つかりません",
    409: "他の変更と競合しました",
    410: "有効期限切れ、または消去済みです",
    412: "前提条件を満たしていません",
    413: "サイズの上限を超えています",
    415: "対応していない形式です",
    416: "範囲を満たせません",
    422: "入力内容の形式が正しくありません",
    423: "アカウントがロックされています",
    429: "操作が多すぎます",
    460: "チェックサムが一致しません",
    503: "一時的に利用できません",
    507: "保存領域に空きがありません",
}
# Answers without a problem body.
NO_BODY = frozenset({204, 304, 412, 416})

# (method, path) -> codes some operations answer besides the derived ones.
_TUS_UPLOAD = "/api/v1/uploads/{upload_id}"
EXTRA: dict[tuple[str, str], frozenset[int]] = {
    ("POST", "/api/v1/auth/login"): frozenset({423, 429}),
    ("GET", "/api/v1/files/{node_id}/content"): frozenset({206, 304, 416}),
    ("GET", "/api/v1/files/{node_id}/thumbnail"): frozenset({304}),
    ("POST", "/api/v1/works/{work_id}/files"): frozenset({415}),
    ("POST", "/api/v1/works/{work_id}/uploads"): frozenset({412, 415, 460}),
    ("POST", "/api/v1/attachments/uploads"): frozenset({412, 415, 460}),
    ("GET", "/api/v1/attachments/{attachment_id}/content"): frozenset({206, 304, 416}),
    ("HEAD", _TUS_UPLOAD): frozenset({410, 412}),
    ("PATCH", _TUS_UPLOAD): frozenset({410, 412, 415, 460}),
    ("DELETE", _TUS_UPLOAD): frozenset({410, 412}),
    ("POST", _TUS_UPLOAD): frozenset({204, 405, 410, 412, 415, 460}),
}
# Writes into a scope whose erasure started answer 410 ``erased`` (``api.keys.fence``).
_PROPOSAL = "/api/v1/proposals/{proposal_id}"
_FENCED = (
    ("POST", "/api/v1/works/{work_id}/files"),
    ("POST", "/api/v1/works/{work_id}/uploads"),
    ("POST", "/api/v1/attachments/uploads"),
    ("POST", "/api/v1/works/{work_id}/posts"),
    ("PATCH", "/api/v1/posts/{post_id}"),
    ("DELETE", "/api/v1/posts/{post_id}"),
    ("POST", "/api/v1/posts/{post_id}/replies"),
    ("PATCH", "/api/v1/posts/{post_id}/replies/{reply_id}"),
    ("DELETE", "/api/v1/posts/{post_id}/replies/{reply_id}"),
    ("POST", "/api/v1/bulletins/bulk"),
    ("POST", "/api/v1/works/{work_id}/proposals"),
    ("PATCH", _PROPOSAL),
    ("DELETE", _PROPOSAL),
    *(
        ("POST", f"{_PROPOSAL}/{step}")
        for step in (
            "submit",
            "withdraw",
            "cancel",
            "receive",
            "plan",
            "approve",
            "send-back",
            "answer",
            "view",
            "post-review",
            "comments",
            "corrections",
        )
    ),
    ("POST", "/api/v1/schedules/entries"),
    ("PATCH", "/api/v1/schedules/entries/{entry_id}"),
)
for _op in _FENCED:
    EXTRA[_op] = EXTRA.get(_op, frozenset()) | {410}
# (method, path) -> the media types of a success answer that is a file (downloads, CSV, PDF, ZIP):
# every such route is listed here, and only here (``_success_media`` describes them).
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA: dict[tuple[str, str], str | tuple[str, ...]] = {
    ("GET", "/api/v1/audit/events/export"): ("text/csv", "application/x-ndjson"),
    ("GET", "/api/v1/bonds/export.csv"): "text/csv",
    ("GET", "/api/v1/bonds/{bond_id}/copy.pdf"): "application/pdf",
    ("POST", "/api/v1/bonds/{bond_id}/copy"): "application/pdf",
    ("GET", "/api/v1/bonds/balances/export"): ("text/csv", XLSX),
    ("GET", "/api/v1/bonds/status/{list_no}"): "application/statuslist+jwt",
    ("GET", "/api/v1/files/{node_id}/content"): "*/*",
    ("GET", "/api/v1/files/{node_id}/thumbnail"): "image/jpeg",
    ("GET", "/api/v1/attachments/{attachment_id}/content"): "*/*",
    ("GET", "/api/v1/attachments/{attachment_id}/thumbnail"): "image/jpeg",
    ("POST", "/api/v1/works/{work_id}/export"): "application/zip",
    ("GET", "/api/v1/works/{work_id}/listing.csv"): "text/csv",
    ("GET", "/api/v1/works/{work_id}/listing.xlsx"): XLSX,
    ("GET", "/api/v1/search/export.csv"): "text/csv",
    ("GET", "/api/v1/search/export.xlsx"): XLSX,
    ("GET", "/api/v1/imports/{import_id}/source"): "application/zip",
    ("GET", "/api/v1/deliverables/{deliverable_id}/report.pdf"): "application/pdf",
    ("POST", "/api/v1/works/{work_id}/photo-book"): "application/pdf",
    ("GET", "/api/v1/schedules/feed/{token}"): "text/calendar",
    ("GET", "/api/v1/proposals/{proposal_id}/pdf"): "application/pdf",
    ("GET", "/api/v1/proposals/{proposal_id}/history.csv"): "text/csv",
    ("GET", "/api/v1/proposals/{proposal_id}/history.pdf"): "application/pdf",
    ("GET", "/api/v1/works/{work_id}/documents.csv"): "text/csv",
    ("GET", "/api/v1/works/{work_id}/documents.xlsx"): XLSX,
    ("POST", "/api/v1/works/{work_id}/inspection/offline"): "application/zip",
    ("GET", "/api/v1/handover-packages/{package_id}/content"): "application/zip",
    ("GET", "/api/v1/billing/reports/{fiscal_year}"): ("application/json", "text/csv", XLSX),
    ("GET", "/api/v1/billing/documents/{document_id}/pdf"): "application/pdf",
    ("GET", "/api/v1/qualifications/applications/{application_id}/receipt.pdf"): (
        "application/pdf"
    ),
    ("GET", "/api/v1/qualifications/rounds/{round_id}/received/export.csv"): "text/csv",
    ("GET", "/api/v1/qualifications/rounds/{round_id}/received/export.xlsx"): XLSX,
    ("GET", "/api/v1/erasures/{scope}/certificate"): "application/pdf",
}


def error_codes(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error codes ``operation`` can answer (see the module docstring)."""
    if not path.startswith(API_PREFIX):
        return set()
    codes = {400, 401, 403, 404, 503, 507}
    if method in UNSAFE:
        codes |= {409, 413}
    if operation.get("parameters") or operation.get("requestBody"):
        codes.add(422)
    return codes | set(EXTRA.get((method, path), ()))


def _problem_response(status: int) -> dict[str, Any]:
    description = DESCRIPTIONS.get(status, "エラー")
    if status in NO_BODY or 200 <= status < 300:
        return {"description": description}
    schema = "ValidationProblem" if status == 422 else "Problem"
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _success_media(operation: dict[str, Any], media: str | tuple[str, ...]) -> None:
    """Document the success answers of a route that sends ``media`` (``MEDIA``): a file of
    each type (a binary string), JSON where ``application/json`` is one of them (the schema
    the route declared is kept)."""
    types = (media,) if isinstance(media, str) else media
    binary = {"type": "string", "format": "binary"}
    for status, response in operation.get("responses", {}).items():
        if str(status).startswith("2") and str(status) != "204":
            declared = response.get("content", {}).get(JSON, {}).get("schema", {})
            response["content"] = {t: {"schema": declared if t == JSON else binary} for t in types}
            if JSON not in types:
                response["description"] = "ファイルの一部" if str(status) == "206" else "ファイル"


def document(schema: dict[str, Any]) -> None:
    """Add the shared error answers and media types to a generated OpenAPI ``schema``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _, definitions = models_json_schema(
        [(Problem, "serialization"), (ValidationProblem, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    components.update(definitions.get("$defs", {}))
    for path, item in schema.get("paths", {}).items():
        for method_lower, operation in item.items():
            method = method_lower.upper()
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(error_codes(method, path, operation)):
                if status == 422 or str(status) not in responses:
                    responses[str(status)] = _problem_response(status)
            operation["responses"] = dict(sorted(responses.items()))
            media = MEDIA.get((method, path))
            if media is not None:
                _success_media(operation, media)
    for name in ("HTTPValidationError", "ValidationError"):
        if not _referenced(schema, name):
            components.pop(name, None)


def _referenced(schema: dict[str, Any], name: str) -> bool:
    ref = f"#/components/schemas/{name}"
    found = False

    def walk(node: Any) -> None:
        nonlocal found
        if found:
            return
        if isinstance(node, dict):
            if node.get("$ref") == ref:
                found = True
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema.get("paths", {}))
    walk({k: v for k, v in schema.get("components", {}).get("schemas", {}).items() if k != name})
    return found


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the documented schema (built once per route set)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    last: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until routes are added
        if not last or last[0] is not schema:
            document(schema)
            last[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
