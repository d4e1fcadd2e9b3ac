"""The archive's file tree, ingest, downloads and exports (issue 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.archive import nodes
from api.archive.indexing import PENDING, PENDING_INDEXES
from api.archive.router_export import router as export_router
from api.archive.router_files import router as files_router
from api.archive.router_tree import router as tree_router
from api.config import Settings
from api.container import Container
from api.modules import Module


async def _schema(container: Container) -> None:
    await nodes.ensure_indexes(container.records)
    await container.records.ensure_indexes(PENDING, PENDING_INDEXES)


def _beat(settings: Settings) -> Mapping[str, Mapping[str, Any]]:
    every = settings.jobs.sweep_s
    return {
        # Index documents left pending by a crash between commit and index flush.
        "index-pending": {"task": "index.pending_files", "schedule": 5 * 60.0},
        # Files left processing (or queued without a job) by a crash (api.archive.recovery).
        "ingest-recover": {
            "task": "ingest.recover",
            "schedule": 2 * every,
            "options": {"expires": 2 * every},
        },
        # Objects a crash left between put and commit (api.archive.orphans).
        "archive-orphans": {
            "task": "archive.sweep_orphans",
            "schedule": settings.archive.orphan_grace_hours * 3600,
        },
    }


MODULE = Module(
    "archive",
    routers=(tree_router, export_router, files_router),
    ensure_schema=_schema,
    beat=_beat,
)
