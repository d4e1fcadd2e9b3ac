"""Permission matrix of the search router on the app as ``create_app`` builds it, with real
sign-ins (``tests.support.perms``): anonymous 401; everyone signed in gets 200, but a result,
facet or listing row of a work shows only to those who may read it (the access filter runs
inside the index, issue 3 item 5). The works and files are made through the API, so the
index holds what the real indexing path wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from api.config import SearchSettings, Settings
from api.search.router import router as search_router
from tests.conftest import server_env
from tests.support.perms import Ids, Row, World, check_matrix, perm_world, uncovered

pytestmark = pytest.mark.anyio

NUMBER = "R8-検索-0042"
SHIM = "tests.support.es_shim:AsyncPlainJsonNode"


def listing(path: str, allowed: str, hidden: str) -> Row:
    return Row("GET", path, allowed=allowed, refused=200, other_status=200, hidden=hidden)


ROWS = [
    listing("/search", "viewer", "work"),
    listing("/search?q=区画線", "viewer", "file"),
    listing("/search?type=file", "reader", "file"),
    listing("/search/export.csv", "viewer", "number"),
    listing("/search/export.csv?q=区画線", "reader", "file_name"),
    listing("/search/export.xlsx", "viewer", "number"),
    # the map's background: anyone signed in (it names a tile server, nothing of a work)
    Row("GET", "/search/map", allowed="plain", denied=None, other_status=200),
]


@pytest.fixture(params=["tantivy", pytest.param("elasticsearch", marks=pytest.mark.servers)])
async def world(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    """On the embedded index and, with the real test servers, on Elasticsearch: the access
    filter is each adapter's own query."""
    if request.param == "elasticsearch":
        search = SearchSettings(
            backend="elasticsearch",
            es_hosts=[server_env("KURA_TEST_ES_URL")],
            es_index=f"kura-test-{uuid.uuid4().hex[:12]}",
            es_node_class=SHIM,
        )
        settings = settings.model_copy(update={"search": search})
    async with perm_world(settings) as w:
        try:
            yield w
        finally:
            drop = getattr(w.container.index, "drop", None)
            if request.param == "elasticsearch" and drop is not None:
                await drop()


async def test_search_matrix(world: World) -> None:
    work = await world.work(number=NUMBER)
    [placed] = await world.upload(
        work["id"], {"区画線施工報告.txt": ("区画線の施工報告".encode(), "text/plain")}
    )
    ids: Ids = {
        "work": work["id"],
        "number": NUMBER,
        "file": placed["id"],
        "file_name": placed["name"],
    }
    await check_matrix(world, ROWS, ids)


def test_every_search_endpoint_has_a_row() -> None:
    assert uncovered([search_router], ROWS) == []
