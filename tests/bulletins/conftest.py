"""The board tests run on the embedded backends and, when the real test servers are up
(``scripts/test-services``), on MongoDB (records) and Elasticsearch (index) as well."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from api.config import RecordsSettings, SearchSettings, Settings
from tests.bulletins.harness import Board, board_harness
from tests.conftest import server_env

SHIM = "tests.support.es_shim:AsyncPlainJsonNode"


def real_servers(settings: Settings) -> Settings:
    records = RecordsSettings(
        backend="mongodb",
        mongo_uri=server_env("KURA_TEST_MONGO_URI"),
        mongo_db=f"kura_board_{uuid.uuid4().hex[:12]}",
    )
    search = SearchSettings(
        backend="elasticsearch",
        es_hosts=[server_env("KURA_TEST_ES_URL")],
        es_index=f"kura-board-{uuid.uuid4().hex[:12]}",
        es_node_class=SHIM,
    )
    return settings.model_copy(update={"records": records, "search": search})


@pytest.fixture(params=["embedded", pytest.param("servers", marks=pytest.mark.servers)])
async def b(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Board]:
    real = request.param == "servers"
    async with board_harness(real_servers(settings) if real else settings) as harness:
        try:
            yield harness
        finally:
            if real:
                for name in ("drop", "drop_database"):
                    for port in (harness.container.index, harness.container.records):
                        cleanup = getattr(port, name, None)
                        if cleanup is not None:
                            await cleanup()
