"""Files whose ingest was cut off: found and queued again, or failed after the limit.

A worker killed mid-ingest leaves its file ``processing``; a job lost before the outbox
existed (or failed for good) leaves it ``queued``. Neither moves again by itself, so beat runs
``ingest.recover`` (every two ``jobs.sweep_s``), the way ``index.pending_files`` picks up
index documents left pending:

- a file ``processing`` since ``started_at``, or ``queued`` since ``updated_at``, for longer
  than two job leases, *and* without a live ``ingest.file`` job (a live job belongs to the job
  sweeper, which restarts it when its worker dies), is stuck;
- a stuck file is queued again with a new job, counting ``ingest.recovered``; when its last
  job ``failed`` or it was recovered ``jobs.max_restarts`` times, it ends ``failed`` with a
  Japanese reason instead (``POST /files/{id}/reingest`` starts it afresh).
Idempotent; a file that moves meanwhile is left alone (optimistic versions).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from api.archive.indexing import flush_pending, mark_pending
from api.archive.models import NODES, IngestState, NodeKind
from api.container import Container
from api.jobs.models import JOBS, LIVE_STATES, JobState
from api.kit.clock import to_iso
from storage.errors import NotFound, StaleVersion
from storage.query import Eq, Query, Range, Record

log = logging.getLogger("kura.ingest")

INGEST_TASK = "ingest.file"
BATCH = 500


@dataclass
class RecoveryReport:
    requeued: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def recover_stuck(container: Container, batch: int = BATCH) -> RecoveryReport:
    """Queue again (or fail) up to ``batch`` stuck files of each kind, oldest first."""
    report = RecoveryReport()
    jobs = container.settings.jobs
    horizon = to_iso(container.clock.now() - timedelta(seconds=2 * jobs.lease_s))
    works: set[str] = set()
    for state, since in (
        (IngestState.PROCESSING, "ingest.started_at"),
        (IngestState.QUEUED, "updated_at"),
    ):
        query = Query(
            where=(Eq("ingest.state", state.value), Range(since, lte=horizon)),
            sort=((since, 1),),
            limit=batch,
        )
        for node in (await container.records.find(NODES, query)).items:
            if node.get("kind") != NodeKind.FILE:
                continue
            outcome = await _recover(container, node, jobs.max_restarts)
            if outcome == "requeued":
                report.requeued += 1
            elif outcome == "failed":
                report.failed += 1
                works.add(str(node["work_id"]))
    for work_id in sorted(works):
        await flush_pending(container, work_id)
    if report.requeued or report.failed:
        log.warning("ingest recovery: %s", report.as_dict())
    return report


async def _last_jobs(container: Container, node_id: str) -> list[Record]:
    query = Query(where=(Eq("kwargs.node_id", node_id),), sort=(("id", -1),), limit=20)
    page = await container.records.find(JOBS, query)
    return [j for j in page.items if j.get("task") == INGEST_TASK]


async def _recover(container: Container, node: Record, limit: int) -> str | None:
    node_id = str(node["id"])
    jobs = await _last_jobs(container, node_id)
    if any(j["state"] in LIVE_STATES for j in jobs):
        return None  # the job sweeper owns it
    ingest = dict(node.get("ingest") or {})
    recovered = int(ingest.get("recovered") or 0)
    job_failed = bool(jobs) and jobs[0]["state"] == JobState.FAILED
    now = to_iso(container.clock.now())
    async with container.uow() as uow:
        if job_failed or recovered >= limit:
            reason = (
                "取り込み処理を完了できませんでした（処理が繰り返し中断されました）。"
                "再取り込みしてください。"
            )
            changes = {
                **ingest,
                "state": IngestState.FAILED.value,
                "reason": reason,
                "finished_at": now,
            }
            outcome = "failed"
        else:
            changes = {
                **ingest,
                "state": IngestState.QUEUED.value,
                "reason": None,
                "recovered": recovered + 1,
            }
            outcome = "requeued"
        try:
            updated = await container.records.update(
                NODES, node_id, {"ingest": changes}, int(node["version"])
            )
        except (StaleVersion, NotFound):
            return None  # it moved meanwhile
        if outcome == "failed":
            await mark_pending(container.records, updated, now)
        else:
            uow.enqueue(INGEST_TASK, node_id=node_id)
    log.info("file %s stuck in %s: %s", node_id, node["ingest"].get("state"), outcome)
    return outcome
