"""Operators' view of the job ledger: list, summary, retry and discard (API and CLI)."""

from __future__ import annotations

from datetime import timedelta

from api.audit.service import AuditLog
from api.container import Container
from api.errors import Conflict, NotFoundError
from api.jobs.models import JOBS, STATE_LABELS, JobState
from api.kit.clock import to_iso
from api.kit.ids import is_id
from api.permissions.policy import Subject
from storage.errors import StaleVersion
from storage.query import Eq, Page, Query, Range, Record

Actor = Subject | str | None
# A queued or running job this far past ``due_at`` means no sweeper is running (beat is
# down): the sweeper sends or restarts those within seconds. ``sent`` jobs are not counted: a
# job behind a long backlog waits legitimately.
OVERDUE = timedelta(minutes=10)
OVERDUE_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


class NotRetryable(Conflict):
    code = "job_not_retryable"
    title = "失敗したジョブだけを再実行できます。"


class NotDiscardable(Conflict):
    code = "job_not_discardable"
    title = "完了または失敗したジョブだけを削除できます。"


class JobService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.ledger = container.ledger
        self.audit = AuditLog(container.records, container.clock)

    async def list(
        self,
        state: JobState | None = None,
        task: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Jobs newest first, optionally of one state and task."""
        where: list[Eq] = []
        if state is not None:
            where.append(Eq("state", state.value))
        if task is not None:
            where.append(Eq("task", task))
        query = Query(where=tuple(where), sort=(("id", -1),), limit=limit, cursor=cursor)
        return await self.records.find(JOBS, query)

    async def get(self, job_id: str) -> Record:
        job = await self.records.get(JOBS, job_id) if is_id(job_id) else None
        if job is None:
            raise NotFoundError("ジョブが見つかりません。")
        return job

    async def summary(self) -> tuple[dict[str, int], int]:
        """Jobs per state, and queued or running jobs overdue by more than ``OVERDUE``."""
        counts = {
            s.value: await self.records.count(JOBS, (Eq("state", s.value),)) for s in JobState
        }
        horizon = to_iso(self.container.clock.now() - OVERDUE)
        overdue = 0
        for state in OVERDUE_STATES:
            overdue += await self.records.count(
                JOBS, (Eq("state", state), Range("due_at", lt=horizon))
            )
        return counts, overdue

    async def retry(self, actor: Actor, job_id: str) -> Record:
        """Queue a ``failed`` job again (fresh restart budget) and send it at once."""
        job = await self.get(job_id)
        if job["state"] != JobState.FAILED:
            raise NotRetryable(f"{NotRetryable.title}このジョブは「{_label(job)}」です。")
        async with self.container.uow() as uow:
            try:
                updated = await self.ledger.retry(job)
            except StaleVersion as exc:
                raise Conflict() from exc
            await self.audit.record(
                actor,
                "jobs.retried",
                f"{JOBS}/{job_id}",
                detail={"task": job["task"], "last_error": job.get("last_error")},
            )

            async def send() -> None:
                await self.ledger.dispatch([updated])

            uow.after_commit(send)
        return await self.get(job_id)

    async def discard(self, actor: Actor, job_id: str) -> None:
        """Delete a finished (``done`` or ``failed``) job record; the audit keeps what it was."""
        job = await self.get(job_id)
        if job["state"] not in (JobState.DONE, JobState.FAILED):
            raise NotDiscardable(f"{NotDiscardable.title}このジョブは「{_label(job)}」です。")
        async with self.container.uow():
            try:
                await self.records.delete(JOBS, job_id, int(job["version"]))
            except StaleVersion as exc:
                raise Conflict() from exc
            await self.audit.record(
                actor,
                "jobs.discarded",
                f"{JOBS}/{job_id}",
                detail={
                    "task": job["task"],
                    "kwargs": job.get("kwargs"),
                    "state": job["state"],
                    "last_error": job.get("last_error"),
                },
            )


def _label(job: Record) -> str:
    state = str(job["state"])
    return STATE_LABELS.get(JobState(state), state) if state in set(JobState) else state
