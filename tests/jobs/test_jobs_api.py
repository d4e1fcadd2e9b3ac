"""The jobs API, ``/api/v1/jobs`` (operators): who may see and retry jobs, listing by state,
retrying a failed job (audited), discarding a finished one, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from api.jobs.models import JOBS
from storage.query import Record
from tests.works.harness import AUDITOR, CLERK, MANAGER, NOBODY, OPERATOR, Harness, harness

pytestmark = pytest.mark.anyio
URL = "/api/v1/jobs"


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with harness(settings) as the_harness:
        yield the_harness


async def failed_job(h: Harness, task: str = "system.echo", **kwargs: Any) -> Record:
    """A job that ran (eagerly) and is then marked failed, as the sweeper marks a job whose
    worker died too often."""
    async with h.container.uow() as uow:
        job_id = uow.enqueue(task, **(kwargs or {"n": 1}))
    job = await h.container.records.get(JOBS, job_id)
    assert job is not None
    changes = {"state": "failed", "last_error": "作業プロセスが停止しました。", "due_at": None}
    return await h.container.records.update(JOBS, job_id, changes, int(job["version"]))


@pytest.mark.parametrize(
    ("subject", "status"),
    [(None, 401), (NOBODY, 403), (CLERK, 403), (MANAGER, 403), (AUDITOR, 403), (OPERATOR, 200)],
)
async def test_only_operators_see_and_act_on_jobs(h: Harness, subject: Any, status: int) -> None:
    job = await failed_job(h)
    assert (await h.call(subject, "GET", URL)).status_code == status
    assert (await h.call(subject, "GET", f"{URL}/summary")).status_code == status
    assert (await h.call(subject, "GET", f"{URL}/{job['id']}")).status_code == status
    retried = await h.call(subject, "POST", f"{URL}/{job['id']}/retry")
    assert retried.status_code == (202 if status == 200 else status)
    assert len(await h.events("jobs.retried")) == (1 if status == 200 else 0)
    discarded = await h.call(subject, "DELETE", f"{URL}/{job['id']}")
    assert discarded.status_code == (204 if status == 200 else status)
    assert len(await h.events("jobs.discarded")) == (1 if status == 200 else 0)


async def test_list_by_state_newest_first_and_summary(h: Harness) -> None:
    first = await failed_job(h, n=1)
    second = await failed_job(h, n=2)
    async with h.container.uow() as uow:
        done_id = uow.enqueue("system.echo", n=3)
    body = (await h.call(OPERATOR, "GET", URL, params={"state": "failed"})).json()
    assert [j["id"] for j in body["items"]] == [second["id"], first["id"]]
    item = body["items"][0]
    assert item["task"] == "system.echo"
    assert item["arguments"] == {"n": 2}
    assert item["last_error"] == "作業プロセスが停止しました。"
    done = (await h.call(OPERATOR, "GET", URL, params={"state": "done"})).json()
    assert [j["id"] for j in done["items"]] == [done_id]
    page = (await h.call(OPERATOR, "GET", URL, params={"limit": 2})).json()
    assert len(page["items"]) == 2
    rest = (await h.call(OPERATOR, "GET", URL, params={"cursor": page["next_cursor"]})).json()
    assert [j["id"] for j in rest["items"]] == [first["id"]]
    summary = (await h.call(OPERATOR, "GET", f"{URL}/summary")).json()
    assert summary["counts"]["failed"] == 2
    assert summary["counts"]["done"] == 1
    assert summary["overdue"] == 0


async def test_retry_runs_a_failed_job_again(h: Harness) -> None:
    job = await failed_job(h, n=7)
    resp = await h.call(OPERATOR, "POST", f"{URL}/{job['id']}/retry")
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["state"] == "done"  # eager jobs: it ran again before the answer
    assert body["attempts"] == 2
    [event] = await h.events("jobs.retried")
    assert event["target"] == f"jobs/{job['id']}"
    again = await h.call(OPERATOR, "POST", f"{URL}/{job['id']}/retry")
    assert again.status_code == 409
    assert again.json()["code"] == "job_not_retryable"


async def test_discard_only_finished_jobs(h: Harness) -> None:
    job = await failed_job(h)
    records = h.container.records
    running = await records.update(JOBS, str(job["id"]), {"state": "running"}, job["version"])
    resp = await h.call(OPERATOR, "DELETE", f"{URL}/{job['id']}")
    assert resp.status_code == 409
    assert resp.json()["code"] == "job_not_discardable"
    await records.update(JOBS, str(job["id"]), {"state": "failed"}, running["version"])
    assert (await h.call(OPERATOR, "DELETE", f"{URL}/{job['id']}")).status_code == 204
    assert await records.get(JOBS, str(job["id"])) is None
    assert (await h.call(OPERATOR, "GET", f"{URL}/{job['id']}")).status_code == 404


@pytest.mark.parametrize(
    "params", [{"state": "lost"}, {"limit": 0}, {"limit": 501}, {"nope": "1"}, {"task": "a\x00"}]
)
async def test_bad_params(h: Harness, params: dict[str, Any]) -> None:
    resp = await h.call(OPERATOR, "GET", URL, params=params)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_unknown_job_is_404(h: Harness) -> None:
    for method, suffix in (("GET", ""), ("POST", "/retry"), ("DELETE", "")):
        resp = await h.call(OPERATOR, method, f"{URL}/01J0000000000000000000000Z{suffix}")
        assert resp.status_code == 404
        resp = await h.call(OPERATOR, method, f"{URL}/not-an-id{suffix}")
        assert resp.status_code == 404
