"""Ingest tasks: each uploaded file goes through detect -> extract -> thumbnail -> index (one
file per job, or a batch of an import per job)."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("ingest.file", bind=True, **RETRYING)
def ingest_file(self: Any, node_id: str, force: bool = False) -> str:
    """Ingest one file node (issue 3 item 3): sniff its true type, extract text per page or
    image facts, store derived artefacts, write the results on the node, index it.

    Idempotent: a node already ``done`` for its content is skipped (``force`` re-extracts).
    Bad content never fails the task (the node ends ``done`` with flags, or ``failed`` with a
    reason); only an unavailable backend raises, and is retried with backoff.
    """
    from api.archive.ingest import IngestService

    async def run() -> str:
        container = await worker_container(self.app)
        return await IngestService(container).ingest(node_id, force=force)

    return run_async(run())


@task("ingest.recover", bind=True)
def recover(self: Any) -> dict[str, int]:
    """Queue again the files a crash left ``processing`` (or ``queued`` without a job), or
    mark them ``failed`` after ``jobs.max_restarts`` (``api.archive.recovery``). Idempotent;
    run by beat."""
    from api.archive.recovery import recover_stuck

    async def run() -> dict[str, int]:
        container = await worker_container(self.app)
        return (await recover_stuck(container)).as_dict()

    return run_async(run())


@task("ingest.files", bind=True, **RETRYING)
def ingest_files(self: Any, node_ids: list[str], force: bool = False) -> dict[str, int]:
    """Ingest a batch of file nodes one after the other, each exactly as ``ingest.file``
    does. Bulk imports send one job per batch (``api.deliverables.bulk``), so 100,000 files
    are 200 jobs, not 100,000. Idempotent like ``ingest.file``: a retry after an outage
    skips the nodes already done. Returns how many ended in each state."""
    from api.archive.ingest import IngestService

    async def run() -> dict[str, int]:
        container = await worker_container(self.app)
        service = IngestService(container)
        states: dict[str, int] = {}
        for node_id in node_ids:
            state = await service.ingest(node_id, force=force)
            states[state] = states.get(state, 0) + 1
        return states

    return run_async(run())
