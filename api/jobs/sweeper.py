"""The job sweeper (beat's ``jobs.sweep``, ``kura jobs sweep``): repairs delivery from the
job records, whatever crashed. Idempotent; concurrent sweeps are safe (optimistic updates;
at worst a job is sent twice and the second delivery is skipped).

1. ``queued`` past ``due_at``: the sender crashed between commit and send, or the broker was
   down -> send.
2. ``running`` past its lease: the worker died (its heartbeat stopped) -> ``queued`` again and
   sent, counting a restart; past ``max_restarts`` -> ``failed`` with the reason.
3. ``sent`` past its grace while the job's queue is empty: the message is lost (the SQLite
   broker never redelivers a message a dead worker had taken) -> sent again. A queue with
   messages waiting may still hold it, so nothing is done then.
4. ``done`` past the retention -> deleted.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from api.jobs.ledger import JobLedger
from api.jobs.models import JOBS, JobState
from api.kit.clock import to_iso
from storage.errors import NotFound, StaleVersion
from storage.query import Condition, Eq, Query, Range, Record

log = logging.getLogger("kura.jobs")

PAGE = 500
# At most this many records per step and sweep: a huge backlog is worked off over sweeps.
MAX_PER_STEP = 20_000


@dataclass
class SweepReport:
    sent: int = 0  # queued jobs sent
    restarted: int = 0  # jobs of dead workers sent again
    failed: int = 0  # jobs of dead workers past the restart limit
    resent: int = 0  # lost messages sent again
    purged: int = 0  # finished jobs deleted

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def sweep(ledger: JobLedger) -> SweepReport:
    report = SweepReport()
    report.sent = await _send_queued(ledger)
    await _restart_dead(ledger, report)
    report.resent = await _resend_lost(ledger)
    report.purged = await _purge_done(ledger)
    if report.restarted or report.failed or report.resent or report.sent:
        log.info("job sweep: %s", report.as_dict())
    return report


async def _pages(
    ledger: JobLedger, state: JobState, queue: str | None = None
) -> list[list[Record]]:
    """Due jobs of ``state`` (routed to ``queue``) in pages, collected before acting (acting
    moves them out)."""
    now = to_iso(ledger.clock.now())
    where: tuple[Condition, ...] = (Eq("state", state.value), Range("due_at", lte=now))
    if queue is not None:
        where = (Eq("state", state.value), Eq("queue", queue), Range("due_at", lte=now))
    pages: list[list[Record]] = []
    cursor: str | None = None
    total = 0
    while total < MAX_PER_STEP:
        query = Query(where=where, sort=(("due_at", 1),), limit=PAGE, cursor=cursor)
        page = await ledger.records.find(JOBS, query)
        if page.items:
            pages.append(page.items)
            total += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return pages


async def _send_queued(ledger: JobLedger) -> int:
    sent = 0
    for page in await _pages(ledger, JobState.QUEUED):
        sent += await ledger.dispatch(page)
    return sent


async def _restart_dead(ledger: JobLedger, report: SweepReport) -> None:
    limit = ledger.settings.max_restarts
    for page in await _pages(ledger, JobState.RUNNING):
        again: list[Record] = []
        for job in page:
            restarts = int(job.get("restarts") or 0)
            now = ledger.clock.now()
            worker = job.get("worker") or "?"
            if restarts >= limit:
                changes: Record = {
                    "state": JobState.FAILED.value,
                    "due_at": None,
                    "finished_at": to_iso(now),
                    "updated_at": to_iso(now),
                    "worker": None,
                    "last_error": (
                        f"実行中に作業プロセス（{worker}）が停止しました。"
                        f"再実行の上限（{limit}回）に達したため中止しました。"
                    ),
                }
            else:
                changes = {
                    "state": JobState.QUEUED.value,
                    "restarts": restarts + 1,
                    "due_at": to_iso(now + ledger.lease),
                    "updated_at": to_iso(now),
                    "worker": None,
                    "last_error": (
                        f"実行中に作業プロセス（{worker}）が停止したため再実行します"
                        f"（{restarts + 1}/{limit}回目）。"
                    ),
                }
            try:
                updated = await ledger.records.update(JOBS, str(job["id"]), changes, job["version"])
            except (StaleVersion, NotFound):
                continue  # the worker was alive after all, or another sweep got it
            if changes["state"] == JobState.FAILED:
                report.failed += 1
                log.error("job %s (%s) failed: %s", job["id"], job["task"], changes["last_error"])
            else:
                again.append(updated)
        report.restarted += len(again)
        await ledger.dispatch(again)


async def _resend_lost(ledger: JobLedger) -> int:
    """Only queues with nothing waiting are looked at: a job behind a long backlog (a large
    import's ingests) is waiting, not lost, however long ago it was sent."""
    assert ledger.queue is not None
    now = to_iso(ledger.clock.now())
    due = Query(where=(Eq("state", JobState.SENT.value), Range("due_at", lte=now)), limit=1)
    if not (await ledger.records.find(JOBS, due)).items:
        return 0  # nothing overdue: no need to ask the broker
    waiting = await ledger.queue.waiting()
    if waiting is None:
        return 0  # the broker does not answer: nothing can be sent anyway
    resent = 0
    for queue in sorted(q for q, n in waiting.items() if n == 0):
        lost = [job for page in await _pages(ledger, JobState.SENT, queue) for job in page]
        if lost:
            log.warning(
                "%d jobs sent to the empty queue %s never started: sent again", len(lost), queue
            )
            resent += await ledger.dispatch(lost)
    return resent


async def _purge_done(ledger: JobLedger) -> int:
    purged = 0
    for page in await _pages(ledger, JobState.DONE):
        async with ledger.records.transaction():
            for job in page:
                try:
                    await ledger.records.delete(JOBS, str(job["id"]), int(job["version"]))
                except (StaleVersion, NotFound):
                    continue
                purged += 1
    return purged
