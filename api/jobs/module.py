"""Durable job delivery: the job records (outbox), their sweeper, and the operators' view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.config import Settings
from api.container import Container
from api.jobs.models import JOB_INDEXES, JOBS
from api.jobs.router import router
from api.modules import Module


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(JOBS, JOB_INDEXES)


def _beat(settings: Settings) -> Mapping[str, Mapping[str, Any]]:
    # A sweep not started within its interval expires: the next one does its work.
    every = settings.jobs.sweep_s
    return {
        # Jobs left queued by a crash, jobs of dead workers, lost messages (api.jobs.sweeper).
        "jobs-sweep": {"task": "jobs.sweep", "schedule": every, "options": {"expires": every}},
    }


MODULE = Module("jobs", routers=(router,), ensure_schema=_schema, beat=_beat)
