"""The job ledger: durable job delivery over any broker (a transactional outbox).

``UnitOfWork.enqueue`` makes a record with ``new`` and ``add`` writes it inside the record
transaction of the change that needs it; after the commit ``dispatch`` hands it to the broker
at once (the fast path). Everything that can go wrong afterwards is repaired by the sweeper
(``api.jobs.sweeper``) from these records:

- crash between commit and send: the job is still ``queued`` past ``due_at`` -> sent;
- the worker dies mid-run (kill -9, OOM, power): it stops renewing the lease (``renew``,
  from a heartbeat thread) -> sent again, at most ``max_restarts`` times, then ``failed``;
- the message is lost (the SQLite broker never redelivers a message taken by a dead worker;
  a Redis without persistence loses its lists): still ``sent`` long past ``due_at`` while its
  queue is empty -> sent again.

A job may therefore be delivered twice; ``claim`` lets only one delivery run it (a job
``done``, ``failed`` or running elsewhere under a live lease is skipped), and tasks are
idempotent for the rare case where both run. Every state change is an optimistic update
(``version``), so the dispatcher, the worker, the heartbeat and concurrent sweepers never
overwrite each other's news.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from api.config import JobsSettings
from api.jobs.models import JOBS, JobState
from api.kit.clock import Clock, from_iso, to_iso
from api.kit.ids import new_id
from api.kit.jobs import queue_for
from storage.errors import NotFound, StaleVersion
from storage.ports import JobQueue, RecordStore
from storage.query import Record

log = logging.getLogger("kura.jobs")

# A ``sent`` job is suspected lost after this many leases without being started.
SENT_GRACE_LEASES = 5
_TRIES = 8
MAX_ERROR = 2000


class Claim(StrEnum):
    RUN = "run"  # this delivery runs the job
    SKIP = "skip"  # a duplicate delivery: the job is finished or running elsewhere
    UNTRACKED = "untracked"  # no record (purged, or sent without the outbox): just run


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR]


class JobLedger:
    """The job records of one record store; ``queue`` sends them (None: record-only use,
    e.g. the worker's heartbeat)."""

    def __init__(
        self,
        records: RecordStore,
        queue: JobQueue | None,
        clock: Clock,
        settings: JobsSettings,
    ) -> None:
        self.records = records
        self.queue = queue
        self.clock = clock
        self.settings = settings

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_s)

    def _now(self) -> datetime:
        return self.clock.now()

    # -- the outbox (unit of work) ----------------------------------------------------------

    def new(self, task: str, kwargs: dict[str, Any]) -> Record:
        """A ``queued`` job record (not stored yet). The sweeper sends it after one lease if
        the fast path has not."""
        now = self._now()
        return {
            "id": new_id(),
            "task": task,
            "kwargs": kwargs,
            "queue": queue_for(task),
            "state": JobState.QUEUED.value,
            "attempts": 0,
            "restarts": 0,
            "created_at": to_iso(now),
            "updated_at": to_iso(now),
            "due_at": to_iso(now + self.lease),
        }

    async def add(self, jobs: Sequence[Record]) -> None:
        """Store new job records; call inside the record transaction of their change."""
        if jobs:
            await self.records.insert_many(JOBS, jobs)

    async def dispatch(self, jobs: Sequence[Record]) -> int:
        """Hand jobs to the broker, then mark them ``sent``; returns how many were sent.

        Never raises: a job that could not be sent stays ``queued`` and the sweeper sends it
        when it is due (the broker may be back by then)."""
        if not jobs:
            return 0
        if self.queue is None:
            raise RuntimeError("this ledger has no queue to send with")
        sent: list[Record] = []
        for job in jobs:
            try:
                await self.queue.send(str(job["task"]), dict(job["kwargs"]), job_id=str(job["id"]))
            except Exception:
                log.exception(
                    "sending job %s (%s) failed; the sweeper retries", job["id"], job["task"]
                )
                continue
            sent.append(job)
        await self._mark_sent(sent)
        return len(sent)

    async def _mark_sent(self, jobs: Sequence[Record]) -> None:
        if not jobs:
            return
        now = self._now()
        changes = {
            "state": JobState.SENT.value,
            "sent_at": to_iso(now),
            "updated_at": to_iso(now),
            "due_at": to_iso(now + self.lease * SENT_GRACE_LEASES),
        }
        try:
            async with self.records.transaction():
                for job in jobs:
                    # Stale: a worker has it already (or eager mode ran it).
                    with contextlib.suppress(StaleVersion, NotFound):
                        await self.records.update(
                            JOBS, str(job["id"]), changes, int(job.get("version", 1))
                        )
        except Exception:
            # The jobs were sent; left ``queued`` they are sent once more when due and the
            # duplicate delivery is skipped by ``claim``.
            log.warning("marking %d jobs sent failed", len(jobs), exc_info=True)

    # -- the worker side -------------------------------------------------------------------

    async def claim(self, job_id: str, worker: str) -> Claim:
        """Start a delivery of ``job_id`` on ``worker``: ``running`` with a fresh lease."""
        for _ in range(_TRIES):
            job = await self.records.get(JOBS, job_id)
            if job is None:
                return Claim.UNTRACKED
            state = job["state"]
            now = self._now()
            if state in (JobState.DONE, JobState.FAILED):
                return Claim.SKIP
            if (
                state == JobState.RUNNING
                and job.get("worker") != worker
                and from_iso(str(job["due_at"])) > now
            ):
                return Claim.SKIP
            changes = {
                "state": JobState.RUNNING.value,
                "attempts": int(job.get("attempts") or 0) + 1,
                "worker": worker,
                "started_at": to_iso(now),
                "updated_at": to_iso(now),
                "due_at": to_iso(now + self.lease),
                "not_before": None,
            }
            try:
                await self.records.update(JOBS, job_id, changes, int(job["version"]))
            except StaleVersion:
                continue
            except NotFound:
                return Claim.UNTRACKED
            return Claim.RUN
        log.warning("job %s: could not claim under contention; running it anyway", job_id)
        return Claim.RUN

    async def renew(self, job_id: str, worker: str) -> bool:
        """Extend the lease of a job ``worker`` runs; False when it is no longer its job."""
        for _ in range(_TRIES):
            job = await self.records.get(JOBS, job_id)
            if job is None or job["state"] != JobState.RUNNING or job.get("worker") != worker:
                return False
            now = self._now()
            changes = {"due_at": to_iso(now + self.lease), "updated_at": to_iso(now)}
            try:
                await self.records.update(JOBS, job_id, changes, int(job["version"]))
            except StaleVersion:
                continue
            except NotFound:
                return False
            return True
        return True

    async def finish(self, job_id: str, error: str | None = None) -> None:
        """``done`` (kept ``keep_done_hours``), or ``failed`` with ``error``. Overrides any
        other state: the work is over whatever a sweeper decided meanwhile."""
        await self._set(job_id, lambda job, now: _finished(job, now, error, self.settings))

    async def retrying(self, job_id: str, eta: datetime | None, error: str) -> None:
        """A Celery retry was sent (a backend was down): ``sent`` again, due after ``eta``."""
        now = self._now()
        start = max(now, eta) if eta is not None else now
        changes: Record = {
            "state": JobState.SENT.value,
            "sent_at": to_iso(now),
            "not_before": to_iso(eta) if eta is not None else None,
            "due_at": to_iso(start + self.lease * SENT_GRACE_LEASES),
            "last_error": error[:MAX_ERROR],
            "worker": None,
        }
        await self._set(job_id, lambda job, now: {**changes, "updated_at": to_iso(now)})

    async def requeue(self, job_id: str, error: str, delay: timedelta | None = None) -> None:
        """Back to ``queued`` (its retry could not be sent): the sweeper sends it when due."""
        wait = delay if delay is not None else self.lease

        def changes(job: Record, now: datetime) -> Record:
            return {
                "state": JobState.QUEUED.value,
                "due_at": to_iso(now + wait),
                "updated_at": to_iso(now),
                "last_error": error[:MAX_ERROR],
                "worker": None,
            }

        await self._set(job_id, changes)

    async def _set(self, job_id: str, build: Any) -> None:
        for _ in range(_TRIES):
            job = await self.records.get(JOBS, job_id)
            if job is None:
                return
            try:
                await self.records.update(
                    JOBS, job_id, build(job, self._now()), int(job["version"])
                )
            except StaleVersion:
                continue
            except NotFound:
                return
            return
        log.warning("job %s: state update lost under contention", job_id)

    # -- operators --------------------------------------------------------------------------

    async def retry(self, job: Record) -> Record:
        """A ``failed`` job queued again with a fresh restart budget (call inside a unit of
        work; dispatch the returned record after commit)."""
        now = self._now()
        changes: Record = {
            "state": JobState.QUEUED.value,
            "restarts": 0,
            "due_at": to_iso(now + self.lease),
            "updated_at": to_iso(now),
            "finished_at": None,
            "worker": None,
        }
        return await self.records.update(JOBS, str(job["id"]), changes, int(job["version"]))


def _finished(job: Record, now: datetime, error: str | None, settings: JobsSettings) -> Record:
    changes: Record = {
        "finished_at": to_iso(now),
        "updated_at": to_iso(now),
        "worker": None,
        "not_before": None,
    }
    if error is None:
        keep = timedelta(hours=settings.keep_done_hours)
        changes |= {"state": JobState.DONE.value, "due_at": to_iso(now + keep)}
    else:
        changes |= {"state": JobState.FAILED.value, "due_at": None, "last_error": error[:MAX_ERROR]}
    return changes
