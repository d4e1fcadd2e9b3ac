"""Document folders (書類管理, seed 001 別表1-1 5 / 別表1-2 5, §3-4) through the HTTP API: the
folder set a work starts with, folders created, renamed, moved, re-typed and deleted, documents
registered into a chosen folder and moved, and the bad input of each."""

from __future__ import annotations

import pytest

from api.archive.indexing import DOC_TYPE, PENDING
from api.folders.service import PENDING_BATCH, mark_pending_many
from api.folders.templates import CONSTRUCTION, SERVICE
from api.kit.ids import new_id
from indexer.query import SearchQuery
from tests.folders.support import PDF, by_path, folders, upload
from tests.proposals.harness import API, BUILDER, INSP, NOBODY, STRANGER, SUP, VIEWER, Harness

pytestmark = pytest.mark.anyio


async def test_a_running_work_starts_with_the_folder_set_of_its_kind(h: Harness) -> None:
    """§3-4: 種別ごとにフォルダ分け — a 工事 starts with the 工事 set, a 業務 with the 業務 set,
    each folder typed (書類種別) and mapped to its 電子納品 folder; made once, audited."""
    work = await h.work()
    listing = await folders(h, work["id"])
    paths = by_path(listing)
    assert [f["name"] for f in listing["folders"]] == [f["name"] for f in CONSTRUCTION]
    assert paths["/02_施工計画書"]["doc_type"] == "施工計画書"
    assert paths["/02_施工計画書"]["delivery"] == "PLAN"
    assert paths["/03_打合せ簿"]["delivery"] == "MEET"
    assert paths["/10_工事写真"]["delivery"] == "PHOTO"
    assert listing["seeded_at"]
    assert listing["can_write"] is True
    assert len(await h.audit("folders.seeded")) == 1
    # Deleting the set does not bring it back.
    first = paths["/12_その他"]
    await h.ok(BUILDER, "DELETE", f"/folders/{first['id']}?version={first['version']}")
    again = await folders(h, work["id"])
    assert "/12_その他" not in by_path(again)
    assert len(await h.audit("folders.seeded")) == 1

    service = await h.work(kind="service")
    names = [f["name"] for f in (await folders(h, service["id"]))["folders"]]
    assert names == [f["name"] for f in SERVICE]


async def test_a_reader_who_cannot_write_does_not_make_the_set(h: Harness) -> None:
    work = await h.work()
    listing = await folders(h, work["id"], who=INSP)
    assert listing["folders"] == []
    assert listing["can_write"] is False
    assert listing["seeded_at"] is None


async def indexed_path(h: Harness, work_id: str, node_id: str) -> str | None:
    """The path the search index holds for a document."""
    result = await h.container.index.search(
        SearchQuery(types=(DOC_TYPE,), filters={"work_id": (work_id,)}, acl=None, limit=100)
    )
    return next((str(hit.doc.get("path")) for hit in result.hits if hit.id == node_id), None)


