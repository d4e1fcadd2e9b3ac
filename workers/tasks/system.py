"""Liveness tasks: round trips through the broker and the result backend."""

from __future__ import annotations

import os
import time
from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("system.ping")
def ping() -> str:
    """Answer ``"pong"``: proves a worker consumes the queue and stores results."""
    return "pong"


@task("system.echo")
def echo(**kwargs: Any) -> dict[str, Any]:
    """Return the JSON kwargs unchanged (the jobs contract test's round trip)."""
    return kwargs


@task("system.health", bind=True, **RETRYING)
def health(self: Any) -> dict[str, dict[str, Any]]:
    """Each backend's health as the worker process sees it (its own Container)."""

    async def check() -> dict[str, dict[str, Any]]:
        container = await worker_container(self.app)
        states = await container.health()
        return {
            name: {"ok": state.ok, "backend": state.backend, "detail": state.detail}
            for name, state in states.items()
        }

    return run_async(check())


@task("system.sleep")
def sleep(seconds: float) -> float:
    """Sleep ``seconds`` (at most 60) and return them: a long job for the delivery tests
    (lease renewal while it runs, a worker killed in the middle of it)."""
    seconds = min(float(seconds), 60.0)
    time.sleep(seconds)
    return seconds


_tasks_seen = 0


@task("system.process")
def process() -> dict[str, Any]:
    """The executing worker process: pid, resident memory now and at its peak (MiB, Linux),
    and how many ``system.process`` calls it answered. For recycling checks
    (``worker_max_tasks_per_child``) and ``bench/bench_worker``."""
    global _tasks_seen
    _tasks_seen += 1
    status: dict[str, float] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    status[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return {
        "pid": os.getpid(),
        "rss_mib": status.get("VmRSS"),
        "peak_mib": status.get("VmHWM"),
        "calls": _tasks_seen,
    }
