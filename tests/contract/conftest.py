"""Fixtures of the record-store contract suite: one store per adapter.

``records`` is parametrized over every adapter: SQLite always, MongoDB (PyMongo async API)
whenever the real test servers are on (``server_env`` skips when they are off and fails when
they are unreachable). Each MongoDB test gets its own database, dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.ports import RecordStore
from tests.conftest import server_env


@pytest.fixture(params=["sqlite", "mongodb"])
async def records(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    """An opened, empty record store of each adapter."""
    store: RecordStore
    if request.param == "sqlite":
        from storage.records.sqlite import SqliteRecordStore

        store = SqliteRecordStore(tmp_path / "records.sqlite3")
        await store.open()
        try:
            yield store
        finally:
            await store.close()
        return

    uri = server_env("KURA_TEST_MONGO_URI")
    from storage.records.mongo import MongoRecordStore

    db = f"kura_test_{uuid.uuid4().hex[:12]}"
    mongo = MongoRecordStore(uri, db, timeout_s=5.0)
    await mongo.open()
    try:
        yield mongo
    finally:
        await mongo.drop_database()
        await mongo.close()
