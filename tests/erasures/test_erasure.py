"""Erasure that leaves nothing behind (issue 12 §1 last bullet, §2; seed 001 §3-6: 契約終了後、
情報共有システム上の全てのデータを消去; 別表3 12(1) 自動あるいは、手動によりデータを削除,
12(2) 削除したデータは再現できない; seed 003 受託者向け情報セキュリティ遵守事項 3(3): データの
消去又は暗号鍵を削除する等の対応により … 復元困難となる措置).

A work's collaboration scope erased by an operator by hand: its key, its records (board,
proposals, attachments, notifications, mails, schedules), its search documents (embedded
index, and Elasticsearch with the real servers) and its objects are gone; the audit events
stay and carry no erased content; the SQLite file holds none of it either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

import api.erasures.records as erasure_records
from api.config import Settings
from api.erasures.service import ErasureService, finish_erasure
from api.keys import scopes
from storage.errors import KeyDestroyed
from tests.erasures.support import (
    MARK,
    audit_mentions,
    collaboration,
    database_holds,
    found,
    index_settings,
    world,
)
from tests.proposals.harness import API, BUILDER, MANAGER, OPERATOR, STRANGER, SUP, Harness
from tests.support.jobs import RecordingJobs

pytestmark = pytest.mark.anyio

COLLAB_COLLECTIONS = (
    "posts",
    "post_replies",
    "post_revisions",
    "post_unread",
    "proposals",
    "proposal_revisions",
    "proposal_texts",
    "workflow_events",
    "attachments",
)


@pytest.fixture(params=["tantivy", pytest.param("elasticsearch", marks=pytest.mark.servers)])
async def h(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async with world(index_settings(settings, request.param)) as the_harness:
        yield the_harness


async def erase(h: Harness, scope: str, who: Any = OPERATOR, status: int = 202, **body: Any) -> Any:
    """POST the erasure: 202 once the key is destroyed; then its job ``erasures.finish`` runs
    (here, on the test's own loop: eager jobs run on another one, which the Elasticsearch
    client refuses) and the state is returned as GET shows it."""
    c = h.container
    eager, held = c.jobs, RecordingJobs()
    c.jobs = held
    try:
        r = await h.call(
            who, "POST", f"{API}/erasures/{scope}", json={"confirm": scope, "reason": "試験"} | body
        )
    finally:
        c.jobs = eager
    assert r.status_code == status, r.text
    if status != 202:
        return r.json()
    answer = r.json()
    assert answer["state"] in ("key_destroyed", "done"), answer
    assert answer["key_destroyed_at"], answer
    for job in held.take("erasures.finish"):
        await finish_erasure(c, job["scope"])
    return await h.ok(who, "GET", f"/erasures/{scope}")


async def count_of(h: Harness, work_id: str) -> dict[str, int]:
    counts = {}
    for name in COLLAB_COLLECTIONS:
        counts[name] = len(
            [
                r
                async for r in h.container.records.scan(name, ())
                if r.get("work_id") in (work_id, None)
            ]
        )
    return counts


async def test_erasing_a_works_collaboration_leaves_nothing_behind(h: Harness) -> None:
    work = await h.work()
    wid = str(work["id"])
    await collaboration(h, wid)
    scope = scopes.collab(wid)
    c = h.container
    before = await count_of(h, wid)
    assert all(before[n] for n in ("posts", "post_replies", "proposals", "attachments")), before
    assert await found(c) > 0
    assert await found(c, work_id=wid) > 0
    held = [k async for k in c.blobs.list(scopes.prefix(scope))]
    assert len(held) > 1  # the test's own object, the attachments' and files' content

    done = await erase(h, scope)
    assert done["state"] == "done", done
    record = done["erasure"]
    assert record["records"]["posts"] >= 2, record
    assert record["records"]["proposals"] == 1, record
    # every object counts, also the content the records' erasure released itself
    assert record["objects"] == len(held)

    # records: none of the scope's collections holds anything of the work
    after = await count_of(h, wid)
    assert not any(after.values()), after
    notes = [n async for n in c.records.scan("notifications", ()) if n.get("work_id") == wid]
    assert notes == []
    mails = [m async for m in c.records.scan("mails", ()) if m.get("work_id") == wid]
    assert mails == []
    # the index: the text is found nowhere, and no document of the work is left but the work's
    assert await found(c) == 0
    assert await found(c, "秘匿") == 0
    assert await found(c, text="", work_id=wid) == 1  # the work itself (its record stays)
    # objects: none under the scope, and the key is gone
    assert [k async for k in c.blobs.list(scopes.prefix(scope))] == []
    with pytest.raises(KeyDestroyed):
        await c.keys.current(scope)
    # the archive scope of the same work is untouched
    assert [k async for k in c.blobs.list(scopes.prefix(scopes.archive(wid)))]
    # audit events stay (the proof) and hold no erased content
    assert await audit_mentions(c) == []
    [event] = [
        e async for e in c.records.scan("audit_events", ()) if e["action"] == "keys.destroyed"
    ]
    assert event["detail"]["records"]["posts"] >= 2
    # the database file itself: deleted rows overwritten, the WAL truncated
    if c.settings.records.backend == "sqlite":
        assert database_holds(c.settings.sqlite_path) == []
    # the certificate (別表3 12(2)): downloadable, naming the scope and the records erased
    r = await h.call(OPERATOR, "GET", f"{API}/erasures/{scope}/certificate")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(r.content)).pages)
    for words in ("データ消去証明書", scope, "削除した記録数"):
        assert words in text
    # idempotent: erasing again changes nothing and still answers done
    again = await erase(h, scope)
    assert again["state"] == "done"


async def test_only_operators_erase_by_hand(h: Harness) -> None:
    """Every endpoint: anonymous 401, another organization 404, a member without the right
    403, the operator allowed (別表3 12(1) 手動により削除: the operator's act)."""
    work = await h.work()
    wid = str(work["id"])
    scope = scopes.collab(wid)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/erasures/{scope}", None),
        ("PUT", f"/erasures/{scope}/schedule", {"due_on": "2026-12-01"}),
        ("DELETE", f"/erasures/{scope}/schedule", None),
        ("POST", f"/erasures/{scope}", {"confirm": scope}),
        ("GET", f"/erasures/{scope}/certificate", None),
    ]
    for method, url, body in calls:
        for who, status in ((None, 401), (STRANGER, 404), (SUP, 403), (MANAGER, 403)):
            r = await h.call(who, method, API + url, json=body)
            assert r.status_code == status, (method, url, who and who.login_id, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
    assert (await h.call(None, "GET", f"{API}/erasures")).status_code == 401
    assert (await h.call(SUP, "GET", f"{API}/erasures")).status_code == 403
    # another organization's scope is not found by non-operators; unknown scopes are 404
    org_scope = scopes.org(str(STRANGER.org_id))
    assert (await h.call(SUP, "GET", f"{API}/erasures/{org_scope}")).status_code == 404
    assert (await h.call(STRANGER, "GET", f"{API}/erasures/{org_scope}")).status_code == 403
    assert (await h.call(OPERATOR, "GET", f"{API}/erasures/wc-nosuchwork")).status_code == 404
    assert (await h.call(OPERATOR, "GET", f"{API}/erasures/not-a-scope")).status_code == 404
    # the operator: a wrong confirmation is refused in Japanese, nothing erased
    wrong = await erase(h, scope, confirm="wc-other", status=400)
    assert "そのまま入力" in wrong["detail"]
    assert await h.container.keys.destroyed(scope) is None
    # the operator schedules, reads, withdraws, erases, downloads the certificate
    planned = await h.ok(
        OPERATOR, "PUT", f"/erasures/{scope}/schedule", json={"due_on": "2026-12-01"}
    )
    assert planned["state"] == "scheduled"
    assert planned["erasure"]["due_on"] == "2026-12-01"
    listed = await h.ok(OPERATOR, "GET", "/erasures")
    assert [i["scope"] for i in listed["items"]] == [scope]
    r = await h.call(OPERATOR, "GET", f"{API}/erasures/{scope}/certificate")
    assert r.status_code == 409
    assert r.json()["code"] == "not_erased"
    await h.ok(OPERATOR, "DELETE", f"/erasures/{scope}/schedule", 204)
    assert (await h.ok(OPERATOR, "GET", f"/erasures/{scope}"))["state"] == "none"
    assert (await erase(h, scope))["state"] == "done"


async def test_a_scope_under_legal_hold_is_refused_and_kept(h: Harness) -> None:
    """Issue 12 "Bad input": erasing a scope under legal hold is refused (409 problem+json,
    Japanese), nothing touched; released, it erases."""
    work = await h.work()
    wid = str(work["id"])
    await collaboration(h, wid)
    await h.ok(OPERATOR, "POST", f"/works/{wid}/legal-hold", json={"reason": "訴訟対応"})
    for scope in (scopes.collab(wid), scopes.archive(wid), scopes.org(str(SUP.org_id))):
        r = await h.call(OPERATOR, "POST", f"{API}/erasures/{scope}", json={"confirm": scope})
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["code"] == "legal_hold"
        assert "法的保全" in problem["title"]
        assert "保全を解除" in problem["detail"]
        assert await h.container.keys.destroyed(scope) is None
    assert await found(h.container) > 0
    assert await h.container.records.count("posts", ()) >= 2
    await h.ok(OPERATOR, "DELETE", f"/works/{wid}/legal-hold", json={"reason": "終結"})
    assert (await erase(h, scopes.collab(wid)))["state"] == "done"


async def test_an_interrupted_erasure_finishes_on_the_next_run(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is destroyed, then the process dies before the records went: the erasure
    record says so, files already answer 410, and the hourly job finishes it."""
    work = await h.work()
    wid = str(work["id"])
    await collaboration(h, wid)
    scope = scopes.collab(wid)
    real = erasure_records.erase_scope_records

    async def dies(container: Any, name: str) -> dict[str, int]:
        raise RuntimeError("power cut")

    monkeypatch.setattr(erasure_records, "erase_scope_records", dies)
    from api.keys.erasure import erase as erase_scope

    with pytest.raises(RuntimeError):
        await erase_scope(h.container, scope, "user:op", "試験")
    state = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert state["state"] == "key_destroyed", state
    assert state["key_destroyed_at"]
    note = f"{scopes.prefix(scope)}note"
    with pytest.raises(KeyDestroyed):
        _ = [x async for x in h.container.blobs.get(note)]
    # a hold placed meanwhile does not stop an erasure whose key is gone
    await h.ok(OPERATOR, "POST", f"/works/{wid}/legal-hold", json={"reason": "後から"})
    monkeypatch.setattr(erasure_records, "erase_scope_records", real)
    counts = await ErasureService(h.container).run_due()
    assert counts["resumed"] == 1, counts
    state = await h.ok(OPERATOR, "GET", f"/erasures/{scope}")
    assert state["state"] == "done"
    assert state["erasure"]["records"]["posts"] >= 2
    assert await h.container.records.count("posts", ()) == 0
    assert await found(h.container) == 0
    assert [k async for k in h.container.blobs.list(scopes.prefix(scope))] == []
    assert (await ErasureService(h.container).run_due())["resumed"] == 0


async def test_the_erased_work_cannot_be_seen_half_erased_by_its_members(h: Harness) -> None:
    """After the erasure the members see an empty board and no proposals (not errors)."""
    work = await h.work()
    wid = str(work["id"])
    await collaboration(h, wid)
    await erase(h, scopes.collab(wid))
    posts = await h.ok(BUILDER, "GET", f"/works/{wid}/posts")
    assert posts["items"] == []
    proposals = await h.ok(SUP, "GET", f"/works/{wid}/proposals")
    assert proposals["items"] == []
    assert MARK not in str(await h.ok(SUP, "GET", "/notifications"))
