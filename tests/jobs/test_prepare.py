"""``kura serve`` makes the embedded broker's queues and the result backend's tables before it
starts the worker (``api.kit.jobs.prepare_embedded``): on a fresh data folder the worker, its
beat and the API made them at the same moment, the second insert of a queue's row failed
(``UNIQUE constraint failed: kombu_queue.name``), the worker exited and ``kura serve`` stopped
(seen in CI). An acknowledged job is never lost (issue 3): a server that stops on its first
start cannot acknowledge any."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from api.config import Settings
from api.kit.jobs import TASK_QUEUES, celery_config, prepare_embedded


def test_a_fresh_data_folder_gets_its_queues_and_result_tables_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    prepare_embedded(settings)
    prepare_embedded(settings)  # a second start: nothing new, no error
    with sqlite3.connect(tmp_path / "broker.sqlite3") as db:
        queues = [row[0] for row in db.execute("SELECT name FROM kombu_queue ORDER BY name")]
    assert queues == sorted(TASK_QUEUES)
    with sqlite3.connect(tmp_path / "results.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "celery_taskmeta" in tables


def test_processes_declaring_at_once_afterwards_all_succeed(tmp_path: Path) -> None:
    """What the worker, its beat and the API do when they start: each declares every queue
    on a connection of its own. After ``prepare_embedded`` all find the rows."""
    from celery import Celery

    settings = Settings(data_dir=tmp_path)
    prepare_embedded(settings)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def declare() -> None:
        app = Celery("kura-test")
        app.conf.update(celery_config(settings))
        try:
            with app.connection_for_write() as conn:
                channel = conn.default_channel
                start.wait()
                for queue in app.conf.task_queues:
                    queue(channel).declare()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=declare) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def test_nothing_is_made_on_redis(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jobs={"broker_url": "redis://127.0.0.1:1/0", "result_backend": "redis://127.0.0.1:1/0"},
    )
    prepare_embedded(settings)  # no connection attempted (port 1 would refuse it)
    assert not (tmp_path / "broker.sqlite3").exists()
