"""Request id, access log, metrics, problem+json for 404 and 500, streaming, OpenAPI."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from api.app import create_app
from api.config import Settings
from api.ops.logging import JsonFormatter, bind_user, current_request_id
from tests.ops.fakes import fake_container

pytestmark = pytest.mark.anyio

STREAM_CHUNKS = 50


def build_app(settings: Settings) -> FastAPI:
    app = create_app(settings, container=fake_container(settings))

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("secret-internal-detail")

    @app.get("/test/whoami")
    async def whoami() -> dict[str, str | None]:
        bind_user("U123")
        logging.getLogger("kura.test").info("inside the request")
        return {"request_id": current_request_id()}

    @app.get("/test/credential")
    async def credential(request: Request) -> dict[str, bool]:
        # What api.auth.deps leaves behind after validating a session or token.
        request.state.kura_credential = SimpleNamespace(user_id="U777")
        return {"ok": True}

    @app.get("/test/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for i in range(STREAM_CHUNKS):
                yield f"{i:04d}\n".encode()

        return StreamingResponse(body(), media_type="text/plain")

    return app


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings)
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        yield c


async def test_request_id_is_generated_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/whoami")
    rid = response.headers["x-request-id"]
    assert len(rid) == 26
    assert response.json() == {"request_id": rid}


async def test_a_sane_request_id_is_kept_and_a_bad_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "abc-123.def"})
    assert kept.headers["x-request-id"] == "abc-123.def"
    bad = await client.get("/healthz", headers={"X-Request-ID": 'x" injected\\n'})
    assert bad.headers["x-request-id"] != 'x" injected\\n'
    assert len(bad.headers["x-request-id"]) == 26


async def test_access_log_line_carries_request_id_and_user(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.get("/test/whoami", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    access = [r for r in caplog.records if r.name == "kura.access"]
    assert len(access) == 1
    line = json.loads(JsonFormatter().format(access[0]))
    assert line["request_id"] == "req-42"
    assert line["method"] == "GET"
    assert line["path"] == "/test/whoami"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["user_id"] == "U123"
    assert line["level"] == "INFO"
    assert line["time"].endswith("Z")


async def test_access_log_names_the_user_the_auth_layer_validated(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await client.get("/test/credential")
    (access,) = [r for r in caplog.records if r.name == "kura.access"]
    assert json.loads(JsonFormatter().format(access))["user_id"] == "U777"


def test_log_lines_inside_a_request_carry_its_id() -> None:
    from api.ops.logging import RequestContext, enter_request, leave_request

    record = logging.LogRecord("kura.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    token = enter_request(RequestContext("rid-1", user_id="U9"))
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        leave_request(token)
    assert line["request_id"] == "rid-1"
    assert line["user_id"] == "U9"
    assert line["message"] == "hello you"
    outside = json.loads(JsonFormatter().format(record))
    assert "request_id" not in outside
    record.color_message = "\x1b[36mhello\x1b[0m"
    assert "color_message" not in json.loads(JsonFormatter().format(record))


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/test/whoami")
    await client.get("/test/whoami")
    await client.get("/no/such/route")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'kura_http_requests_total{method="GET",route="/test/whoami",status="200"} 2.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "kura_http_request_duration_seconds_bucket" in text
    assert "kura_http_requests_in_flight" in text


async def test_each_app_has_its_own_registry(settings: Settings) -> None:
    first, second = build_app(settings), build_app(settings)
    assert first.state.metrics.registry is not second.state.metrics.registry


async def test_unknown_route_is_problem_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    assert body["title"]


async def test_unexpected_error_is_500_problem_without_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.get("/test/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"]
    body = response.json()
    assert body["code"] == "internal_error"
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text
    # The server-side log keeps the traceback, tagged with the request id.
    errors = [r for r in caplog.records if r.name == "kura.errors" and r.exc_info]
    assert errors
    assert "secret-internal-detail" in JsonFormatter().format(errors[0])


async def test_streaming_responses_pass_through(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/test/stream") as response:
        chunks = [chunk async for chunk in response.aiter_bytes()]
    assert response.headers["x-request-id"]
    assert b"".join(chunks).decode().splitlines()[-1] == f"{STREAM_CHUNKS - 1:04d}"


async def test_docs_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/healthz" in spec.json()["paths"]


async def test_docs_load_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    """Issue 7 item 11: /docs loaded Swagger UI from a CDN into the app's origin. Now every
    script and style comes from this server, and a CSP forbids anything else."""
    docs = await client.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert "http://" not in docs.text
    assert "https://" not in docs.text
    assert "<script>" not in docs.text  # no inline script: the CSP would block it
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources
    for source in sources:
        assert source.startswith("/docs/static/"), source
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert asset.content
        assert asset.headers["content-security-policy"] == csp
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert (await client.get("/docs/static/../../etc/passwd")).status_code == 404
    assert (await client.get("/docs/static/redoc.standalone.js")).status_code == 404
    assert (await client.get("/redoc")).status_code == 404


async def test_every_answer_carries_nosniff_and_a_csp(client: httpx.AsyncClient) -> None:
    """Issue 7 item 11: JSON answers had no ``X-Content-Type-Options: nosniff``."""
    for path in ("/healthz", "/test/whoami", "/no/such/route", "/test/boom", "/openapi.json"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp, path
        assert "frame-ancestors 'none'" in csp, path


async def test_405_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    """Issue 7 item 8: 405 answers lacked ``Allow`` (RFC 9110 §15.5.6)."""
    r = await client.put("/api/v1/organizations")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["allow"] == "GET, POST"
    r = await client.post("/api/v1/organizations/X/offices/Y")
    assert r.headers["allow"] == "GET, PATCH, DELETE"
    r = await client.delete("/healthz")
    assert r.headers["allow"] == "GET"
