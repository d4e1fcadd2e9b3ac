"""Issue 7 item 16: the cause of every 5xx is logged once, with the request id; a full disk
answers 507, a disk the server may not write answers 503 (cause in the log)."""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.config import Settings
from api.errors import as_kura_error
from storage.blobs import putpipe
from storage.blobs.local import LocalBlobStore
from storage.errors import BackendUnavailable, StorageFull
from storage.records.sqlite import SqliteRecordStore
from tests.ops.fakes import fake_container

pytestmark = pytest.mark.anyio


def build_app(settings: Settings) -> FastAPI:
    app = create_app(settings, container=fake_container(settings))

    @app.get("/test/full")
    async def full() -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("could not write the spool") from exc

    @app.get("/test/denied")
    async def denied() -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted", "/srv/kura/blobs/x")

    @app.get("/test/backend")
    async def backend() -> None:
        try:
            raise OSError(errno.EIO, "Input/output error")
        except OSError as exc:
            raise BackendUnavailable("local", f"OSError: {exc}") from exc

    @app.get("/test/bug")
    async def bug() -> None:
        raise KeyError("missing-field")

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


def causes(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    """Log records that show ``text`` (in the message or the logged traceback)."""
    found = []
    for record in caplog.records:
        shown = record.getMessage()
        if record.exc_info:
            shown += logging.Formatter().formatException(record.exc_info)
        if text in shown:
            found.append(record)
    return found


@pytest.mark.parametrize(
    ("path", "status", "code", "cause"),
    [
        ("/test/full", 507, "insufficient_storage", "No space left on device"),
        ("/test/denied", 503, "service_unavailable", "Operation not permitted"),
        ("/test/backend", 503, "service_unavailable", "Input/output error"),
        ("/test/bug", 500, "internal_error", "missing-field"),
    ],
)
async def test_each_5xx_logs_its_cause_once_with_the_request_id(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    path: str,
    status: int,
    code: str,
    cause: str,
) -> None:
    with caplog.at_level(logging.INFO):
        r = await client.get(path, headers={"X-Request-ID": f"rid{status}"})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert cause not in r.text  # causes are for the log, not for the client
    logged = causes(caplog, cause)
    assert len(logged) == 1, [rec.getMessage() for rec in caplog.records]
    from api.ops.logging import JsonFormatter

    assert f'"request_id": "rid{status}"' in JsonFormatter().format(logged[0])
    # ...and no "5xx without a logged cause" alarm.
    assert not causes(caplog, "without a logged cause")


@pytest.mark.parametrize("size", [10, 3 << 20])
async def test_a_full_blob_disk_answers_507_through_the_real_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """A small object (one thread call) and a large one (written by the put's own writer
    thread, ``storage.blobs.putpipe``) alike."""
    store = LocalBlobStore(tmp_path / "blobs")
    await store.open()

    def no_space(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(putpipe, "write_all", no_space)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(0, size, 1 << 16):
            yield b"x" * min(1 << 16, size)

    with pytest.raises(StorageFull) as caught:
        await store.put("a/b", chunks())
    err = as_kura_error(caught.value)
    assert err is not None
    assert (err.status, err.code) == (507, "insufficient_storage")
    assert await store.temp_objects() == []


async def test_a_full_sqlite_database_answers_507(tmp_path: Path) -> None:
    """SQLITE_FULL (here: the page limit reached) is ``StorageFull``, not a generic 503."""
    store = SqliteRecordStore(tmp_path / "full.sqlite3")
    await store.open()
    try:
        await store.insert("things", {"id": "first", "text": "x"})
        await store._in_writer(lambda: store._w.execute("PRAGMA max_page_count = 1"))

        async def fill() -> None:
            for i in range(200):
                await store.insert("things", {"id": f"t{i}", "text": "x" * 4000})

        with pytest.raises(StorageFull) as caught:
            await fill()
    finally:
        await store.close()
    err = as_kura_error(caught.value)
    assert err is not None
    assert err.status == 507
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
