"""The JobQueue adapter: sends Celery tasks by name. ``api`` never imports ``workers``."""

from __future__ import annotations

import asyncio
from typing import Any

from api.config import Settings
from storage.ports import Health


class CeleryJobQueue:
    name = "celery"

    def __init__(self, settings: Settings) -> None:
        from celery import Celery

        self._settings = settings
        self._app = Celery(
            "kura-client", broker=settings.broker_url, backend=settings.result_backend
        )
        self._app.conf.task_always_eager = settings.jobs.eager
        self._app.conf.broker_connection_retry_on_startup = False

    async def enqueue(self, task: str, **kwargs: Any) -> str:
        result = await asyncio.to_thread(self._app.send_task, task, kwargs=kwargs)
        return str(result.id)

    async def health(self) -> Health:
        def ping() -> None:
            with self._app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)

        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout=5)
            return Health(True, self.name)
        except Exception as exc:
            return Health(False, self.name, str(exc)[:200])