async def test_create_rename_move_retype_and_delete_folders(h: Harness) -> None:
    """5(3): フォルダは適宜追加、修正、削除することができる; a new folder takes its parent's
    type; a document registered into a folder takes the folder's type (5(2))."""
    work = await h.work()
    wid = work["id"]
    paths = by_path(await folders(h, wid))
    photos = paths["/10_工事写真"]
    sub = await h.ok(
        BUILDER,
        "POST",
        f"/works/{wid}/folders",
        201,
        json={"parent_id": photos["id"], "name": "施工状況"},
    )
    assert sub["path"] == "/10_工事写真/施工状況"
    assert sub["doc_type"] == "工事写真"
    doc = await upload(h, wid, "/10_工事写真/施工状況", "掘削.pdf", PDF, "application/pdf")
    node = await h.container.records.get("nodes", doc["id"])
    assert node is not None
    assert node["meta"]["doc_type"] == "工事写真"

    # rename the parent: the subtree's paths follow
    renamed = await h.ok(
        BUILDER,
        "PATCH",
        f"/folders/{photos['id']}",
        json={"version": photos["version"], "name": "10_写真"},
    )
    assert renamed["path"] == "/10_写真"
    node = await h.container.records.get("nodes", doc["id"])
    assert node is not None
    assert node["path"] == "/10_写真/施工状況/掘削.pdf"
    assert node["depth"] == 3

    # move the sub-folder under 品質管理: it and its document take that type
    quality = paths["/07_品質管理"]
    sub = by_path(await folders(h, wid))["/10_写真/施工状況"]  # its path changed: a new version
    moved = await h.ok(
        BUILDER,
        "PATCH",
        f"/folders/{sub['id']}",
        json={"version": sub["version"], "move": True, "parent_id": quality["id"]},
    )
    assert moved["path"] == "/07_品質管理/施工状況"
    assert moved["doc_type"] == "品質管理"
    node = await h.container.records.get("nodes", doc["id"])
    assert node is not None
    assert node["meta"]["doc_type"] == "品質管理"
    assert node["path"] == "/07_品質管理/施工状況/掘削.pdf"
    # the search index follows the move (the moved files are marked for re-indexing)
    assert await indexed_path(h, wid, doc["id"]) == "/07_品質管理/施工状況/掘削.pdf"

    # re-type a folder: documents below follow
    current = by_path(await folders(h, wid))["/07_品質管理"]
    await h.ok(
        BUILDER,
        "PATCH",
        f"/folders/{current['id']}",
        json={"version": current["version"], "doc_type": "品質証明"},
    )
    node = await h.container.records.get("nodes", doc["id"])
    assert node is not None
    assert node["meta"]["doc_type"] == "品質証明"

    # delete: a folder with documents only with recursive=true (the user confirmed)
    mid = by_path(await folders(h, wid))["/07_品質管理/施工状況"]
    r = await h.call(BUILDER, "DELETE", f"{API}/folders/{mid['id']}?version={mid['version']}")
    assert r.status_code == 409
    assert r.json()["code"] == "folder_not_empty"
    assert await h.container.records.get("nodes", doc["id"]) is not None
    counts = await h.ok(
        BUILDER, "DELETE", f"/folders/{mid['id']}?version={mid['version']}&recursive=true"
    )
    assert counts == {"folders": 1, "files": 1}
    assert await h.container.records.get("nodes", doc["id"]) is None
    assert {e["action"] for e in await h.audit("folders.deleted")} == {"folders.deleted"}


