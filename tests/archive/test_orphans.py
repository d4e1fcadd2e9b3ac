"""Objects written but never committed (a crash between put and commit) are deleted once older
than the grace; everything a record or an open upload names stays (issue 7 item 13: after a
kill -9 ``kura check`` is clean again without a hand)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any

import pytest

from api import consistency
from api.archive.cas import ContentStore, upload_key
from api.archive.models import UPLOADS, blob_id
from api.archive.nodes import NodeService
from api.archive.orphans import sweep_orphans
from api.config import Settings
from api.container import Container
from api.keys import scopes
from api.kit.clock import FixedClock, SystemClock
from api.kit.ids import new_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import OrgKind, Subject
from api.works.indexing import work_to_doc
from tests.archive.harness_tree import place_file
from tests.support.streams import chunks

pytestmark = pytest.mark.anyio
OPERATOR = Subject(new_id(), "admin", new_id(), OrgKind.OPERATOR)


@pytest.fixture
async def c(settings: Settings) -> AsyncIterator[Container]:
    container = Container(settings, clock=FixedClock(SystemClock().now()))
    await container.open()
    try:
        yield container
    finally:
        await container.close()


async def put(c: Container, key: str, data: bytes = b"x") -> str:
    await c.blobs.put(key, chunks(data))
    return key


async def keys(c: Container) -> set[str]:
    return {info.key async for info in c.blobs.list("s/") if "/objects/" in info.key}


async def test_orphans_go_after_the_grace_and_nothing_else(c: Container) -> None:
    work = await c.records.insert("works", {"id": new_id(), "title": "工事", "acl": []})
    await c.index.upsert([work_to_doc(work)])
    await c.index.refresh()
    node = await place_file(NodeService(c), OPERATOR, work, "/", "a.txt", b"kept")
    blob = await c.records.get("blobs", blob_id(scopes.archive(work["id"]), str(node["sha256"])))
    assert blob is not None
    scope = scopes.archive(work["id"])
    orphan = await put(c, upload_key(scope))  # the crash: put, never committed
    arriving = await put(c, upload_key(scope))  # an open upload's bytes (not committed either)
    await c.records.insert(UPLOADS, {"id": new_id(), "state": "open", "key": arriving})
    foreign = await put(c, f"s/{scope}/objects/zz/not-an-id")
    before = await consistency.check(c)
    assert before.counts["orphaned_blob"] == 3

    assert (await sweep_orphans(c)).deleted == 0  # younger than the grace: maybe in flight
    assert isinstance(c.clock, FixedClock)
    c.clock.advance(hours=c.settings.archive.orphan_grace_hours + 0.1)
    report = await sweep_orphans(c)
    assert (report.checked, report.deleted) == (4, 1)
    assert await keys(c) == {blob["key"], arriving, foreign}
    assert orphan not in await keys(c)
    assert (await sweep_orphans(c, grace=timedelta(0))).deleted == 0  # idempotent


async def test_a_redundant_copy_goes_after_the_answer_or_with_the_sweep(
    c: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 §1 "Content addressing stays, within a scope" (identical content is stored once
    per scope): the new copy of content its scope holds already is deleted after the commit
    without the caller waiting for it (``UnitOfWork.after_commit(..., background=True)``
    through ``Container.spawn``); if the process stops first, the orphan sweep deletes it."""
    scope = scopes.archive(new_id())
    cas = ContentStore(c.records, c.blobs, c.clock)

    async def adopt(uow: UnitOfWork) -> tuple[str, dict[str, Any]]:
        info = await c.blobs.put(upload_key(scope), chunks(b"same bytes"))
        async with uow:
            return info.key, await cas.adopt(scope, info, uow)

    kept, first = await adopt(c.uow())
    assert first["refs"] == 1
    gate = asyncio.Event()
    delete = c.blobs.delete

    async def held(key: str) -> None:
        await gate.wait()
        await delete(key)

    monkeypatch.setattr(c.blobs, "delete", held)
    # In line, the held delete would keep the unit from returning.
    redundant, second = await asyncio.wait_for(adopt(c.uow()), timeout=10)
    assert second["refs"] == 2
    assert await keys(c) == {kept, redundant}  # still there: deleted after the answer
    gate.set()
    await c.settle()
    assert await keys(c) == {kept}

    def stopped(work: Coroutine[Any, Any, None]) -> None:
        work.close()  # the process stopped before the background clean-up ran

    lost, third = await adopt(UnitOfWork(c.records, c.index, c.ledger, stopped))
    assert third["refs"] == 3
    assert await keys(c) == {kept, lost}
    assert isinstance(c.clock, FixedClock)
    c.clock.advance(hours=c.settings.archive.orphan_grace_hours + 0.1)
    assert (await sweep_orphans(c)).deleted == 1
    assert await keys(c) == {kept}
    blob = await c.records.get("blobs", blob_id(scope, str(first["sha256"])))
    assert blob is not None
    assert blob["key"] == kept
