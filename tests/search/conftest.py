"""Search API harness: the works harness (subjects, seeded organizations) on the app exactly
as ``create_app`` builds it. Every API test runs on the embedded index and, when the real test
servers are up (``scripts/test-services``), on the Elasticsearch adapter too. Jobs are
recorded, not run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.app import create_app
from api.config import SearchSettings, Settings
from api.container import Container
from tests.conftest import server_env
from tests.works.harness import Harness, seed, serve

SHIM = "tests.support.es_shim:AsyncPlainJsonNode"


@pytest.fixture(params=["tantivy", pytest.param("elasticsearch", marks=pytest.mark.servers)])
async def h(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "elasticsearch":
        url = server_env("KURA_TEST_ES_URL")
        search = SearchSettings(
            backend="elasticsearch",
            es_hosts=[url],
            es_index=f"kura-test-{uuid.uuid4().hex[:12]}",
            es_node_class=SHIM,
        )
        settings = settings.model_copy(update={"search": search})
    container = Container(settings)
    await container.open()
    jobs: list[tuple[str, dict[str, Any]]] = []

    async def record(task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        jobs.append((task, kwargs))

    # Jobs reach the queue through the outbox (api.jobs.ledger), which calls ``send``.
    container.jobs.send = record  # type: ignore[method-assign]
    try:
        await seed(container)
        async with serve(container, create_app(container=container), Harness) as harness:
            harness.jobs = jobs  # type: ignore[attr-defined]
            yield harness
    finally:
        drop = getattr(container.index, "drop", None)
        if request.param == "elasticsearch" and drop is not None:
            await drop()
        await container.close()
