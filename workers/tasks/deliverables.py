"""Deliverable package tasks: unpack an uploaded ZIP into the work's folder tree."""

from __future__ import annotations

from typing import Any

from workers.celery_app import run_async, worker_container
from workers.tasks import RETRYING, task


@task("deliverables.import_zip", bind=True, **RETRYING)
def import_zip(
    self: Any, node_id: str, on_conflict: str = "rename", import_id: str | None = None
) -> dict[str, Any]:
    """Unpack the ZIP file node ``node_id`` next to it (a folder named after the ZIP, or the
    ZIP's own folder when the ZIP holds one top folder of that name or with INDEX_C.XML /
    INDEX_D.XML), then run the 電子納品 check. ``import_id`` is the ``imports`` record the
    upload queued; every outcome is kept there (state, reason, counts, findings). Bad input
    returns ``state`` "rejected"/"failed" with findings and stores nothing. Idempotent: a
    re-run skips files already present with the same SHA-256."""
    from api.deliverables.zipimport import import_zip_node

    if on_conflict not in ("rename", "replace", "error"):
        raise ValueError(f"on_conflict must be rename|replace|error, got {on_conflict!r}")

    async def run() -> dict[str, Any]:
        container = await worker_container(self.app)
        return await import_zip_node(
            container,
            node_id,
            on_conflict=on_conflict,  # type: ignore[arg-type]
            import_id=import_id,
            last_attempt=self.request.retries >= self.max_retries,
        )

    return run_async(run())
