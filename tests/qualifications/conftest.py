"""The qualification tests that use ``settings`` run on the embedded backends and, when the
real test servers are up (``scripts/test-services``), with their records on MongoDB as well
(the module indexes nothing in the search index)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from api.config import RecordsSettings, Settings
from tests.conftest import server_env


@pytest.fixture(params=["embedded", pytest.param("servers", marks=pytest.mark.servers)])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    if request.param == "embedded":
        yield settings
        return
    uri = server_env("KURA_TEST_MONGO_URI")
    name = f"kura_qual_{uuid.uuid4().hex[:12]}"
    records = RecordsSettings(backend="mongodb", mongo_uri=uri, mongo_db=name)
    yield settings.model_copy(update={"records": records})
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(uri)
    try:
        for db in client.list_database_names():
            if db.startswith(name):
                client.drop_database(db)
    finally:
        client.close()
