"""Tasks report their job's lifecycle on the job record (``api.jobs.ledger``).

Every task's base class is ``TrackedTask``. A message sent by the outbox carries the job id in
the ``kura_job`` header (and as its task id); for such a delivery the task first *claims* the
job (``running``, with a lease), runs, and records ``done`` or ``failed``; a Celery retry
records ``sent`` again with its ETA. A delivery of a job that is finished or running under
another worker's live lease is skipped: the sweeper may send a job twice, the job runs once.
Messages without the header (beat's periodic tasks, ``JobQueue.enqueue``) run untracked.

While a job runs, a heartbeat thread of this process renews its lease every quarter lease,
on its own record-store connection and event loop: the task's loop may be busy in CPU-bound
extraction for longer than a lease, the heartbeat thread is not. When the process dies the
renewals stop and the sweeper restarts the job once the lease has run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import Task
from celery.exceptions import Reject, Retry

from api.kit.jobs import JOB_HEADER
from storage.errors import BackendUnavailable

if TYPE_CHECKING:
    from api.config import Settings
    from api.jobs.ledger import JobLedger

log = logging.getLogger("kura.jobs")

# A job whose claim found the record store down is retried this often, then left to the sweeper.
CLAIM_RETRIES = 8


def worker_name() -> str:
    """This process as the job records name it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def job_id_of(request: Any) -> str | None:
    headers = getattr(request, "headers", None) or {}
    value = headers.get(JOB_HEADER) if isinstance(headers, dict) else None
    if value is None:
        value = getattr(request, JOB_HEADER, None)
    return str(value) if value else None


class TrackedTask(Task):  # type: ignore[misc]
    """The base of every Kura task: claim, heartbeat, done / failed / retrying."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from api.jobs.ledger import Claim, error_text
        from workers.celery_app import run_async, settings_of, worker_container

        job_id = job_id_of(self.request)
        if job_id is None or self.request.called_directly:
            return super().__call__(*args, **kwargs)
        worker = worker_name()

        async def claim() -> Claim:
            container = await worker_container(self.app)
            return await container.ledger.claim(job_id, worker)

        try:
            claimed = run_async(claim())
        except BackendUnavailable as exc:
            countdown = min(300, 2 ** min(self.request.retries, 8))
            raise self.retry(exc=exc, countdown=countdown, max_retries=CLAIM_RETRIES) from exc
        if claimed == Claim.SKIP:
            log.info("job %s (%s): duplicate delivery skipped", job_id, self.name)
            return None
        tracked = claimed == Claim.RUN
        eager = bool(self.request.is_eager)
        beat = _heartbeat(settings_of(self.app)) if tracked and not eager else None
        with beat.holding(job_id, worker) if beat is not None else contextlib.nullcontext():
            try:
                result = super().__call__(*args, **kwargs)
            except Retry as exc:
                if tracked:
                    error, eta = error_text(exc.exc or exc), _eta(exc)
                    _report(self, job_id, lambda jobs: jobs.retrying(job_id, eta, error))
                raise
            except Reject as exc:
                # The retry could not be sent (broker down): the sweeper sends it later.
                if tracked:
                    error = error_text(exc)
                    _report(self, job_id, lambda jobs: jobs.requeue(job_id, error))
                raise
            except Exception as exc:
                if tracked:
                    error = error_text(exc)
                    _report(self, job_id, lambda jobs: jobs.finish(job_id, error))
                raise
        if tracked:
            _report(self, job_id, lambda jobs: jobs.finish(job_id))
        return result


def _eta(exc: Retry) -> datetime | None:
    when = exc.when
    if isinstance(when, int | float):
        return datetime.now(UTC) + timedelta(seconds=float(when))
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _report(task: Any, job_id: str, change: Callable[[JobLedger], Awaitable[None]]) -> None:
    """Record a state change; a failure here is logged (the sweeper's lease covers it)."""
    from workers.celery_app import run_async, worker_container

    async def report() -> None:
        await change((await worker_container(task.app)).ledger)

    try:
        run_async(report())
    except Exception:
        log.warning("job %s: recording its state failed", job_id, exc_info=True)


class Heartbeat:
    """One thread per worker process renewing the leases of the jobs it runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pid = os.getpid()
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="kura-job-heartbeat", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def holding(self, job_id: str, worker: str) -> Iterator[None]:
        with self._lock:
            self._held[job_id] = worker
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(job_id, None)

    @property
    def interval(self) -> float:
        return max(0.2, self.settings.jobs.lease_s / 4)

    def stop(self) -> None:
        self._stop.set()

    def _main(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        from api.container import build_records
        from api.jobs.ledger import JobLedger
        from api.kit.clock import SystemClock

        records = build_records(self.settings)
        ledger = JobLedger(records, None, SystemClock(), self.settings.jobs)
        try:
            while not await asyncio.to_thread(self._stop.wait, self.interval):
                with self._lock:
                    held = dict(self._held)
                for job_id, worker in held.items():
                    try:
                        await ledger.renew(job_id, worker)
                    except Exception:
                        log.warning("job %s: lease renewal failed", job_id, exc_info=True)
        finally:
            await records.close()


_beat: Heartbeat | None = None
_beat_lock = threading.Lock()


def _heartbeat(settings: Settings) -> Heartbeat:
    global _beat
    with _beat_lock:
        if _beat is None or _beat.pid != os.getpid() or _beat.settings != settings:
            if _beat is not None and _beat.pid == os.getpid():
                _beat.stop()
            _beat = Heartbeat(settings)
        return _beat
