"""Files left ``processing`` (or ``queued`` without a job) by a crashed worker are found and
queued again by ``ingest.recover``, up to ``jobs.max_restarts``, then marked ``failed`` with a
reason (issue 7 item 19). Embedded backends, eager jobs: a re-queued file is ingested at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api import consistency
from api.app import create_app
from api.archive.models import NODES
from api.archive.nodes import NodeService
from api.archive.recovery import recover_stuck
from api.config import Settings
from api.container import Container
from api.deps import optional_subject
from api.jobs.models import JOBS
from api.kit.clock import to_iso
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from api.works.indexing import work_to_doc
from storage.query import Eq, Query, Record
from tests.archive.harness_tree import place_file

pytestmark = pytest.mark.anyio
OPERATOR = Subject(new_id(), "admin", new_id(), OrgKind.OPERATOR)
WORK_ID = new_id()


@pytest.fixture
async def c(settings: Settings) -> AsyncIterator[Container]:
    container = Container(settings)
    await container.open()
    try:
        yield container
    finally:
        await container.close()


async def ingested_file(c: Container, name: str = "a.txt") -> Record:
    svc = NodeService(c)
    work = await c.records.get("works", WORK_ID)
    if work is None:
        work = await c.records.insert(
            "works", {"id": WORK_ID, "title": "道路改良工事", "status": "in_progress", "acl": []}
        )
        await c.index.upsert([work_to_doc(work)])
        await c.index.refresh()
    node = await place_file(svc, OPERATOR, work, "/", name, f"{name} 本文".encode())
    fresh = await c.records.get(NODES, str(node["id"]))
    assert fresh is not None
    assert fresh["ingest"]["state"] == "done"
    return fresh


async def cut_off(c: Container, node: Record, state: str = "processing", **ingest: Any) -> Record:
    """What a worker killed mid-ingest leaves: the node ``processing`` since long ago."""
    long_ago = to_iso(c.clock.now() - timedelta(hours=1))
    changes: dict[str, Any] = {
        "ingest": {
            **node["ingest"],
            "state": state,
            "started_at": long_ago,
            "sha256": None,
            **ingest,
        }
    }
    if state == "queued":
        changes["updated_at"] = long_ago
    return await c.records.update(NODES, str(node["id"]), changes, int(node["version"]))


async def node_of(c: Container, node: Record) -> Record:
    fresh = await c.records.get(NODES, str(node["id"]))
    assert fresh is not None
    return fresh


async def ingest_jobs(c: Container, node: Record) -> list[Record]:
    query = Query(where=(Eq("kwargs.node_id", node["id"]),), sort=(("id", 1),), limit=100)
    return (await c.records.find(JOBS, query)).items


async def test_file_left_processing_is_queued_again_and_ingested(c: Container) -> None:
    node = await cut_off(c, await ingested_file(c))
    report = await recover_stuck(c)
    assert (report.requeued, report.failed) == (1, 0)
    fresh = await node_of(c, node)
    assert fresh["ingest"]["state"] == "done"  # eager: the new job ran
    assert fresh["ingest"]["recovered"] == 1
    assert [j["state"] for j in await ingest_jobs(c, node)] == ["done", "done"]
    assert (await recover_stuck(c)).requeued == 0  # idempotent
    assert (await consistency.check(c)).clean


async def test_file_queued_without_a_job_is_queued_again(c: Container) -> None:
    """A file whose job was lost before the outbox existed stays ``queued`` for ever."""
    node = await cut_off(c, await ingested_file(c), state="queued")
    assert (await recover_stuck(c)).requeued == 1
    assert (await node_of(c, node))["ingest"]["state"] == "done"


async def test_file_with_a_live_job_belongs_to_the_job_sweeper(c: Container) -> None:
    node = await cut_off(c, await ingested_file(c))
    now = to_iso(c.clock.now())
    await c.records.insert(
        JOBS,
        {
            "id": new_id(),
            "task": "ingest.file",
            "kwargs": {"node_id": node["id"]},
            "state": "running",
            "due_at": now,
            "created_at": now,
            "updated_at": now,
        },
    )
    assert (await recover_stuck(c)).requeued == 0
    assert (await node_of(c, node))["ingest"]["state"] == "processing"


async def test_recently_started_file_is_left_alone(c: Container) -> None:
    node = await ingested_file(c)
    just_now = to_iso(c.clock.now() - timedelta(seconds=5))
    ingest = {**node["ingest"], "state": "processing", "started_at": just_now}
    await c.records.update(NODES, str(node["id"]), {"ingest": ingest}, int(node["version"]))
    assert (await recover_stuck(c)).requeued == 0


async def test_after_the_limit_the_file_fails_with_a_reason(c: Container) -> None:
    limit = c.settings.jobs.max_restarts
    node = await cut_off(c, await ingested_file(c), recovered=limit)
    report = await recover_stuck(c)
    assert (report.requeued, report.failed) == (0, 1)
    fresh = await node_of(c, node)
    assert fresh["ingest"]["state"] == "failed"
    assert "再取り込みしてください" in fresh["ingest"]["reason"]
    assert (await consistency.check(c)).clean  # the index shows the failed state
    assert (await recover_stuck(c)).failed == 0  # failed is final until a reingest


async def test_file_whose_last_job_failed_fails_at_once(c: Container) -> None:
    node = await cut_off(c, await ingested_file(c))
    [job] = await ingest_jobs(c, node)
    await c.records.update(JOBS, str(job["id"]), {"state": "failed"}, int(job["version"]))
    assert (await recover_stuck(c)).failed == 1
    assert (await node_of(c, node))["ingest"]["state"] == "failed"


async def test_reingest_after_the_limit_starts_a_fresh_count(c: Container) -> None:
    limit = c.settings.jobs.max_restarts
    node = await cut_off(c, await ingested_file(c), recovered=limit)
    await recover_stuck(c)
    app = create_app(container=c)
    app.dependency_overrides[optional_subject] = lambda: OPERATOR
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
        resp = await client.post(f"/api/v1/files/{node['id']}/reingest")
    assert resp.status_code == 202, resp.text
    fresh = await node_of(c, node)
    assert fresh["ingest"]["state"] == "done"
    assert fresh["ingest"]["recovered"] == 0
    # Cut off again: recovered once more instead of failing at once.
    await cut_off(c, fresh)
    assert (await recover_stuck(c)).requeued == 1
