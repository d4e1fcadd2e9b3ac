"""A JobQueue that only records what is enqueued, for tests and benchmarks that run (or skip)
the jobs themselves."""

from __future__ import annotations

from typing import Any

from api.kit.ids import new_id
from storage.ports import Health


class RecordingJobs:
    """Records every ``enqueue``; ``take(task)`` removes and returns the kwargs of one task."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        self.sent.append((task, kwargs))
        return new_id()

    async def health(self) -> Health:
        return Health(True, self.name, "")

    def take(self, task: str) -> list[dict[str, Any]]:
        picked = [kw for t, kw in self.sent if t == task]
        self.sent = [(t, kw) for t, kw in self.sent if t != task]
        return picked
