"""Celery tasks, one module per package: thin, named ``"<pkg>.<verb>"``, idempotent, taking ids.

Every module here is discovered by ``workers.celery_app.task_modules`` (no list to keep up to
date). Define tasks with ``celery.shared_task`` so they join whichever app the process made,
(through ``task`` below, which only adds typing and a required name) and spread
``RETRYING`` into the decorator of any task that touches a backend::

    @task("works.reindex", **RETRYING)
    def reindex(work_id: str) -> None: ...

The work itself belongs to a service; the task only fetches the container
(``workers.celery_app.worker_container``) inside ``run_async`` and calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

from storage.errors import BackendUnavailable
from workers.tracking import TrackedTask

# A backend that is down is retried with exponential backoff (1 s, 2 s, 4 s ... capped at
# 5 min, jittered) up to 8 times; any other error fails the task at once.
RETRYING: dict[str, Any] = {
    "autoretry_for": (BackendUnavailable, ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


def task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``celery.shared_task`` with a required ``"<pkg>.<verb>"`` name, on ``TrackedTask``:
    a job sent by the outbox reports its lifecycle on its record (``workers.tracking``)."""
    if "." not in name:
        raise ValueError(f"task names are '<pkg>.<verb>', got {name!r}")
    options.setdefault("base", TrackedTask)
    decorator: Callable[[Callable[..., Any]], Any] = shared_task(name=name, **options)
    return decorator
