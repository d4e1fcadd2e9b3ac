"""Durable delivery through REAL worker processes, on the embedded SQLite broker and on Redis
(issue 7 item 13): the worker tracks an outbox job on its record, its heartbeat keeps a long
job's lease alive, and a job whose worker is killed with SIGKILL mid-run is restarted by the
sweeper on another worker and finishes.

The SQLite broker never redelivers a message taken by a dead worker (kombu's SQL transport
has no visibility timeout) and Redis only after an hour: the sweeper is what brings the job
back, from the job record."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.config import Settings
from api.container import Container
from api.jobs.models import JOBS
from api.jobs.sweeper import sweep
from storage.query import Record
from tests.conftest import server_env
from tests.support.jobs import purge_broker

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 2.0
TIMEOUT_S = 60.0

pytestmark = pytest.mark.anyio


class Worker:
    """``celery worker`` in its own process group, output kept for failure messages."""

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
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def kill(self) -> None:
        """SIGKILL to the whole group: no warm shutdown, no message handed back."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._close()

    def _close(self) -> None:
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.servers)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    values = {
        "KURA_DATA_DIR": str(tmp_path / "data"),
        "KURA_LOG_JSON": "false",
        "KURA_JOBS__LEASE_S": str(LEASE_S),
    }
    if request.param == "redis":
        url = server_env("KURA_TEST_REDIS_URL")
        purge_broker(url)
        values |= {"KURA_JOBS__BROKER_URL": url, "KURA_JOBS__RESULT_BACKEND": url}
    return values


@pytest.fixture
async def container(env: dict[str, str]) -> AsyncIterator[Container]:
    jobs: dict[str, Any] = {"lease_s": LEASE_S}
    if "KURA_JOBS__BROKER_URL" in env:
        jobs |= {
            "broker_url": env["KURA_JOBS__BROKER_URL"],
            "result_backend": env["KURA_JOBS__RESULT_BACKEND"],
        }
    c = Container(Settings(data_dir=Path(env["KURA_DATA_DIR"]), jobs=jobs))
    await c.open()
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def workers(env: dict[str, str]) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


async def record(c: Container, job_id: str) -> Record:
    job = await c.records.get(JOBS, job_id)
    assert job is not None
    return job


async def wait_for(
    c: Container, job_id: str, state: str, workers: list[Worker], sweeping: bool = False
) -> Record:
    """Poll the job record until it reaches ``state`` (running the sweeper as beat would)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        job = await record(c, job_id)
        if job["state"] == state:
            return job
        if sweeping:
            await sweep(c.ledger)
        await asyncio.sleep(0.2)
    logs = "\n---\n".join(w.output() for w in workers)
    pytest.fail(f"job {job_id} never reached {state}: {await record(c, job_id)}\n{logs}")


async def test_outbox_job_is_tracked_by_the_worker(
    container: Container, env: dict[str, str], workers: list[Worker]
) -> None:
    workers.append(Worker(env))
    async with container.uow() as uow:
        job_id = uow.enqueue("system.echo", title="県道改良工事", n=3)
    job = await wait_for(container, job_id, "done", workers)
    assert (job["attempts"], job["restarts"]) == (1, 0)
    assert await container.jobs.result(job_id) == {"title": "県道改良工事", "n": 3}  # type: ignore[attr-defined]


async def test_heartbeat_keeps_a_long_jobs_lease(
    container: Container, env: dict[str, str], workers: list[Worker]
) -> None:
    """A job running for three leases is renewed by its worker: sweeping all the while
    restarts nothing."""
    workers.append(Worker(env))
    async with container.uow() as uow:
        job_id = uow.enqueue("system.sleep", seconds=3 * LEASE_S)
    job = await wait_for(container, job_id, "done", workers, sweeping=True)
    assert (job["attempts"], job["restarts"]) == (1, 0)


async def test_job_of_a_killed_worker_is_restarted_and_finishes(
    container: Container, env: dict[str, str], workers: list[Worker]
) -> None:
    first = Worker(env)
    workers.append(first)
    async with container.uow() as uow:
        job_id = uow.enqueue("system.sleep", seconds=4)
    running = await wait_for(container, job_id, "running", workers)
    assert running["worker"].endswith(f":{first.proc.pid}")
    first.kill()

    second = Worker(env)
    workers.append(second)
    job = await wait_for(container, job_id, "done", workers, sweeping=True)
    assert (job["attempts"], job["restarts"]) == (2, 1)
    assert "停止" in job["last_error"]
    assert await container.jobs.result(job_id) == 4  # type: ignore[attr-defined]


async def test_waiting_counts_messages_no_worker_took(
    container: Container, env: dict[str, str], workers: list[Worker]
) -> None:
    """What the sweeper asks before resending a ``sent`` job: an empty queue means lost."""
    before = await container.jobs.waiting()
    assert before is not None
    assert set(before) == {"default", "index", "mail", "jobs"}
    async with container.uow() as uow:
        ids = [uow.enqueue("system.echo", i=i) for i in range(3)]
    after = await container.jobs.waiting()
    assert after is not None
    assert after["default"] - before["default"] == 3
    assert after["index"] == before["index"]
    workers.append(Worker(env))
    for job_id in ids:
        await wait_for(container, job_id, "done", workers)
    drained = await container.jobs.waiting()
    assert drained is not None
    assert drained["default"] == 0
