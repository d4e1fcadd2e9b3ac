"""The worker app's configuration, task registry and per-process runtime; eager JobQueue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import NotRegistered

import workers.celery_app as celery_app
from api.config import Settings
from api.kit.jobs import CeleryJobQueue
from storage.errors import BackendUnavailable
from storage.ports import Health
from workers.celery_app import create_celery, set_container, shutdown_runtime, task_modules


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_celery(settings)


def test_configuration(app: Any, settings: Settings) -> None:
    conf = app.conf
    assert conf.broker_url == settings.broker_url
    assert conf.broker_url.startswith("sqla+sqlite:///")
    assert conf.result_backend == settings.result_backend
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    # shared/infra.md: polling_interval breaks kombu's SQLAlchemy transport.
    assert "polling_interval" not in (conf.broker_transport_options or {})


def test_redis_gets_short_connect_timeouts(tmp_path: Path) -> None:
    url = "redis://127.0.0.1:6379/0"
    settings = Settings(data_dir=tmp_path, jobs={"broker_url": url, "result_backend": url})
    conf = create_celery(settings).conf
    assert conf.broker_transport_options["socket_connect_timeout"] <= 3
    assert conf.redis_socket_connect_timeout <= 3


@pytest.mark.anyio
async def test_the_embedded_broker_runs_in_wal_mode(tmp_path: Path) -> None:
    """Issue 10 "approve p95 < 30 ms": kombu opened the broker's SQLite file with a rollback
    journal, an fsync per message (6-27 ms per send after an approval's commit). The broker file
    is in WAL mode with synchronous=NORMAL; a message sent is read back by a second connection."""
    import sqlite3

    settings = Settings(data_dir=tmp_path)
    queue = CeleryJobQueue(settings)
    try:
        await queue.enqueue("system.echo", value="x")
    finally:
        queue.close()
    broker = tmp_path / "broker.sqlite3"
    with sqlite3.connect(broker) as db:  # a plain connection: the mode is the file's own
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        [(count,)] = db.execute("SELECT count(*) FROM kombu_message").fetchall()
    assert count == 1
    # Other SQLite files (the records) are left to their own adapter's settings.
    other = tmp_path / "other.sqlite3"
    from sqlalchemy import create_engine, text

    with create_engine(f"sqlite:///{other}").connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "delete"


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("system.echo", "default"),
        ("index.reindex", "index"),
        ("mail.send", "mail"),
        ("jobs.sweep", "jobs"),
    ],
)
def test_routes_by_task_name(app: Any, task: str, queue: str) -> None:
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_beat_runs_the_sweepers_at_the_configured_interval(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jobs={"sweep_s": 7}, archive={"orphan_grace_hours": 2})
    schedule = create_celery(settings).conf.beat_schedule
    assert schedule["jobs-sweep"]["task"] == "jobs.sweep"
    assert schedule["jobs-sweep"]["schedule"] == 7
    assert schedule["ingest-recover"]["schedule"] == 14
    assert schedule["archive-orphans"]["schedule"] == 2 * 3600
    assert schedule["index-pending"]["task"] == "index.pending_files"


def test_every_task_reports_its_job(app: Any) -> None:
    from workers.tracking import TrackedTask

    app.loader.import_default_modules()
    ours = [t for name, t in app.tasks.items() if not name.startswith("celery.")]
    assert ours
    assert all(isinstance(t, TrackedTask) for t in ours)


def test_task_modules_are_discovered(app: Any) -> None:
    assert "workers.tasks.system" in task_modules()
    app.loader.import_default_modules()
    for name in ("system.ping", "system.echo", "system.health"):
        assert name in app.tasks


def test_backend_tasks_retry_with_backoff(app: Any) -> None:
    app.loader.import_default_modules()
    task = app.tasks["system.health"]
    assert BackendUnavailable in task.autoretry_for
    assert task.retry_backoff
    assert task.max_retries == 8


def test_module_app_is_lazy_and_reads_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(celery_app, "_app", None)
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path))
    app = celery_app.app
    assert str(tmp_path) in app.conf.broker_url
    assert celery_app.app is app
    with pytest.raises(AttributeError):
        _ = celery_app.nothing_here


# -- eager mode: the API's queue runs tasks in-process ------------------------------------


@pytest.fixture
async def eager(settings: Settings) -> AsyncIterator[CeleryJobQueue]:
    assert settings.jobs.eager
    queue = CeleryJobQueue(settings)
    yield queue
    queue.close()


@pytest.fixture
def runtime() -> Iterator[None]:
    yield
    shutdown_runtime()


@pytest.mark.anyio
async def test_eager_runs_task_in_process(eager: CeleryJobQueue) -> None:
    assert (await eager.health()).ok
    task_id = await eager.enqueue("system.echo", work_id="01J", title="工事")
    assert await eager.result(task_id) == {"work_id": "01J", "title": "工事"}
    assert await eager.result(await eager.enqueue("system.ping")) == "pong"


@pytest.mark.anyio
async def test_eager_unknown_task_fails_loudly(eager: CeleryJobQueue) -> None:
    with pytest.raises(NotRegistered):
        await eager.enqueue("nothing.here")


class FakeContainer:
    def __init__(self) -> None:
        self.settled = 0

    async def settle(self) -> None:
        self.settled += 1

    async def health(self) -> dict[str, Health]:
        return {"records": Health(True, "fake", "ok"), "jobs": Health(False, "fake", "down")}

    async def close(self) -> None:
        raise AssertionError("an injected container is not closed by the runtime")


@pytest.mark.anyio
@pytest.mark.usefixtures("runtime")
async def test_task_uses_injected_container(eager: CeleryJobQueue) -> None:
    fake = FakeContainer()
    set_container(fake)  # type: ignore[arg-type]
    result = await eager.result(await eager.enqueue("system.health"))
    assert result == {
        "records": {"ok": True, "backend": "fake", "detail": "ok"},
        "jobs": {"ok": False, "backend": "fake", "detail": "down"},
    }
    # What the job spawned (a unit of work's background clean-up) finished before it
    # returned: the runtime's loop runs only while a job does.
    assert fake.settled == 1


@pytest.mark.anyio
@pytest.mark.usefixtures("runtime")
async def test_injecting_a_container_closes_the_one_the_runtime_opened(
    eager: CeleryJobQueue,
) -> None:
    """An eager task made the runtime open a container of its own; a test that injects
    another (``set_container``) gets that one closed on the runtime's loop, not left to the
    garbage collector with its database clients open (ResourceWarnings in CI)."""
    import workers.celery_app as celery_app

    await eager.result(await eager.enqueue("system.health"))
    runtime = celery_app._current()
    opened = runtime.container
    assert opened is not None
    assert runtime.owned
    closed: list[bool] = []
    real_close = opened.close

    async def close() -> None:
        closed.append(True)
        await real_close()

    opened.close = close  # type: ignore[method-assign]
    set_container(FakeContainer())  # type: ignore[arg-type]
    assert closed == [True]
    assert runtime.container is not opened
    assert not runtime.owned


@pytest.mark.anyio
@pytest.mark.usefixtures("runtime")
async def test_task_builds_container_from_settings(eager: CeleryJobQueue) -> None:
    result = await eager.result(await eager.enqueue("system.health"))
    assert result["records"]["ok"], result
    assert result["jobs"] == {"ok": True, "backend": "celery", "detail": "eager"}


@pytest.mark.anyio
@pytest.mark.usefixtures("runtime")
async def test_reindex_task_rebuilds_the_index(eager: CeleryJobQueue, settings: Settings) -> None:
    from api.container import Container
    from indexer.query import SearchQuery

    container = Container(settings)
    await container.open()
    work = {
        "id": "01JWORK0000000000000000000",
        "title": "広島県道路改良工事",
        "kind": "construction",
    }
    await container.records.insert("works", {**work, "status": "registered", "acl": []})
    await container.close()

    result = await eager.result(await eager.enqueue("index.reindex"))
    assert result["counts"]["work"] == 1

    container = Container(settings)
    await container.open()
    try:
        found = await container.index.search(SearchQuery(text="道路改良", acl=None))
        assert [hit.id for hit in found.hits] == [work["id"]]
        check = await eager.result(await eager.enqueue("index.check"))
        assert check["clean"], check
    finally:
        await container.close()
