"""The job ledger on the embedded record store: the outbox commits jobs with their change,
the dispatcher sends them, ``claim`` lets one delivery run, and the sweeper repairs every
crash from the records (issue 7 item 13). The queue is a recording fake; the clock is fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from api.config import Settings
from api.container import Container
from api.jobs.ledger import Claim
from api.jobs.models import JOBS
from api.jobs.sweeper import sweep
from api.kit.clock import FixedClock
from api.kit.ids import new_id
from storage.errors import BackendUnavailable
from storage.query import Query, Record
from tests.support.jobs import RecordingJobs

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
LEASE = 60.0


@pytest.fixture
async def c(settings: Settings) -> AsyncIterator[Container]:
    settings = settings.model_copy(
        update={"jobs": settings.jobs.model_copy(update={"eager": False, "lease_s": LEASE})}
    )
    container = Container(settings, jobs=RecordingJobs(), clock=FixedClock(T0))
    await container.open()
    try:
        yield container
    finally:
        await container.close()


def queue(c: Container) -> RecordingJobs:
    assert isinstance(c.jobs, RecordingJobs)
    return c.jobs


def clock(c: Container) -> FixedClock:
    assert isinstance(c.clock, FixedClock)
    return c.clock


async def jobs(c: Container) -> list[Record]:
    return (await c.records.find(JOBS, Query(limit=1000))).items


async def job(c: Container, job_id: str) -> Record:
    found = await c.records.get(JOBS, job_id)
    assert found is not None
    return found


async def change_with_job(c: Container, task: str = "ingest.file", **kwargs: str) -> str:
    async with c.uow() as uow:
        await c.records.insert("things", {"id": new_id()})
        return uow.enqueue(task, **(kwargs or {"node_id": new_id()}))


# -- the outbox --------------------------------------------------------------------------


async def test_job_commits_with_its_change_and_is_sent_after(c: Container) -> None:
    job_id = await change_with_job(c, node_id="N1")
    record = await job(c, job_id)
    assert record["task"] == "ingest.file"
    assert record["kwargs"] == {"node_id": "N1"}
    assert record["state"] == "sent"
    assert record["sent_at"] == "2026-04-01T09:00:00.000000Z"
    assert queue(c).job_ids == [job_id]
    assert queue(c).sent == [("ingest.file", {"node_id": "N1"})]


async def test_rolled_back_change_leaves_no_job_and_sends_nothing(c: Container) -> None:
    async def failing_change() -> None:
        async with c.uow() as uow:
            await c.records.insert("things", {"id": new_id()})
            uow.enqueue("ingest.file", node_id="N1")
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await jobs(c) == []
    assert await c.records.count("things") == 0
    assert queue(c).sent == []


async def test_nested_units_record_jobs_once_with_the_outer_commit(c: Container) -> None:
    async with c.uow() as outer:
        outer.enqueue("index.work_files", work_id="W1")
        async with c.uow() as inner:
            inner.enqueue("ingest.file", node_id="N1")
        assert await c.records.count(JOBS) == 0  # not before the commit
    assert sorted(j["task"] for j in await jobs(c)) == ["index.work_files", "ingest.file"]
    assert len(queue(c).sent) == 2


async def test_a_batch_of_jobs_is_one_bulk_insert(
    c: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = c.records.insert_many

    async def counting(collection: str, records: list[Record]) -> int:
        if collection == JOBS:
            calls.append(len(records))
        return await original(collection, records)

    monkeypatch.setattr(c.records, "insert_many", counting)
    async with c.uow() as uow:
        for i in range(300):
            uow.enqueue("ingest.file", node_id=f"N{i}")
    assert calls == [300]
    assert {j["state"] for j in await jobs(c)} == {"sent"}


async def test_broker_down_at_send_keeps_the_job_queued_until_the_sweeper_sends_it(
    c: Container,
) -> None:
    queue(c).down = True
    job_id = await change_with_job(c)
    assert (await job(c, job_id))["state"] == "queued"  # committed, not sent, not lost

    assert (await sweep(c.ledger)).sent == 0  # not due yet: the fast path may still send it
    clock(c).advance(seconds=LEASE + 1)
    assert (await sweep(c.ledger)).sent == 0  # still down: stays queued
    assert (await job(c, job_id))["state"] == "queued"

    queue(c).down = False
    assert (await sweep(c.ledger)).sent == 1
    assert (await job(c, job_id))["state"] == "sent"
    assert queue(c).job_ids == [job_id]


async def test_crash_between_commit_and_send_is_repaired_by_the_sweeper(c: Container) -> None:
    """The process dies after the commit, before the fast path: only the record exists."""
    async with c.records.transaction():
        await c.ledger.add([c.ledger.new("ingest.file", {"node_id": "N1"})])
    assert queue(c).sent == []
    clock(c).advance(seconds=LEASE)
    report = await sweep(c.ledger)
    assert report.sent == 1
    assert queue(c).sent == [("ingest.file", {"node_id": "N1"})]


# -- claim: one delivery runs ----------------------------------------------------------------


async def test_claim_runs_once_and_skips_duplicates(c: Container) -> None:
    job_id = await change_with_job(c)
    assert await c.ledger.claim(job_id, "w1:1") == Claim.RUN
    running = await job(c, job_id)
    assert (running["state"], running["attempts"], running["worker"]) == ("running", 1, "w1:1")
    assert running["due_at"] == "2026-04-01T09:01:00.000000Z"  # the lease
    # A second delivery while the first worker holds a live lease: skipped.
    assert await c.ledger.claim(job_id, "w2:1") == Claim.SKIP
    await c.ledger.finish(job_id)
    done = await job(c, job_id)
    assert done["state"] == "done"
    assert "worker" not in done
    # A late duplicate of a finished job (Redis redelivers after its visibility timeout).
    assert await c.ledger.claim(job_id, "w2:1") == Claim.SKIP
    assert await c.ledger.claim(new_id(), "w2:1") == Claim.UNTRACKED


async def test_renew_extends_only_the_holders_lease(c: Container) -> None:
    job_id = await change_with_job(c)
    await c.ledger.claim(job_id, "w1:1")
    clock(c).advance(seconds=30)
    assert await c.ledger.renew(job_id, "w1:1")
    assert (await job(c, job_id))["due_at"] == "2026-04-01T09:01:30.000000Z"
    assert not await c.ledger.renew(job_id, "w9:9")
    await c.ledger.finish(job_id)
    assert not await c.ledger.renew(job_id, "w1:1")


async def test_failure_and_retry_states(c: Container) -> None:
    job_id = await change_with_job(c)
    await c.ledger.claim(job_id, "w1:1")
    eta = datetime(2026, 4, 1, 9, 0, 8, tzinfo=UTC)
    await c.ledger.retrying(job_id, eta, "BackendUnavailable: sqlite unavailable")
    record = await job(c, job_id)
    assert record["state"] == "sent"
    assert record["not_before"] == "2026-04-01T09:00:08.000000Z"
    assert record["last_error"].startswith("BackendUnavailable")
    assert await c.ledger.claim(job_id, "w1:1") == Claim.RUN
    assert (await job(c, job_id))["attempts"] == 2
    await c.ledger.finish(job_id, "ValueError: bad")
    failed = await job(c, job_id)
    assert (failed["state"], failed["last_error"]) == ("failed", "ValueError: bad")
    assert "due_at" not in failed  # waits for an operator, never purged


# -- the sweeper -------------------------------------------------------------------------------


async def test_dead_workers_job_is_restarted_then_failed_after_the_limit(c: Container) -> None:
    limit = c.settings.jobs.max_restarts
    job_id = await change_with_job(c)
    for n in range(1, limit + 1):
        assert await c.ledger.claim(job_id, f"w{n}:1") == Claim.RUN
        clock(c).advance(seconds=LEASE - 1)
        assert (await sweep(c.ledger)).restarted == 0  # the lease still runs
        clock(c).advance(seconds=2)  # ...and now it has run out: the worker is dead
        report = await sweep(c.ledger)
        assert (report.restarted, report.failed) == (1, 0)
        record = await job(c, job_id)
        assert (record["state"], record["restarts"]) == ("sent", n)
        assert f"w{n}:1" in record["last_error"]
    assert await c.ledger.claim(job_id, "last:1") == Claim.RUN
    clock(c).advance(seconds=LEASE + 1)
    report = await sweep(c.ledger)
    assert (report.restarted, report.failed) == (0, 1)
    failed = await job(c, job_id)
    assert failed["state"] == "failed"
    assert f"上限（{limit}回）" in failed["last_error"]
    assert queue(c).job_ids == [job_id] * (limit + 1)


async def test_lost_message_is_resent_only_when_its_queue_is_empty(c: Container) -> None:
    job_id = await change_with_job(c)  # routed to "default"
    clock(c).advance(seconds=LEASE * 5 + 1)
    queue(c).queues = {"default": 3, "index": 0, "mail": 0, "jobs": 0}
    assert (await sweep(c.ledger)).resent == 0  # may still be waiting behind the others
    queue(c).queues = None
    assert (await sweep(c.ledger)).resent == 0  # the broker cannot tell: nothing to do
    queue(c).queues = {"default": 0, "index": 0, "mail": 0, "jobs": 0}
    assert (await sweep(c.ledger)).resent == 1
    assert queue(c).job_ids == [job_id, job_id]
    assert (await sweep(c.ledger)).resent == 0  # sent again: a fresh grace


async def test_done_jobs_are_purged_after_the_retention(c: Container) -> None:
    job_id = await change_with_job(c)
    await c.ledger.claim(job_id, "w1:1")
    await c.ledger.finish(job_id)
    clock(c).advance(hours=c.settings.jobs.keep_done_hours - 1)
    assert (await sweep(c.ledger)).purged == 0
    clock(c).advance(hours=2)
    assert (await sweep(c.ledger)).purged == 1
    assert await jobs(c) == []


async def test_record_store_down_fails_the_change_not_half_of_it(
    c: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(collection: str, records: list[Record]) -> int:
        raise BackendUnavailable("sqlite", "disk I/O error")

    monkeypatch.setattr(c.records, "insert_many", down)
    with pytest.raises(BackendUnavailable):
        await change_with_job(c)
    assert await c.records.count("things") == 0
    assert queue(c).sent == []


async def test_kura_check_reports_failed_and_stalled_jobs_not_a_backlog(c: Container) -> None:
    from api import consistency

    assert (await consistency.check(c)).clean
    waiting = await change_with_job(c)  # sent: waits in the broker, however long
    failing = await change_with_job(c)
    await c.ledger.claim(failing, "w1:1")
    await c.ledger.finish(failing, "RuntimeError: boom")
    queue(c).down = True
    unsent = await change_with_job(c)  # queued: no sweeper ever sends it
    clock(c).advance(minutes=30)
    report = await consistency.check(c)
    assert report.counts["failed_job"] == 1
    assert report.counts["stalled_job"] == 1
    refs = {d.kind: d.ref for d in report.items}
    assert refs == {"failed_job": f"jobs/{failing}", "stalled_job": f"jobs/{unsent}"}
    assert waiting not in str(report.items)
