"""``/healthz``: each backend's state; 200 when all answer, 503 with the failing entry otherwise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api import app as app_module
from api.config import Settings
from api.container import Container
from api.ops import router as ops_router
from api.permissions.policy import OrgKind, Subject
from tests.ops.fakes import FakePort, fake_container

pytestmark = pytest.mark.anyio


OPERATOR = Subject("U-OP", "op", "ORG-OP", OrgKind.OPERATOR)
MEMBER = Subject("U-1", "member", "ORG-1", OrgKind.CONTRACTOR)


async def get_health(container: Container, caller: Subject | None = OPERATOR) -> httpx.Response:
    """``/healthz`` as ``caller`` (the details are the operators'; an operator by default)."""
    app = app_module.create_app(container.settings, container=container)

    async def as_caller() -> Subject | None:
        return caller

    app.dependency_overrides[ops_router.lenient_subject] = as_caller
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):
        return await client.get("/healthz")


async def test_all_ok_on_the_embedded_default(settings: Settings) -> None:
    container = Container(settings)
    await container.open()
    try:
        response = await get_health(container)
    finally:
        await container.close()
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["backends"]) == {"records", "blobs", "search", "jobs"}
    for entry in body["backends"].values():
        assert entry["ok"] is True
        assert entry["backend"]
    assert response.headers["cache-control"] == "no-store"


async def test_only_operators_see_server_paths(settings: Settings) -> None:
    """Issue 7 item 11: anonymous probes (and ordinary users) get each backend's state but
    not its detail (the SQLite file, the blob folder)."""
    container = Container(settings)
    await container.open()
    try:
        operator = (await get_health(container)).json()
        anonymous = await get_health(container, caller=None)
        member = (await get_health(container, caller=MEMBER)).json()
    finally:
        await container.close()
    data_dir = str(settings.data_dir)
    assert data_dir in operator["backends"]["records"]["detail"]
    assert anonymous.status_code == 200
    for body in (anonymous.json(), member):
        assert data_dir not in str(body)
        assert {e["detail"] for e in body["backends"].values()} == {""}
        assert all(e["ok"] for e in body["backends"].values())


async def test_the_cause_of_a_503_is_logged_for_anonymous_probes(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = FakePort("fake-search", ok=False, detail="connection refused")
    response = await get_health(fake_container(settings, index=down), caller=None)
    assert response.status_code == 503
    assert response.json()["backends"]["search"]["detail"] == ""
    logged = [r for r in caplog.records if r.name == "kura.health"]
    assert logged
    assert "connection refused" in logged[0].getMessage()


async def test_a_failing_backend_gives_503_and_its_entry(settings: Settings) -> None:
    down = FakePort("fake-search", ok=False, detail="connection refused")
    response = await get_health(fake_container(settings, index=down))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["backends"]["search"] == {
        "ok": False,
        "backend": "fake-search",
        "detail": "connection refused",
    }
    assert body["backends"]["records"]["ok"] is True


async def test_a_raising_backend_is_an_entry_not_a_crash(settings: Settings) -> None:
    broken = FakePort("fake-blobs")
    broken.raises = RuntimeError("boom")
    response = await get_health(fake_container(settings, blobs=broken))
    assert response.status_code == 503
    entry = response.json()["backends"]["blobs"]
    assert entry["ok"] is False
    assert "boom" in entry["detail"]


async def test_a_hung_backend_is_cut_by_the_timeout(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ops_router, "HEALTH_TIMEOUT_S", 0.05)
    response = await get_health(fake_container(settings, jobs=FakePort("fake-jobs", hang=True)))
    assert response.status_code == 503
    assert response.json()["backends"]["jobs"] == {
        "ok": False,
        "backend": "fake-jobs",
        "detail": "0.05秒以内に応答がありません。",
    }


async def test_unreachable_mongodb_gives_503(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={
            "records": settings.records.model_copy(
                update={
                    "backend": "mongodb",
                    "mongo_uri": "mongodb://127.0.0.1:1/?directConnection=true",
                    "timeout_s": 0.3,
                }
            )
        }
    )
    ports: dict[str, Any] = {
        "blobs": FakePort("fake-blobs"),
        "index": FakePort("fake-search"),
        "jobs": FakePort("fake-jobs"),
    }
    container = Container(unreachable, **ports)
    await container.open()  # logs the failure, must not raise
    try:
        response = await get_health(container)
    finally:
        await container.close()
    assert response.status_code == 503
    entry = response.json()["backends"]["records"]
    assert entry["ok"] is False
    assert entry["backend"]
