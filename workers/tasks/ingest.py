"""Ingest tasks: each uploaded file goes through detect -> extract -> thumbnail -> index."""

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
