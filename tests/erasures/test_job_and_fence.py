"""An erasure by the API is a job, and a scope being erased takes no new data (issue 12 §2
"< 5 s to unreadable (key destruction), the rest in the background"; "Bad input and
faults": nothing kept that should be erased; seed 001 別表3 12(1)(2)).

``POST /erasures/{scope}`` answers 202 once the key is destroyed; the records, index
entries and objects go in the job ``erasures.finish``. Here the job is held back (a queue
that only records what it is sent) so the erasure is seen half-way, as it is while a real
worker runs it: the scope's files are unreadable, the job and the state are visible, the
certificate is refused, and every write into the work's collaboration data is refused with
410 ``erased`` and leaves nothing behind. Then the job runs and the erasure ends clean.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.config import Settings
from api.erasures.service import ErasureService
from api.keys import scopes
from storage.errors import KeyDestroyed
from tests.erasures.support import MARK, collaboration, found, world
from tests.proposals.harness import API, BUILDER, OPERATOR, SUP, TUS, Harness
from tests.support.jobs import RecordingJobs

pytestmark = pytest.mark.anyio

WRITTEN = ("posts", "post_replies", "proposals", "attachments", "schedule_entries", "uploads")


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with world(settings) as the_harness:
        yield the_harness


async def counts(h: Harness) -> dict[str, int]:
    return {name: await h.container.records.count(name, ()) for name in WRITTEN}


def assert_erased_problem(r: Any) -> None:
    assert r.status_code == 410, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "erased"
    assert "消去" in problem["title"]
    assert "新しい登録はできません" in problem["detail"]


async def tus_upload(h: Harness, who: Any, work_id: str, data: bytes) -> Any:
    return await h.send_upload(who, work_id, "追加.txt", data, "text/plain")


async def test_an_erasure_by_the_api_fences_the_scope_and_its_job_finishes_it(h: Harness) -> None:
    c = h.container
    work = await h.work()
    wid = str(work["id"])
    made = await collaboration(h, wid)
    scope = scopes.collab(wid)
    note = f"{scopes.prefix(scope)}note"
    post_id = made["post"]["id"]
    staged = await h.upload(BUILDER, wid, "下書き.txt", b"staged before", "text/plain")

    eager, held = c.jobs, RecordingJobs()
    c.jobs = held  # the job is recorded and "sent", not run: the erasure stays half-way
    try:
        r = await h.call(OPERATOR, "POST", f"{API}/erasures/{scope}", json={"confirm": scope})
        assert r.status_code == 202, r.text
        answer = r.json()
        assert answer["state"] == "key_destroyed"
        assert answer["key_destroyed_at"]
        job_id = answer["erasure"]["job_id"]
        # unreadable from the answer on, though records and objects are still there
        with pytest.raises(KeyDestroyed):
            _ = [x async for x in c.blobs.get(note)]
        assert await c.records.count("posts", ()) >= 2
        # progress: the state and the job
        view = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
        assert view["state"] == "key_destroyed"
        assert view["job"]["id"] == job_id
        assert view["job"]["state"] == "sent"
        cert = await h.call(OPERATOR, "GET", f"{API}/erasures/{scope}/certificate")
        assert cert.status_code == 409
        assert cert.json()["code"] == "not_erased"

        # the write fence: each write into the work's collaboration data is refused, whole
        before = await counts(h)
        post_before = await c.records.get("posts", post_id)
        assert post_before is not None
        post = {"title": "消去中の投稿", "body": "本文", "attachment_ids": [staged]}
        assert_erased_problem(await h.call(BUILDER, "POST", f"{API}/works/{wid}/posts", json=post))
        reply = {"body": "消去中の返信"}
        assert_erased_problem(
            await h.call(SUP, "POST", f"{API}/posts/{post_id}/replies", json=reply)
        )
        assert_erased_problem(await tus_upload(h, BUILDER, wid, b"new file " * 100))
        draft = {"form_id": "koji_uchiawase", "title": "消去中の発議", "values": {}}
        assert_erased_problem(
            await h.call(BUILDER, "POST", f"{API}/works/{wid}/proposals", json=draft)
        )
        entry = {
            "title": "消去中の予定",
            "start": "2026-06-10T09:00",
            "end": "2026-06-10T10:00",
            "work_ids": [wid],
        }
        assert_erased_problem(await h.call(SUP, "POST", f"{API}/schedules/entries", json=entry))
        edit = {"version": post_before["version"], "body": "消去中の改訂"}
        assert_erased_problem(await h.call(BUILDER, "PATCH", f"{API}/posts/{post_id}", json=edit))
        proposal_id = made["proposal"]["id"]
        comment = {"text": "消去中のコメント"}
        assert_erased_problem(
            await h.call(BUILDER, "POST", f"{API}/proposals/{proposal_id}/comments", json=comment)
        )
        assert await counts(h) == before  # nothing half-stored
        assert await c.records.get("posts", post_id) == post_before
        [sent] = held.take("erasures.finish")
        assert sent == {"scope": scope}
        # the hourly beat leaves an erasure whose job is alive to that job (never two at once)
        assert (await ErasureService(c).run_due())["resumed"] == 0
        assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["state"] == "key_destroyed"
    finally:
        c.jobs = eager

    # The job, as a worker runs it (the same send the sweeper would repeat).
    await eager.send("erasures.finish", {"scope": scope}, job_id=job_id)
    view = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert view["state"] == "done", view
    assert view["erasure"]["records"]["posts"] >= 2
    assert await c.records.count("posts", ()) == 0
    assert await c.records.count("proposals", ()) == 0
    assert [k async for k in c.blobs.list(scopes.prefix(scope))] == []
    assert await found(c, MARK) == 0
    cert = await h.call(OPERATOR, "GET", f"{API}/erasures/{scope}/certificate")
    assert cert.status_code == 200
    # erased for good: still refused, and no new key is made for the scope
    r = await h.call(BUILDER, "POST", f"{API}/works/{wid}/posts", json={"title": "後", "body": "x"})
    assert_erased_problem(r)
    assert_erased_problem(await tus_upload(h, BUILDER, wid, b"after"))
    with pytest.raises(KeyDestroyed):
        await c.keys.current(scope)
    record = await c.keys.store.get("key_scopes", scope)
    assert record is not None
    assert record["destroyed_at"]
    # the work's archive scope is not fenced
    archive = scopes.archive(wid)
    assert [k async for k in c.blobs.list(scopes.prefix(archive))]
    assert (await c.keys.current(archive)).scope == archive


async def test_files_are_not_placed_in_a_work_whose_archive_is_erased(h: Harness) -> None:
    """``wa-``: a file upload into the work (form and tus) is refused before any byte is
    stored, and no node appears; the same for an organization's own attachments (``o-``)."""
    from api.keys.erasure import erase

    c = h.container
    work = await h.work()
    wid = str(work["id"])
    await erase(c, scopes.archive(wid), "user:op", "試験")
    nodes = await c.records.count("nodes", ())
    r = await h.call(
        BUILDER,
        "POST",
        f"{API}/works/{wid}/files",
        files=[("file", ("計画.pdf", b"%PDF-1.4 plan", "application/pdf"))],
        data={"folder": "/"},
    )
    assert_erased_problem(r)
    meta = f"filename {base64.b64encode(b'a.pdf').decode()}"
    r = await h.call(
        BUILDER,
        "POST",
        f"{API}/works/{wid}/uploads",
        headers={**TUS, "Upload-Length": "10", "Upload-Metadata": meta},
    )
    assert_erased_problem(r)
    assert await c.records.count("nodes", ()) == nodes
    assert [k async for k in c.blobs.list(scopes.prefix(scopes.archive(wid)))] == []
    # an organization erased: its members' attachments without a work are refused
    await erase(c, scopes.org(str(BUILDER.org_id)), "user:op", "試験")
    meta = f"filename {base64.b64encode(b'b.pdf').decode()}"
    r = await h.call(
        BUILDER,
        "POST",
        f"{API}/attachments/uploads",
        headers={**TUS, "Upload-Length": "10", "Upload-Metadata": meta},
    )
    assert_erased_problem(r)


async def test_the_beat_finishes_an_erasure_whose_job_failed(h: Harness) -> None:
    c = h.container
    work = await h.work()
    wid = str(work["id"])
    await collaboration(h, wid)
    scope = scopes.collab(wid)
    eager, c.jobs = c.jobs, RecordingJobs()
    try:
        r = await h.call(OPERATOR, "POST", f"{API}/erasures/{scope}", json={"confirm": scope})
        assert r.status_code == 202, r.text
    finally:
        c.jobs = eager
    job_id = r.json()["erasure"]["job_id"]
    job = await c.records.get("jobs", job_id)
    assert job is not None
    # past its restarts the sweeper marks it failed; the hourly beat takes it over
    await c.records.update("jobs", job_id, {"state": "failed"}, int(job["version"]))
    view = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert view["job"]["state"] == "failed"
    assert (await ErasureService(c).run_due())["resumed"] == 1
    assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["state"] == "done"
    assert await c.records.count("posts", ()) == 0
