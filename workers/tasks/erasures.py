"""Erasure tasks: plan, remind and erase at the contract's dates; resume interrupted erasures
(issue 12 §2; seed 001 §3-6, 別表3 12(1))."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("erasures.run_due", bind=True, **RETRYING)
def run_due(self: Any) -> dict[str, int]:
    """Hourly: schedule what a contract's date makes due, tell the supervisors before, erase
    on the day, finish every erasure left unfinished. Each step once (idempotent)."""
    from api.erasures.service import ErasureService

    async def go() -> dict[str, int]:
        container = await worker_container(self.app)
        return await ErasureService(container).run_due()

    return run_async(go())


@task("erasures.finish", bind=True, **RETRYING)
def finish(self: Any, scope: str) -> dict[str, Any]:
    """Steps 3-5 of an erasure whose key the API destroyed (``POST /erasures/{scope}``):
    records, search documents, objects, the audit event and the ``done`` mark. Idempotent:
    a delivery after a killed worker resumes where the erasure record stands."""
    from api.erasures.service import finish_erasure

    async def go() -> dict[str, Any]:
        return await finish_erasure(await worker_container(self.app), scope)

    return run_async(go())


@task("erasures.backups", bind=True, **RETRYING)
def backups(self: Any, scope: str) -> dict[str, Any]:
    """After an erasure: its records out of the records file of every data backup generation
    (``api.backup.erased``; issue 12 §2 "nothing kept that should be erased"). Idempotent;
    what it cannot do (a backup holds the target) the next ``kura backup`` does."""
    from api.backup.erased import for_erasure

    async def go() -> dict[str, Any]:
        applied = await for_erasure(await worker_container(self.app), scope)
        if applied is None:
            return {"scope": scope, "rewritten": None}
        return {"scope": scope, "rewritten": applied.done, "failed": applied.failed}

    return run_async(go())
