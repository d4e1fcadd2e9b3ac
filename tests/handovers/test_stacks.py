"""The document list and the hand-over round trip on both stacks: the embedded one and the real
servers (MongoDB wire, S3, Elasticsearch API; ``scripts/test-services``), so the nested-field
filters and sorts of the list (書類種別, 登録日), the ZIP kept in S3, its import into the
archive and the erasure of the collaboration copy (records, blobs, search documents) behave the
same on each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.handovers.service import HandoverService
from api.kit.clock import FixedClock
from api.workflow.dates import JST
from indexer.query import SearchQuery
from tests.handovers.support import complete, generate, ready_work
from tests.integration.conftest import Stack, real_env
from tests.proposals.harness import START, SUP, VIEWER, Harness, harness, seed
from tests.works.harness import serve
from workers.celery_app import run_async, set_container

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.servers)])
async def h(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[Harness]:
    if request.param == "embedded":
        async with harness(settings) as the_harness:
            yield the_harness
        return
    # The real stack: eager jobs get a container opened on the worker runtime's loop (a
    # MongoDB client belongs to the loop that made it), on the same servers and clock.
    real = Stack("real", real_env(tmp_path / "real")).settings()
    clock = FixedClock(START)

    async def open_worker_side() -> Container:
        worker = Container(real, clock=clock)
        await worker.open()
        return worker

    worker = await asyncio.to_thread(run_async, open_worker_side())
    set_container(worker)
    container = Container(real, clock=clock)
    await container.open()
    try:
        await seed(container)
        async with serve(container, create_app(container=container), Harness) as the_harness:
            the_harness.clock = clock
            yield the_harness
    finally:
        set_container(None)
        await asyncio.to_thread(run_async, worker.close())
        await container.close()


async def test_list_and_round_trip_on_each_stack(h: Harness) -> None:
    work = await ready_work(h)
    wid = work["id"]
    listed = await h.ok(VIEWER, "GET", f"/works/{wid}/documents?sort=type&order=desc")
    types = [d["doc_type"] for d in listed["items"]]
    assert types == sorted(types, reverse=True)
    assert "工事写真" in types
    photos = await h.ok(
        VIEWER,
        "GET",
        f"/works/{wid}/documents?doc_type=工事写真&date_from=2026-06-08&date_to=2026-06-08",
    )
    assert len(photos["items"]) == 3
    package = await generate(h, wid)
    assert package["blocking"] == 0, (package["findings"], package["notes"])
    done = await complete(h, wid)
    await h.ok(
        SUP,
        "POST",
        f"/works/{wid}/handover/transfer",
        202,
        json={"package_id": package["id"], "version": done["version"]},
    )
    record = await HandoverService(h.container).record(wid)
    assert record is not None
    assert record["state"] == "transferred", record
    check = await h.container.records.get("deliverables", record["deliverable_id"])
    assert check is not None
    assert check["report"]["counts"]["E"] == 0
    # §3-6: on the erasure date the collaboration copy goes, on these servers too; the
    # archive keeps the package, and the search index forgets what was erased.
    erasure_on = date.fromisoformat(str(record["erasure_on"]))
    h.clock.advance(days=(erasure_on - h.clock.now().astimezone(JST).date()).days)
    counts = await HandoverService(h.container).run_due()
    assert counts["erased"] == 1, counts
    left = [n async for n in h.container.records.scan("nodes", ()) if n["work_id"] == wid]
    assert left
    assert all(str(n["path"]).startswith("/電子成果品") for n in left)
    assert await h.container.records.count("proposals", ()) == 0
    await h.container.index.refresh()
    found = await h.container.index.search(
        SearchQuery(types=("file",), filters={"work_id": (wid,)}, acl=None, limit=200)
    )
    assert found.hits
    assert all(str(hit.doc.get("path")).startswith("/電子成果品") for hit in found.hits)
