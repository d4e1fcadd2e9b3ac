"""The archive's file tree, ingest, downloads and exports (issue 3)."""

from __future__ import annotations

from api.archive import nodes
from api.archive.indexing import PENDING, PENDING_INDEXES
from api.archive.router_export import router as export_router
from api.archive.router_files import router as files_router
from api.archive.router_tree import router as tree_router
from api.container import Container
from api.modules import Module


async def _schema(container: Container) -> None:
    await nodes.ensure_indexes(container.records)
    await container.records.ensure_indexes(PENDING, PENDING_INDEXES)


MODULE = Module(
    "archive",
    routers=(tree_router, export_router, files_router),
    ensure_schema=_schema,
    beat={
        # Index documents left pending by a crash between commit and index flush.
        "index-pending": {"task": "index.pending_files", "schedule": 5 * 60.0},
    },
)
