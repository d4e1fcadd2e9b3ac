"""Work lifecycle (issue 3 item 8): archive with retention, legal hold, disposal, audit, and the
``index.work_files`` job after every change to fields the file documents carry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from api.archive.models import BLOBS, NODES
from api.archive.nodes import NodeService
from api.config import RETENTION_SOURCES, ArchiveSettings
from api.kit.clock import FixedClock
from api.kit.ids import new_id
from api.works.lifecycle import (
    LegalHoldActive,
    add_years,
    retention_years,
)
from tests.archive.harness_tree import place_file
from tests.works.harness import (
    ARCHIVIST,
    BUILDER,
    CLERK,
    MANAGER,
    NOBODY,
    OPERATOR,
    ORG_READER,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio
URL = "/api/v1/works"
T0 = datetime(2030, 3, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
async def jobs(h: Harness) -> list[tuple[str, dict[str, Any]]]:
    """Record enqueued jobs instead of running them; fix the clock."""
    recorded: list[tuple[str, dict[str, Any]]] = []

    async def record(task: str, kwargs: dict[str, Any], *, job_id: str) -> None:
        recorded.append((task, kwargs))

    h.container.jobs.send = record  # type: ignore[method-assign]
    h.container.clock = FixedClock(T0)
    return recorded


async def step(h: Harness, work: dict[str, Any], to: str, who: Any = MANAGER) -> dict[str, Any]:
    resp = await h.call(
        who, "POST", f"{URL}/{work['id']}/transition", json={"to": to, "version": work["version"]}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def archived(h: Harness, work: dict[str, Any] | None = None) -> dict[str, Any]:
    work = work or await h.create(MANAGER)
    order = ["registered", "in_progress", "completed", "archived"]
    for to in order[order.index(work["status"]) + 1 :]:
        work = await step(h, work, to)
    return work


async def current(h: Harness, work_id: str) -> dict[str, Any]:
    resp = await h.call(OPERATOR, "GET", f"{URL}/{work_id}")
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def test_retention_rules() -> None:
    assert add_years(datetime(2028, 2, 29).date(), 10).isoformat() == "2038-02-28"
    archive = ArchiveSettings()
    assert retention_years([], archive) == archive.retention_default_years == 10
    # 建設業法施行規則 第26条第5項 / 第28条第2項: 完成図 and 打合せ記録 10 years (issue 8 item 12)
    assert archive.retention_years_by_class == {"DRAWINGF": 10, "MEET": 10}
    assert "第28条第2項" in RETENTION_SOURCES["DRAWINGF"][1]
    assert "打合せ記録" in RETENTION_SOURCES["MEET"][1]
    assert retention_years(["PHOTO", "DRAWINGF"], archive) == 10
    longer = ArchiveSettings(retention_years_by_class={"DRAWINGF": 30})  # an orderer's 規程
    assert retention_years(["PHOTO", "DRAWINGF"], longer) == 30
    custom = ArchiveSettings(retention_default_years=5, retention_years_by_class={"PHOTO": 7})
    assert retention_years(["PHOTO"], custom) == 7
    assert retention_years(["MEET"], custom) == 5


async def test_archive_sets_retention_and_reindexes_files(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]]
) -> None:
    work = await h.create(MANAGER)
    jobs.clear()
    for to in ("in_progress", "completed"):
        work = await step(h, work, to)
    assert work["archived_at"] is None
    assert work["retention_until"] is None
    work = await step(h, work, "archived")
    assert work["archived_at"] == "2030-03-31T09:00:00.000000Z"
    assert work["retention_until"] == "2040-03-31"
    assert work["retention_years"] == 10
    assert jobs == [("index.work_files", {"work_id": work["id"]})] * 3
    [*_, event] = await h.events("works.transitioned")
    assert event["detail"]["to"] == "archived"
    assert event["detail"]["retention_until"] == "2040-03-31"
    # read-only from now on, even for its manager
    edit = await h.call(MANAGER, "PATCH", f"{URL}/{work['id']}", json={"version": work["version"]})
    assert edit.status_code == 409


async def test_retention_follows_the_longest_document_class(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]]
) -> None:
    work = await h.create(MANAGER)
    doc = {"id": new_id(), "type": "file", "work_id": work["id"], "doc_class": "DRAWINGF"}
    await h.container.index.upsert([doc, {**doc, "id": new_id(), "doc_class": "PHOTO"}])
    await h.container.index.refresh()
    work = await archived(h, work)
    assert work["retention_years"] == 10  # the cited minimum of 完成図 (第28条第2項)
    assert work["retention_until"] == "2040-03-31"


async def test_updates_and_member_changes_reindex_files(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]]
) -> None:
    work = await h.create(MANAGER)
    jobs.clear()
    resp = await h.call(
        MANAGER, "PATCH", f"{URL}/{work['id']}", json={"version": 1, "category": "河川"}
    )
    assert resp.status_code == 200
    resp = await h.call(
        MANAGER,
        "POST",
        f"{URL}/{work['id']}/members",
        json={"user_id": ORG_READER.user_id, "role": "viewer"},
    )
    assert resp.status_code == 201
    resp = await h.call(MANAGER, "DELETE", f"{URL}/{work['id']}/members/{ORG_READER.user_id}")
    assert resp.status_code == 204
    assert jobs == [("index.work_files", {"work_id": work["id"]})] * 3


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        (NOBODY, 404),  # cannot even read the work
        (BUILDER, 404),
        (STRANGER, 404),  # another orderer's manager
        (ARCHIVIST, 404),  # not archived yet
        (ORG_READER, 403),  # reads it, may not hold it
        (CLERK, 403),  # its supervisor, without works.manage
        (MANAGER, 200),
        (OPERATOR, 200),
    ],
)
async def test_hold_permissions(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]], who: Any, status: int
) -> None:
    work = await h.create(CLERK)
    url = f"{URL}/{work['id']}/legal-hold"
    resp = await h.call(who, "POST", url, json={"reason": "訴訟対応"})
    assert resp.status_code == status, resp.text
    if status != 200:
        assert await h.events("works.hold_placed") == []
        await h.call(OPERATOR, "POST", url, json={"reason": "訴訟対応"})
    resp = await h.call(who, "DELETE", url)
    assert resp.status_code == status, resp.text
    if status == 200:
        assert resp.json()["legal_hold"] is None


async def test_hold_blocks_deletion_and_is_audited(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]]
) -> None:
    work = await h.create(MANAGER)
    url = f"{URL}/{work['id']}/legal-hold"
    held = await h.call(MANAGER, "POST", url, json={"reason": "情報公開請求 第12号"})
    assert held.status_code == 200
    hold = held.json()["legal_hold"]
    assert hold["reason"] == "情報公開請求 第12号"
    assert hold["placed_by"] == MANAGER.user_id
    again = await h.call(MANAGER, "POST", url, json={"reason": "二重"})
    assert again.status_code == 409
    version = held.json()["version"]
    for who in (MANAGER, OPERATOR):
        resp = await h.call(who, "DELETE", f"{URL}/{work['id']}", params={"version": version})
        assert resp.status_code == 409
        assert resp.json()["code"] == "legal_hold"
        assert "法的保全" in resp.json()["title"]
    released = await h.call(MANAGER, "DELETE", url, json={"reason": "請求取下げ"})
    assert released.status_code == 200
    assert (await h.call(MANAGER, "DELETE", url)).status_code == 409  # nothing to release
    [placed] = await h.events("works.hold_placed")
    [lifted] = await h.events("works.hold_released")
    assert placed["detail"]["reason"] == "情報公開請求 第12号"
    assert lifted["detail"]["reason"] == "請求取下げ"
    assert placed["actor_id"] == lifted["actor_id"] == MANAGER.user_id
    resp = await h.call(
        MANAGER, "DELETE", f"{URL}/{work['id']}", params={"version": released.json()["version"]}
    )
    assert resp.status_code == 204


async def add_file(h: Harness, work_id: str, name: str, data: bytes) -> dict[str, Any]:
    nodes = NodeService(h.container)
    work = await h.container.records.get("works", work_id)
    assert work is not None
    return await place_file(nodes, OPERATOR, work, "PLAN", name, data)


async def test_hold_blocks_node_deletion(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]]
) -> None:
    work = await step(h, await h.create(MANAGER), "in_progress")
    node = await add_file(h, work["id"], "計画書.pdf", b"%PDF-1.4 plan")
    url = f"{URL}/{work['id']}/legal-hold"
    assert (await h.call(MANAGER, "POST", url, json={"reason": "保全"})).status_code == 200
    nodes = NodeService(h.container)
    with pytest.raises(LegalHoldActive):
        await nodes.delete(OPERATOR, node["id"], node["version"])
    assert await h.container.records.get(NODES, node["id"]) is not None
    assert (await h.call(MANAGER, "DELETE", url)).status_code == 200
    await nodes.delete(OPERATOR, node["id"], node["version"])
    assert await h.container.records.get(NODES, node["id"]) is None


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_archived_work_kept_until_retention_then_disposed(
    h: Harness, jobs: list[tuple[str, dict[str, Any]]]
) -> None:
    work = await step(h, await h.create(MANAGER), "in_progress")
    node = await add_file(h, work["id"], "完成図.pdf", b"%PDF-1.4 drawing")
    # the 電子納品 check results and import records of this work, and of another one
    other = await h.create(MANAGER)
    owned: list[tuple[str, str, str]] = []
    for collection in ("deliverables", "imports"):
        for work_id in (work["id"], other["id"]):
            rid = new_id()
            await h.container.records.insert(collection, {"id": rid, "work_id": work_id})
            owned.append((collection, rid, work_id))
    work = await archived(h, await current(h, work["id"]))
    # an object in the work's archive scope, sealed with its data key (issue 12)
    scoped = f"s/wa-{work['id']}/objects/x"
    await h.container.blobs.put(scoped, _one(b"deliverable"))
    url = f"{URL}/{work['id']}"
    params = {"version": work["version"]}
    # holds may be placed on archived works (no read-only refusal)
    hold = await h.call(MANAGER, "POST", f"{url}/legal-hold", json={"reason": "監査"})
    assert hold.status_code == 200
    resp = await h.call(OPERATOR, "DELETE", url, params={"version": hold.json()["version"]})
    assert resp.json()["code"] == "legal_hold"
    released = await h.call(OPERATOR, "DELETE", f"{url}/legal-hold")
    params = {"version": released.json()["version"]}

    expected = {
        None: 401,
        NOBODY: 404,
        STRANGER: 404,
        ORG_READER: 403,
        MANAGER: 409,  # retention not over
        OPERATOR: 409,  # not even operators before retention_until
    }
    for who, status in expected.items():
        resp = await h.call(who, "DELETE", url, params=params)
        assert resp.status_code == status, (who, resp.text)
    resp = await h.call(OPERATOR, "DELETE", url, params=params)
    assert resp.json()["code"] == "retention_active"
    assert "保存期間" in resp.json()["detail"]

    clock = h.container.clock
    assert isinstance(clock, FixedClock)
    clock.at = datetime(2040, 3, 31, 23, 0, tzinfo=UTC)  # the last day is still kept
    assert (await h.call(OPERATOR, "DELETE", url, params=params)).status_code == 409
    clock.at = datetime(2040, 4, 1, 0, 0, tzinfo=UTC)
    resp = await h.call(MANAGER, "DELETE", url, params=params)
    assert resp.status_code == 409
    assert resp.json()["code"] == "archived_read_only"  # the archive is disposed by operators
    resp = await h.call(OPERATOR, "DELETE", url, params=params)
    assert resp.status_code == 204, resp.text
    assert await h.container.records.get("works", work["id"]) is None
    assert await h.container.records.get(NODES, node["id"]) is None
    assert await h.container.records.get(BLOBS, f"{node['scope']}:{node['sha256']}") is None
    [event] = await h.events("works.disposed")
    assert event["actor_id"] == OPERATOR.user_id
    assert event["detail"]["nodes"] == 2  # the PLAN folder and the file
    # disposal removes the work's deliverable and import records, no other work's (item 12)
    for collection, rid, work_id in owned:
        kept = await h.container.records.get(collection, rid)
        assert (kept is None) == (work_id == work["id"]), (collection, work_id)
    assert event["detail"]["records"] == {"deliverables": 1, "imports": 1}
    # disposal destroys the work's data keys and deletes its scoped objects (issue 12 §2)
    for scope in (f"wc-{work['id']}", f"wa-{work['id']}"):
        assert await h.container.keys.destroyed(scope) is not None
    assert await h.container.blobs.stat(scoped) is None
    erased = await h.events("keys.destroyed")
    assert {e["target"] for e in erased} == {
        f"key_scopes/wc-{work['id']}",
        f"key_scopes/wa-{work['id']}",
    }
