"""API harness for the tree, download and export tests: the works harness's subjects and
seed, plus the archive routers, on the embedded backends. Files are placed through
``NodeService.add_file`` as the operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.app import API_PREFIX, create_app
from api.archive.nodes import NodeService, ensure_indexes
from api.archive.router_export import router as export_router
from api.archive.router_tree import router as tree_router
from api.config import Settings
from api.container import Container
from api.deps import optional_subject
from api.kit.ids import new_id
from api.permissions.policy import Subject
from tests.works.harness import CLERK, OPERATOR, Harness, Who, seed


class ArchiveHarness(Harness):
    work: dict[str, Any]

    @property
    def nodes(self) -> NodeService:
        return NodeService(self.container)

    async def add(self, folder: str, name: str, data: bytes, **kw: Any) -> dict[str, Any]:
        svc = self.nodes

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        async with self.container.uow() as uow:
            info = await self.container.blobs.put(f"objects/t/{new_id()}", chunks())
            return await svc.add_file(OPERATOR, self.work, folder, name, info, uow=uow, **kw)

    async def folder(self, path: str) -> dict[str, Any]:
        return await self.nodes.make_folder(OPERATOR, str(self.work["id"]), path)

    async def as_(
        self, subject: Subject | None, method: str, url: str, **kw: Any
    ) -> httpx.Response:
        return await self.call(subject, method, API_PREFIX + url, **kw)


@asynccontextmanager
async def archive_harness(settings: Settings) -> AsyncIterator[ArchiveHarness]:
    container = Container(settings)
    await container.open()
    try:
        await seed(container)
        await ensure_indexes(container.records)
        app = create_app(container=container)
        app.include_router(tree_router, prefix=API_PREFIX)
        app.include_router(export_router, prefix=API_PREFIX)
        who = Who()

        async def as_who() -> Subject | None:
            return who.subject

        app.dependency_overrides[optional_subject] = as_who
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
            h = ArchiveHarness(container, client, who)
            h.work = await h.create(CLERK)
            yield h
    finally:
        await container.close()