async def test_move_documents_between_folders(h: Harness) -> None:
    """5(1): documents move between folders, all or none; a name taken at the target refuses
    the whole move."""
    work = await h.work()
    wid = work["id"]
    paths = by_path(await folders(h, wid))
    a = await upload(h, wid, "/12_その他", "a.pdf", PDF, "application/pdf")
    b = await upload(h, wid, "/12_その他", "b.pdf", PDF, "application/pdf")
    await upload(h, wid, "/01_契約関係書類", "b.pdf", PDF, "application/pdf")
    target = paths["/01_契約関係書類"]["id"]
    before = {n: await h.container.records.get("nodes", n) for n in (a["id"], b["id"])}
    r = await h.call(
        BUILDER,
        "POST",
        f"{API}/works/{wid}/documents/move",
        json={"node_ids": [a["id"], b["id"]], "target_id": target},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "name_taken"
    for n, record in before.items():
        assert await h.container.records.get("nodes", n) == record  # nothing moved
    moved = await h.ok(
        BUILDER,
        "POST",
        f"/works/{wid}/documents/move",
        json={"node_ids": [a["id"]], "target_id": target},
    )
    assert moved["moved"][0]["path"] == "/01_契約関係書類/a.pdf"
    node = await h.container.records.get("nodes", a["id"])
    assert node is not None
    assert node["meta"]["doc_type"] == "契約関係書類"
    # rename and move one document to the root
    await h.ok(
        BUILDER,
        "PATCH",
        f"/documents/{a['id']}",
        json={"version": node["version"], "name": "契約書.pdf", "move": True, "parent_id": None},
    )
    node = await h.container.records.get("nodes", a["id"])
    assert node is not None
    assert node["path"] == "/契約書.pdf"
    assert "doc_type" not in node["meta"]


async def test_bad_input_changes_nothing(h: Harness) -> None:
    """Bad input: a folder into itself, a name taken, another work's node, a target the kind of
    work has not, a stale version, a reader writing, an outsider: clear errors, nothing stored."""
    work = await h.work()
    other = await h.work()
    wid = work["id"]
    paths = by_path(await folders(h, wid))
    parent = paths["/10_工事写真"]
    child = await h.ok(
        BUILDER,
        "POST",
        f"/works/{wid}/folders",
        201,
        json={"parent_id": parent["id"], "name": "子"},
    )
    foreign = by_path(await folders(h, other["id"]))["/10_工事写真"]
    before = await h.container.records.count("nodes")
    audit_before = await h.container.records.count("audit_events")

    async def refused(
        method: str, url: str, status: int, code: str, who=BUILDER, **kw: object
    ) -> None:  # type: ignore[no-untyped-def]
        r = await h.call(who, method, API + url, **kw)
        assert (r.status_code, r.json().get("code")) == (status, code), r.text

    await refused(
        "PATCH",
        f"/folders/{parent['id']}",
        400,
        "move_into_itself",
        json={"version": parent["version"], "move": True, "parent_id": child["id"]},
    )
    await refused(
        "PATCH",
        f"/folders/{parent['id']}",
        400,
        "move_into_itself",
        json={"version": parent["version"], "move": True, "parent_id": parent["id"]},
    )
    await refused(
        "POST",
        f"/works/{wid}/folders",
        409,
        "name_taken",
        json={"parent_id": None, "name": "10_工事写真"},
    )
    await refused(
        "PATCH",
        f"/folders/{parent['id']}",
        409,
        "name_taken",
        json={"version": parent["version"], "name": "11_完成図"},
    )
    await refused(
        "POST",
        f"/works/{wid}/folders",
        404,
        "not_found",
        json={"parent_id": foreign["id"], "name": "x"},
    )
    await refused(
        "POST",
        f"/works/{wid}/documents/move",
        404,
        "not_found",
        json={"node_ids": [foreign["id"]], "target_id": parent["id"]},
    )
    await refused(
        "PATCH",
        f"/folders/{parent['id']}",
        400,
        "validation_failed",
        json={"version": parent["version"], "delivery": "REPORT"},
    )
    await refused(
        "PATCH", f"/folders/{parent['id']}", 409, "conflict", json={"version": 99, "name": "新"}
    )
    await refused("POST", f"/works/{wid}/folders", 403, "forbidden", who=VIEWER, json={"name": "x"})
    await refused("POST", f"/works/{wid}/folders", 404, "not_found", who=NOBODY, json={"name": "x"})
    await refused(
        "POST", f"/works/{wid}/folders", 404, "not_found", who=STRANGER, json={"name": "x"}
    )
    await refused("POST", f"/works/{wid}/folders", 400, "validation_failed", json={"name": "a/b"})
    assert await h.container.records.count("nodes") == before
    assert await h.container.records.count("audit_events") == audit_before


async def test_a_completed_work_is_read_only(h: Harness) -> None:
    work = await h.work()
    listing = await folders(h, work["id"])
    current = await h.ok(SUP, "GET", f"/works/{work['id']}")
    await h.ok(
        SUP,
        "POST",
        f"/works/{work['id']}/transition",
        json={"to": "completed", "version": current["version"]},
    )
    r = await h.call(BUILDER, "POST", f"{API}/works/{work['id']}/folders", json={"name": "追加"})
    assert r.status_code == 403
    folder = listing["folders"][0]
    r = await h.call(BUILDER, "DELETE", f"{API}/folders/{folder['id']}?version={folder['version']}")
    assert r.status_code == 403
    assert (await folders(h, work["id"]))["can_write"] is False


async def test_index_marks_of_many_files_are_written_and_touched_in_batches(h: Harness) -> None:
    """A moved or re-typed folder marks its documents for re-indexing in batches: new marks
    are added, existing ones touched (so a flush running meanwhile keeps them)."""
    nodes = [{"id": new_id(), "work_id": "w1"} for _ in range(PENDING_BATCH + 3)]
    async with h.container.uow():
        await mark_pending_many(h.container.records, nodes[:3], "2026-06-01T00:00:00Z")
    async with h.container.uow():
        await mark_pending_many(h.container.records, nodes, "2026-06-02T00:00:00Z")
    marks = await h.container.records.get_many(PENDING, [str(n["id"]) for n in nodes])
    assert len(marks) == len(nodes)
    assert {m["at"] for m in marks} == {"2026-06-02T00:00:00Z"}
    assert {m["work_id"] for m in marks} == {"w1"}
