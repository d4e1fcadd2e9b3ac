"""Eager mode (``KURA_JOBS__EAGER``, unit tests) keeps working with the outbox: a job recorded by
a unit of work runs in-process after commit and its record shows the outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.archive.models import NODES
from api.archive.nodes import NodeService
from api.config import Settings
from api.container import Container
from api.jobs.models import JOBS
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from storage.query import Eq, Query, Record
from tests.archive.harness_tree import place_file

pytestmark = pytest.mark.anyio
OPERATOR = Subject(new_id(), "admin", new_id(), OrgKind.OPERATOR)


@pytest.fixture
async def c(settings: Settings) -> AsyncIterator[Container]:
    assert settings.jobs.eager
    container = Container(settings)
    await container.open()
    try:
        yield container
    finally:
        await container.close()


async def jobs_of(c: Container, task: str) -> list[Record]:
    return (await c.records.find(JOBS, Query(where=(Eq("task", task),), limit=100))).items


async def test_ingest_job_runs_eagerly_and_ends_done(c: Container) -> None:
    svc = NodeService(c)
    work = await c.records.insert("works", {"id": new_id(), "title": "工事", "acl": []})
    node = await place_file(svc, OPERATOR, work, "/", "a.txt", "本文".encode())
    fresh = await c.records.get(NODES, str(node["id"]))
    assert fresh is not None
    assert fresh["ingest"]["state"] == "done"
    [job] = await jobs_of(c, "ingest.file")
    assert job["kwargs"] == {"node_id": node["id"]}
    assert (job["state"], job["attempts"], job["restarts"]) == ("done", 1, 0)
    assert job["started_at"] <= job["finished_at"]


async def test_a_failing_task_leaves_a_failed_job_with_its_error(c: Container) -> None:
    async with c.uow() as uow:
        job_id = uow.enqueue("deliverables.import_zip", node_id=new_id(), on_conflict="nope")
    job = await c.records.get(JOBS, job_id)
    assert job is not None
    assert job["state"] == "failed"
    assert job["last_error"].startswith("ValueError: on_conflict must be")


async def test_untracked_enqueue_writes_no_job_record(c: Container) -> None:
    task_id = await c.jobs.enqueue("system.echo", x=1)
    assert await c.jobs.result(task_id) == {"x": 1}  # type: ignore[attr-defined]
    assert await c.records.count(JOBS) == 0
