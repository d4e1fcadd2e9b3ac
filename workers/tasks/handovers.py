"""Hand-over tasks: generate a 電子納品 package, transfer a work to the archive, erase the
collaboration copies whose day has come."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("handovers.generate", bind=True, **RETRYING)
def generate(self: Any, package_id: str) -> str:
    """Build, write and check package ``package_id`` (seed 001 §4). Idempotent: a finished
    package is left as it is; a failure is recorded on the package."""
    from api.handovers.packages import run

    async def go() -> str:
        container = await worker_container(self.app)
        record = await run(container, package_id)
        return str((record or {}).get("state"))

    return run_async(go())


@task("handovers.transfer", bind=True, **RETRYING)
def transfer(self: Any, work_id: str) -> str:
    """Import the chosen package into the archive, check it there, move the work to the
    archive and set the erasure date (seed 000). Only a queued transfer runs."""
    from api.handovers.service import HandoverService

    async def go() -> str:
        container = await worker_container(self.app)
        record = await HandoverService(container).run_transfer(work_id)
        return str((record or {}).get("state"))

    return run_async(go())


@task("handovers.erase_due", bind=True, **RETRYING)
def erase_due(self: Any) -> dict[str, int]:
    """Remind the supervisors before, and erase on the day, the collaboration copies whose
    erasure date has come (seed 001 §3-6, 別表3 12). Hourly; each step once per day."""
    from api.handovers.service import HandoverService

    async def go() -> dict[str, int]:
        container = await worker_container(self.app)
        return await HandoverService(container).run_due()

    return run_async(go())
