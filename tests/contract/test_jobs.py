"""JobQueue contract over every broker: the embedded SQLite broker always, Redis when the test
servers run. A REAL worker (``celery -A workers.celery_app:app worker``) runs in a subprocess,
one per broker per module; tasks go through ``CeleryJobQueue`` and come back through the result
backend."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

import api.kit.jobs as jobs_module
from api.config import Settings
from api.kit.jobs import CeleryJobQueue
from storage.errors import BackendUnavailable
from storage.ports import JobQueue
from tests.conftest import server_env
from tests.support.waits import HANG_GUARD_S

ROOT = Path(__file__).resolve().parents[2]
RESULT_TIMEOUT_S = 45.0

pytestmark = pytest.mark.anyio


class Worker:
    """A celery worker subprocess whose output is kept for failure messages."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app:app",
                "worker",
                "--pool=solo",
                "-c",
                "1",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("redis", marks=pytest.mark.servers)],
)
def broker_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    data = tmp_path_factory.mktemp(f"jobs-{request.param}")
    env = {"KURA_DATA_DIR": str(data), "KURA_LOG_JSON": "false"}
    if request.param == "redis":
        url = server_env("KURA_TEST_REDIS_URL")
        env |= {"KURA_JOBS__BROKER_URL": url, "KURA_JOBS__RESULT_BACKEND": url}
    return env


@pytest.fixture(scope="module")
def worker(broker_env: dict[str, str]) -> Iterator[Worker]:
    w = Worker(broker_env)
    yield w
    w.stop()
    assert w.proc.returncode == 0, f"worker did not stop cleanly:\n{w.output()}"


def settings_for(env: dict[str, str]) -> Settings:
    jobs: dict[str, Any] = {}
    if "KURA_JOBS__BROKER_URL" in env:
        jobs = {
            "broker_url": env["KURA_JOBS__BROKER_URL"],
            "result_backend": env["KURA_JOBS__RESULT_BACKEND"],
        }
    return Settings(data_dir=Path(env["KURA_DATA_DIR"]), jobs=jobs)


@pytest.fixture
async def queue(broker_env: dict[str, str]) -> AsyncIterator[CeleryJobQueue]:
    q = CeleryJobQueue(settings_for(broker_env))
    yield q
    q.close()


async def _result(q: CeleryJobQueue, worker: Worker, task_id: str) -> Any:
    try:
        return await q.result(task_id, RESULT_TIMEOUT_S)
    except TimeoutError:
        pytest.fail(
            f"no result for {task_id}; worker alive={worker.proc.poll() is None}\n{worker.output()}"
        )


async def test_is_a_job_queue(queue: CeleryJobQueue) -> None:
    assert isinstance(queue, JobQueue)
    assert queue.name == "celery"


async def test_health_ok(queue: CeleryJobQueue) -> None:
    health = await queue.health()
    assert health.ok, health.detail
    assert health.backend == "celery"


async def test_echo_round_trip_through_real_worker(queue: CeleryJobQueue, worker: Worker) -> None:
    payload = {
        "work_id": "01J0000000000000000000000A",
        "title": "県道改良工事",
        "n": 3,
        "tags": ["a", "b"],
        "nested": {"ok": True, "none": None},
    }
    task_id = await queue.enqueue("system.echo", **payload)
    assert isinstance(task_id, str)
    assert task_id
    assert await _result(queue, worker, task_id) == payload


async def test_many_tasks_all_answered(queue: CeleryJobQueue, worker: Worker) -> None:
    ids = [await queue.enqueue("system.echo", i=i) for i in range(10)]
    ids.append(await queue.enqueue("system.ping"))
    results = [await _result(queue, worker, task_id) for task_id in ids]
    assert results == [{"i": i} for i in range(10)] + ["pong"]


# -- unreachable brokers: fast, clear failures, no worker needed --------------------------

UNREACHABLE = {
    "redis": {"broker_url": "redis://127.0.0.1:1/0", "result_backend": "redis://127.0.0.1:1/0"},
    "sqlite": {"broker_url": "sqla+sqlite:////nonexistent-kura-dir/x/broker.sqlite3"},
}


@pytest.fixture(params=sorted(UNREACHABLE))
async def dead_queue(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[CeleryJobQueue]:
    settings = Settings(data_dir=tmp_path, jobs=UNREACHABLE[request.param])
    q = CeleryJobQueue(settings)
    yield q
    q.close()


async def test_unreachable_broker_health_is_a_failed_entry(dead_queue: CeleryJobQueue) -> None:
    # how fast it answers is bench/bench_unreachable.py's measurement, not an assertion here
    with anyio.fail_after(HANG_GUARD_S):
        health = await dead_queue.health()
    assert not health.ok
    assert health.detail


async def test_unreachable_broker_enqueue_raises(dead_queue: CeleryJobQueue) -> None:
    with anyio.fail_after(HANG_GUARD_S), pytest.raises(BackendUnavailable) as info:
        await dead_queue.enqueue("system.ping")
    assert info.value.backend == "jobs"


# -- a broker that never answers: the queue's own timeouts cut the wait ---------------------


@dataclass
class Hung:
    queue: CeleryJobQueue
    release: threading.Event


@pytest.fixture
def hung(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Hung]:
    """A queue whose broker connection and publish block until released, with the health and
    enqueue timeouts shortened: only those timeouts can end the calls. The test releases the
    blocked thread itself (the event loop's executor waits for it when the test ends)."""
    release = threading.Event()

    def block(*args: Any, **kwargs: Any) -> Any:
        release.wait()
        raise ConnectionError("released")

    monkeypatch.setattr(jobs_module, "HEALTH_TIMEOUT_S", 0.1)
    monkeypatch.setattr(jobs_module, "ENQUEUE_TIMEOUT_S", 0.1)
    queue = CeleryJobQueue(Settings(data_dir=tmp_path, jobs=UNREACHABLE["redis"]))
    monkeypatch.setattr(queue._app, "connection_for_write", block)
    monkeypatch.setattr(queue._app, "send_task", block)
    yield Hung(queue, release)
    release.set()
    queue.close()


async def test_a_hung_broker_is_cut_by_the_health_timeout(hung: Hung) -> None:
    try:
        with anyio.fail_after(HANG_GUARD_S):
            health = await hung.queue.health()
    finally:
        hung.release.set()
    assert not health.ok
    assert health.backend == "celery"


async def test_a_hung_broker_is_cut_by_the_enqueue_timeout(hung: Hung) -> None:
    try:
        with anyio.fail_after(HANG_GUARD_S), pytest.raises(BackendUnavailable) as info:
            await hung.queue.enqueue("system.ping")
    finally:
        hung.release.set()
    assert info.value.backend == "jobs"
