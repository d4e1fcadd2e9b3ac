"""A JobQueue that only records what is enqueued, for tests and benchmarks that run (or skip)
the jobs themselves."""

from __future__ import annotations

from typing import Any

from api.kit.ids import new_id
from storage.errors import BackendUnavailable
from storage.ports import Health


class RecordingJobs:
    """Records every ``enqueue`` and ``send``; ``take(task)`` removes and returns the kwargs of
    one task. ``down = True`` makes sends fail as an unreachable broker does; ``queues`` is
    what ``waiting`` answers."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.job_ids: list[str] = []
        self.down = False
        self.queues: dict[str, int] | None = None

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        self._check()
        self.sent.append((task, kwargs))
        return new_id()

    async def send(self, task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        self._check()
        self.sent.append((task, kwargs))
        self.job_ids.append(job_id)

    async def waiting(self) -> dict[str, int] | None:
        return self.queues

    async def health(self) -> Health:
        return Health(not self.down, self.name, "")

    def take(self, task: str) -> list[dict[str, Any]]:
        picked = [kw for t, kw in self.sent if t == task]
        self.sent = [(t, kw) for t, kw in self.sent if t != task]
        return picked

    def _check(self) -> None:
        if self.down:
            raise BackendUnavailable("jobs", "connection refused")


def purge_broker(url: str) -> int:
    """Empty Kura's queues on the broker at ``url`` (the test Redis database): messages a
    killed worker or a benchmark left would otherwise be worked off first by the next test's
    worker. Returns how many were dropped."""
    from celery import Celery

    from api.kit.jobs import TASK_QUEUES

    app = Celery("kura-purge", broker=url, set_as_current=False)
    dropped = 0
    try:
        with app.connection_for_write() as conn, conn.channel() as channel:
            for name in TASK_QUEUES:
                dropped += int(channel.queue_purge(name) or 0)
    finally:
        app.close()
    return dropped
