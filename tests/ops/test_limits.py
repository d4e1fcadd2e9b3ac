"""Request body limits and JSON text sanity (issue 7 items 4 and 8), on the real app.

A body over its route's limit is refused with 413 problem+json: at once when its
Content-Length says so (nothing of it is read), at the first byte past the limit when it
streams without one. A lone UTF-16 surrogate escape in a JSON body is a 422, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI

from api.app import create_app
from api.config import Settings
from api.ops.limits import BodyLimits, has_lone_surrogate
from tests.organizations.harness import Harness, harness, operator

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def raw_call(
    app: FastAPI, method: str, path: str, headers: dict[str, str], body_chunks: list[bytes]
) -> tuple[int, dict[str, str], bytes, int]:
    """Call the ASGI app directly; returns status, headers, body and how many body
    messages the app pulled (so a test can tell "refused before reading")."""
    pulled = 0
    chunks = list(body_chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234),
        "server": ("t", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return int(start["status"]), response_headers, body, pulled


async def test_a_declared_oversized_login_is_refused_before_reading(h: Harness) -> None:
    """The attacker's 300 MiB login: 413 from the Content-Length alone, no byte read."""
    app = h.client._transport.app  # type: ignore[attr-defined]
    status, headers, body, pulled = await raw_call(
        app,
        "POST",
        "/api/v1/auth/login",
        {"content-type": "application/json", "content-length": str(300 * MIB)},
        [b"{" * MIB],
    )
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-request-id"]
    problem = json.loads(body)
    assert problem["code"] == "too_large"
    assert problem["limit"] == MIB
    assert pulled == 0


async def test_a_streamed_oversized_body_stops_at_the_limit(h: Harness) -> None:
    """Chunked, no Content-Length: reading stops at the first chunk past 1 MiB."""
    app = h.client._transport.app  # type: ignore[attr-defined]
    chunks = [b" " * (256 * 1024)] * 40  # 10 MiB offered
    status, _, body, pulled = await raw_call(
        app,
        "POST",
        "/api/v1/auth/login",
        {"content-type": "application/json", "transfer-encoding": "chunked"},
        chunks,
    )
    assert status == 413
    assert json.loads(body)["code"] == "too_large"
    assert pulled == 5  # 4 chunks make 1 MiB, the fifth passes it


async def test_a_body_within_the_limit_reaches_the_endpoint(h: Harness) -> None:
    h.as_(operator())
    name = "株式会社" + "あ" * 150
    padded = json.dumps({"kind": "contractor", "name": name}) + " " * (MIB - 1024)
    r = await h.client.post(
        "/api/v1/organizations", content=padded, headers={"content-type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name


async def test_limits_per_route_class(settings: Settings) -> None:
    limits = BodyLimits(settings)
    assert limits.rule("POST", "/api/v1/auth/login").limit == settings.http.max_body_bytes
    tus = limits.rule("PATCH", "/api/v1/uploads/01ABC")
    assert (tus.kind, tus.limit) == ("stream", settings.archive.max_upload_bytes)
    creation = limits.rule("POST", "/api/v1/works/W1/uploads")
    assert (creation.kind, creation.limit) == ("stream", settings.archive.max_upload_bytes)
    attachment = limits.rule("POST", "/api/v1/attachments/uploads")
    assert (attachment.kind, attachment.limit) == ("stream", settings.archive.max_upload_bytes)
    ical = limits.rule("POST", "/api/v1/schedules/imports")
    assert (ical.kind, ical.limit) == ("stream", settings.schedules.max_import_bytes)
    form = limits.rule("POST", "/api/v1/works/W1/files")
    assert (form.kind, form.limit) == ("stream", settings.http.max_form_body_bytes)
    # Only the upload methods stream; anything else at those paths is small.
    assert limits.rule("GET", "/api/v1/works/W1/files").kind == "small"
    assert limits.rule("DELETE", "/api/v1/uploads/01ABC").kind == "small"


async def test_a_streamed_form_past_its_limit_is_413(settings: Settings) -> None:
    small = settings.model_copy(
        update={"http": settings.http.model_copy(update={"max_form_body_bytes": 64 * 1024})}
    )
    app = create_app(small)
    async with app.router.lifespan_context(app):
        status, _, body, pulled = await raw_call(
            app,
            "POST",
            "/api/v1/works/W1/files",
            {"content-type": "multipart/form-data; boundary=x", "content-length": str(MIB)},
            [b"x" * 1024],
        )
    assert status == 413
    assert pulled == 0
    assert json.loads(body)["limit"] == 64 * 1024


@pytest.mark.parametrize(
    ("text", "lone"),
    [
        (r'{"a": "\ud800"}', True),
        (r'{"a": "\uDBFF x"}', True),
        (r'{"a": "\udc00"}', True),
        (r'{"a": "\ud83d\ude00"}', False),  # a valid pair: 😀
        (r'{"a": "\ud83d\u0041"}', True),
        (r'{"a": "\\ud800"}', False),  # an escaped backslash, then plain text
        (r'{"a": "\\\ud800"}', True),
        (r'{"a": "\u00e9\n"}', False),
        ('{"a": "蔵"}', False),
    ],
)
def test_lone_surrogates(text: str, lone: bool) -> None:
    assert has_lone_surrogate(text.encode()) is lone


async def test_a_lone_surrogate_is_422_and_nothing_is_stored(h: Harness) -> None:
    """Issue 7 item 8: ``"\\ud800"`` reached the SQLite insert and answered 500."""
    h.as_(operator())
    before = await h.container.records.count("organizations")
    r = await h.client.post(
        "/api/v1/organizations",
        content=rb'{"kind": "contractor", "name": "A\ud800"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_payload"
    assert await h.container.records.count("organizations") == before
    ok = await h.client.post(
        "/api/v1/organizations",
        content=rb'{"kind": "contractor", "name": "A\ud83d\ude00"}',
        headers={"content-type": "application/json"},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["name"] == "A😀"


async def test_an_oversized_body_over_http_is_413(h: Harness) -> None:
    r = await h.client.post(
        "/api/v1/auth/login",
        content=b"x" * (MIB + 1),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["x-content-type-options"] == "nosniff"
