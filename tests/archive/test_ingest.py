"""The ingest pipeline end to end on the embedded backends (SQLite, local blobs, tantivy,
eager jobs): each bad input ends with a visible state and flags, never an exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api import consistency
from api.app import create_app
from api.archive import ingest as ingest_module
from api.archive.indexing import file_to_doc
from api.archive.ingest import IngestService
from api.archive.models import BLOBS, NODES, blob_id, derived_key
from api.archive.nodes import NodeService
from api.deps import optional_subject
from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from indexer.query import SearchQuery
from storage.query import Record
from tests.archive.harness_tree import place_file
from tests.extract.samples import BROKEN_PDF, EXE, jpeg, pdf

pytestmark = pytest.mark.anyio

OPERATOR = Subject(new_id(), "admin", new_id(), OrgKind.OPERATOR)
STRANGER = Subject(new_id(), "stranger", new_id(), OrgKind.ORDERER, frozenset({"works.manage"}))


async def make_work(svc: NodeService, **over: Any) -> Record:
    work = {
        "id": new_id(),
        "title": "道路改良工事",
        "status": "in_progress",
        "kind": "construction",
        "category": "道路",
        "orderer_org_id": "org-a",
        "contractor_org_ids": ["org-c"],
        "acl": ["orgread:org-a"],
        **over,
    }
    return await svc.records.insert("works", work)


async def add(
    svc: NodeService, work: Record, path: str, data: bytes, meta: dict[str, Any] | None = None
) -> Record:
    folder, _, name = path.rpartition("/")
    node = await place_file(svc, OPERATOR, work, folder, name, data, meta=meta)
    # Eager jobs: the ingest ran after commit, before place_file returned.
    fresh = await svc.records.get(NODES, str(node["id"]))
    assert fresh is not None
    return fresh


async def search(svc: NodeService, text: str, **kw: Any) -> list[dict[str, Any]]:
    result = await svc.container.index.search(SearchQuery(text=text, acl=None, **kw))
    return [h.doc for h in result.hits]


async def test_pdf_with_japanese_text_is_extracted_indexed_and_derived(svc: NodeService) -> None:
    work = await make_work(svc)
    data = pdf(["道路改良工事 完成図書 ①㈱", "第二頁 舗装工 ｺﾝｸﾘｰﾄ"])
    node = await add(svc, work, "REPORT/REPORT01.PDF", data, meta={"title": "完成報告書"})
    assert node["ingest"]["state"] == "done"
    assert node["ingest"]["sha256"] == node["sha256"]
    assert node["content_type"] == "application/pdf"
    assert node["file_type"] == "pdf"
    assert "type_mismatch" not in node
    assert node["extract"]["page_count"] == 2
    assert node["extract"]["encrypted"] is False
    assert (
        await svc.container.blobs.stat(derived_key(node["scope"], node["sha256"], "text.json"))
        is not None
    )

    docs = await search(svc, "舗装工", types=("file",))
    assert [d["id"] for d in docs] == [node["id"]]
    doc = docs[0]
    assert doc["title"] == "完成報告書"
    assert doc["body"].split("\f")[1].startswith("第二頁")
    assert doc["doc_class"] == "REPORT"
    assert doc["file_type"] == "pdf"
    assert doc["page"] == 2
    assert doc["status"] == "in_progress"
    assert doc["acl"] == ["orgread:org-a"]
    assert doc["stamp"] == node["version"]
    # half-width kana in the PDF is found by its full-width spelling (index normalisation)
    assert [d["id"] for d in await search(svc, "コンクリート")] == [node["id"]]


async def test_bad_inputs_end_done_with_flags(svc: NodeService) -> None:
    work = await make_work(svc)
    exe = await add(svc, work, "OTHRS/設計図.pdf", EXE)
    assert exe["ingest"]["state"] == "done"
    assert exe["content_type"] == "application/x-dosexec"
    assert exe["type_mismatch"]["declared"] == "pdf"
    assert "一致しません" in exe["type_mismatch"]["message"]
    assert "一致しません" in exe["ingest"]["note"]

    broken = await add(svc, work, "OTHRS/broken.pdf", BROKEN_PDF)
    assert broken["ingest"]["state"] == "done"
    assert broken["extract"]["broken"] is True

    secret = await add(svc, work, "OTHRS/secret.pdf", pdf(["秘密"], user_password="pw"))
    assert secret["ingest"]["state"] == "done"
    assert secret["extract"]["encrypted"] is True
    assert "暗号化" in secret["ingest"]["note"]

    empty = await add(svc, work, "OTHRS/empty.pdf", b"")
    assert empty["ingest"]["state"] == "done"
    assert "0バイト" in empty["ingest"]["note"]

    cut = jpeg((800, 600), taken="2024:05:02 09:00:00")
    truncated = await add(svc, work, "PHOTO/PIC/P0000002.JPG", cut[: len(cut) // 3])
    assert truncated["ingest"]["state"] == "done"
    assert truncated["extract"]["broken"] is True
    assert truncated["extract"]["width"] == 800

    garbage = await add(svc, work, "OTHRS/memo.txt", bytes(range(256)) * 16)
    assert garbage["extract"]["not_text"] is True
    assert garbage["type_mismatch"]["declared"] == "txt"

    sjis = await add(svc, work, "OTHRS/readme.txt", "受注者 山田建設㈱ 工区①".encode("cp932"))
    assert sjis["extract"]["encoding"] == "cp932"
    assert [d["id"] for d in await search(svc, "山田建設㈱")] == [sjis["id"]]


async def test_photo_exif_thumbnail_and_reuse_of_derived_artefacts(
    svc: NodeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = await make_work(svc)
    data = jpeg((1600, 1200), taken="2024:04:01 10:20:30")
    photo = await add(svc, work, "PHOTO/PIC/P0000001.JPG", data)
    assert photo["extract"]["photo_date"] == "2024-04-01"
    assert (photo["extract"]["width"], photo["extract"]["height"]) == (1600, 1200)
    assert photo["extract"]["thumbnail"] is True
    assert (
        await svc.container.blobs.stat(derived_key(photo["scope"], photo["sha256"], "thumb.jpg"))
        is not None
    )
    docs = await search(svc, "P0000001")
    assert docs[0]["photo_date"] == "2024-04-01"
    assert docs[0]["doc_class"] == "PHOTO"

    def no_extraction(*args: Any, **kw: Any) -> None:
        raise AssertionError("derived artefacts should have been reused")

    monkeypatch.setattr(ingest_module, "run", no_extraction)
    copy = await add(svc, work, "OTHRS/copy.jpg", data)
    assert copy["ingest"]["state"] == "done"
    assert copy["extract"]["photo_date"] == "2024-04-01"
    assert copy["extract"]["thumbnail"] is True
    # Idempotent: a second run for the same content does nothing.
    assert await IngestService(svc.container).ingest(str(copy["id"])) == "skipped"


async def test_missing_content_fails_with_a_reason(svc: NodeService) -> None:
    work = await make_work(svc)
    node = await add(svc, work, "OTHRS/a.txt", "本文".encode())
    await svc.container.blobs.delete(derived_key(node["scope"], node["sha256"], "text.json"))
    blob = await svc.records.get(BLOBS, blob_id(node["scope"], str(node["sha256"])))
    assert blob is not None
    await svc.container.blobs.delete(str(blob["key"]))
    state = await IngestService(svc.container).ingest(str(node["id"]), force=True)
    assert state == "failed"
    failed = await svc.records.get(NODES, str(node["id"]))
    assert failed is not None
    assert failed["ingest"]["reason"] == "ファイルの内容が見つかりません。"
    assert failed["ingest"]["sha256"] is None


async def test_work_changes_reindex_files_and_reindex_skips_folders(svc: NodeService) -> None:
    work = await make_work(svc)
    node = await add(svc, work, "MEET/MEET0001.PDF", pdf(["打合せ簿 第1回"]))
    archived = await svc.records.update(
        "works", str(work["id"]), {"status": "archived", "acl": ["archive:org-a"]}, work["version"]
    )
    await svc.container.jobs.enqueue("index.work_files", work_id=str(archived["id"]))
    docs = await search(svc, "打合せ簿")
    assert [(d["id"], d["status"], d["acl"]) for d in docs] == [
        (node["id"], "archived", ["archive:org-a"])
    ]

    assert await svc.container.jobs.enqueue("index.pending_files")  # nothing pending: no-op
    result = await consistency.reindex(svc.container)
    assert result.counts["file"] == 1  # the MEET folder is not a document
    report = await consistency.check(svc.container)
    assert report.clean, report.lines()
    docs = await search(svc, "第1回")
    assert docs[0]["body"] == "打合せ簿 第1回"
    assert docs[0]["status"] == "archived"


def test_file_doc_fields() -> None:
    node = {
        "id": "n1",
        "work_id": "w1",
        "parent_id": "f1",
        "name": "D0001.P21",
        "path": "/DRAWINGF/D0001.P21",
        "size": 10,
        "file_type": "p21",
        "meta": {"doc_date": "2024-03-31", "keywords": ["平面図", "舗装"], "note": {"x": "補足"}},
        "extract": {"page_count": None},
        "created_at": "2024-04-01T00:00:00.000000Z",
        "updated_at": "2024-04-01T00:00:00.000000Z",
        "version": 3,
    }
    doc = file_to_doc(node, {"category": "道路", "acl": ["user:u"]}, ["a" * 10, "b"])
    assert doc["title"] == "D0001.P21"
    assert doc["names"] == "/DRAWINGF/D0001.P21 D0001.P21 2024-03-31 平面図 舗装 補足"
    assert doc["body"] == "a" * 10 + "\fb"
    assert doc["doc_class"] == "DRAWINGF"
    assert doc["doc_date"] == "2024-03-31"
    assert doc["stamp"] == 3
    assert "page" not in doc
    big = file_to_doc(node, None, ["x" * 700_000, "y" * 700_000])
    assert len(big["body"]) == 1_000_000


# -- API --------------------------------------------------------------------------------


@pytest.fixture
async def api(svc: NodeService) -> AsyncIterator[tuple[httpx.AsyncClient, list[Subject]]]:
    app = create_app(container=svc.container)
    who = [OPERATOR]

    async def as_who() -> Subject:
        return who[0]

    app.dependency_overrides[optional_subject] = as_who
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
        yield client, who


async def test_file_api_state_counts_and_reingest(
    svc: NodeService, api: tuple[httpx.AsyncClient, list[Subject]]
) -> None:
    client, who = api
    work = await make_work(svc)
    exe = await add(svc, work, "OTHRS/x.pdf", EXE)
    photo = await add(svc, work, "PHOTO/P1.JPG", jpeg())

    got = await client.get(f"/api/v1/files/{exe['id']}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["ingest"]["state"] == "done"
    assert body["type_mismatch"]["message"].startswith("拡張子「.pdf」")
    assert body["content_type"] == "application/x-dosexec"

    thumb = await client.get(f"/api/v1/files/{photo['id']}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.content[:2] == b"\xff\xd8"
    assert (await client.get(f"/api/v1/files/{exe['id']}/thumbnail")).status_code == 404

    folder = await svc.by_path(str(work["id"]), "OTHRS")
    assert folder is not None
    assert (await client.get(f"/api/v1/files/{folder['id']}")).status_code == 404

    counts = (await client.get(f"/api/v1/works/{work['id']}/ingest")).json()
    assert counts["counts"] == {"queued": 0, "processing": 0, "done": 2, "failed": 0}
    assert counts["mismatched"] == 1
    assert counts["failed"] == []

    again = await client.post(f"/api/v1/files/{exe['id']}/reingest")
    assert again.status_code == 202, again.text
    assert again.json()["ingest"]["state"] == "done"
    assert again.json()["ingest"]["attempts"] == 2
    events = await svc.records.count("audit_events")
    assert events > 0

    who[0] = STRANGER
    assert (await client.get(f"/api/v1/files/{exe['id']}")).status_code == 404
    assert (await client.post(f"/api/v1/files/{exe['id']}/reingest")).status_code == 404
    assert (await client.get(f"/api/v1/works/{work['id']}/ingest")).status_code == 404
