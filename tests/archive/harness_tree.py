"""API harness for the tree, download and export tests: the works harness's subjects and
seed, on the app exactly as ``create_app`` builds it (a router dropped from the app fails
these tests), on the embedded backends. Files are placed through ``NodeService.add_file`` as
the operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.app import API_PREFIX, create_app
from api.archive.cas import upload_key
from api.archive.nodes import NodeService, ensure_indexes
from api.config import Settings
from api.container import Container
from api.keys import scopes
from api.permissions.policy import Subject
from tests.support.streams import chunks
from tests.works.harness import CLERK, OPERATOR, Harness, seed, serve


async def place_file(
    nodes: NodeService,
    subject: Subject,
    work: dict[str, Any],
    folder: str,
    name: str,
    data: bytes,
    **kw: Any,
) -> dict[str, Any]:
    """Store ``data`` as a new object of the work's archive scope (or ``scope=``) and add it
    as ``folder/name`` in one unit of work (with eager jobs, its ingest has run when this
    returns)."""
    container = nodes.container
    scope = kw.pop("scope", None) or scopes.archive(str(work["id"]))
    async with container.uow() as uow:
        info = await container.blobs.put(upload_key(scope), chunks(data))
        return await nodes.add_file(subject, work, folder, name, info, uow=uow, scope=scope, **kw)


class ArchiveHarness(Harness):
    work: dict[str, Any]

    @property
    def nodes(self) -> NodeService:
        return NodeService(self.container)

    async def add(self, folder: str, name: str, data: bytes, **kw: Any) -> dict[str, Any]:
        return await place_file(self.nodes, OPERATOR, self.work, folder, name, data, **kw)

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
        async with serve(container, create_app(container=container), ArchiveHarness) as h:
            h.work = await h.create(CLERK)
            yield h
    finally:
        await container.close()
