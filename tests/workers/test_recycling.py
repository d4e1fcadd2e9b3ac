"""Worker memory is bounded by recycling (issue 7 item 17): prefork children by Celery's own
settings, the solo worker of ``kura serve`` by exiting with ``WORKER_RECYCLE_EXIT`` after a
bound is reached, to be restarted by ``WorkerProcess``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from celery.worker import state

from api.cli.serve import WorkerProcess, worker_command, worker_env
from api.config import WORKER_RECYCLE_EXIT, JobsSettings, Settings
from api.kit.jobs import CeleryJobQueue
from workers.celery_app import _Recycler, create_celery, recycle_reason

ROOT = Path(__file__).resolve().parents[2]


def test_prefork_children_are_recycled_by_celery(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jobs={"worker_max_tasks_per_child": 50, "worker_max_memory_per_child_mib": 300},
    )
    conf = create_celery(settings).conf
    assert conf.worker_max_tasks_per_child == 50
    assert conf.worker_max_memory_per_child == 300 * 1024  # Celery counts KiB
    off = create_celery(
        Settings(
            data_dir=tmp_path,
            jobs={"worker_max_tasks_per_child": 0, "worker_max_memory_per_child_mib": 0},
        )
    ).conf
    assert off.worker_max_tasks_per_child is None
    assert off.worker_max_memory_per_child is None
    defaults = JobsSettings()
    assert defaults.worker_max_tasks_per_child > 0
    assert defaults.worker_max_memory_per_child_mib > 0


def test_recycle_reason() -> None:
    jobs = JobsSettings(worker_max_tasks_per_child=3, worker_max_memory_per_child_mib=200)
    assert recycle_reason(2, 150.0, jobs) is None
    assert recycle_reason(3, 150.0, jobs) == "3 tasks run (limit 3)"
    assert recycle_reason(1, 250.0, jobs) == "resident memory 250 MiB (limit 200 MiB)"
    assert recycle_reason(1, None, jobs) is None  # no /proc: only the task bound applies
    off = JobsSettings(worker_max_tasks_per_child=0, worker_max_memory_per_child_mib=0)
    assert recycle_reason(10**6, 10.0**6, off) is None


def test_recycler_stops_only_the_worker_process_it_started_in(tmp_path: Path) -> None:
    """The solo worker's main process is asked to stop warm with the recycle exit code; an
    eager run (no worker) or a prefork child (another pid) is left alone."""

    class Task:
        app = create_celery(
            Settings(
                data_dir=tmp_path,
                # The memory bound is off: this test process may be big already.
                jobs={"worker_max_tasks_per_child": 2, "worker_max_memory_per_child_mib": 0},
            )
        )

    recycler = _Recycler()
    try:
        recycler.on_task_postrun(sender=Task())
        assert recycler.tasks == 0  # not in a worker: eager runs are never counted
        recycler.on_worker_init()
        recycler.on_task_postrun(sender=Task())
        assert state.should_stop is None
        recycler.on_task_postrun(sender=Task())
        assert state.should_stop == WORKER_RECYCLE_EXIT
        state.should_stop = None
        recycler.pid = os.getpid() + 1  # a prefork child runs tasks in another process
        recycler.on_task_postrun(sender=Task())
        assert state.should_stop is None
    finally:
        state.should_stop = None


@pytest.mark.slow
@pytest.mark.anyio
async def test_solo_worker_is_replaced_after_its_task_bound(tmp_path: Path) -> None:
    """A real worker as ``kura serve`` runs it, bound to 2 tasks: 6 tasks are answered by
    successive processes, each restarted by ``WorkerProcess.check``; nothing is lost. (The
    solo worker stops warm after the task that reached the bound; one task it had already
    received may still run first, so a process answers 2 or 3.)"""
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(data_dir=data, log_json=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_")}
    env.update(
        PYTHONPATH=str(ROOT),
        KURA_LOG_JSON="false",
        KURA_LOG_LEVEL="WARNING",
        KURA_JOBS__WORKER_MAX_TASKS_PER_CHILD="2",
    )
    cmd = [c for c in worker_command(settings) if not c.startswith(("--beat", "--schedule"))]
    assert "--pool=solo" in cmd
    worker = WorkerProcess(cmd, worker_env(env, data), data)
    queue = CeleryJobQueue(settings)
    done = asyncio.Event()

    async def supervise() -> None:
        while not done.is_set():
            code = await asyncio.to_thread(worker.check)
            assert code is None, f"worker exited with {code}"
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(supervise())
    answers: list[dict[str, Any]] = []
    try:
        ids = [await queue.enqueue("system.process") for _ in range(6)]
        for task_id in ids:
            answers.append(await queue.result(task_id, 120))
    finally:
        done.set()
        await asyncio.gather(watcher, return_exceptions=True)
        queue.close()
        await asyncio.to_thread(worker.stop)
    pids = [a["pid"] for a in answers]
    assert len(set(pids)) >= 2, pids
    assert max(a["calls"] for a in answers) <= 3, answers
    for pid in set(pids):  # each process counts its own calls from 1
        assert [a["calls"] for a in answers if a["pid"] == pid] == list(
            range(1, pids.count(pid) + 1)
        )
    assert worker.restarts >= 1
