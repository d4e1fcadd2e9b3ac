"""Document folders (書類管理, seed 001 別表1-1 5, 6; §3-4): folder routes, the document list,
standard folder sets per kind of work, decided proposals filed as documents."""

from __future__ import annotations

from api.archive.models import NODES
from api.container import Container
from api.folders.documents import DOC_INDEXES
from api.folders.permissions import FolderRules
from api.folders.router import router
from api.folders.router_documents import router as documents_router
from api.folders.service import FOLDER_STATE
from api.modules import Module
from api.works.lifecycle import register_work_records


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(NODES, DOC_INDEXES)


# A disposed work takes its folder state with it.
register_work_records(FOLDER_STATE)

MODULE = Module(
    "folders",
    routers=(router, documents_router),
    ensure_schema=_schema,
    rules={"folders": FolderRules()},
)
