"""analyse() over a work's node tree, and the deliverables API (JSON, HTML, photo tree)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from api.app import create_app
from api.archive.models import NODES
from api.archive.nodes import NodeService
from api.config import Settings
from api.container import Container
from api.deliverables.package import analyse
from api.kit.ids import new_id
from storage.query import Eq, Query
from tests.archive.harness_tree import place_file
from tests.deliverables.packages import package
from tests.works.harness import MANAGER, NOBODY, ORG_READER, Harness, seed, serve

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[Harness]:
    container = Container(settings)
    await container.open()
    try:
        await seed(container)
        async with serve(container, create_app(container=container), Harness) as harness:
            yield harness
    finally:
        await container.close()


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with api(settings) as harness:
        yield harness


async def upload(h: Harness, work: dict[str, Any], files: dict[str, bytes], under: str) -> None:
    svc = NodeService(h.container)
    for rel, data in files.items():
        folder, _, name = f"{under}/{rel}".strip("/").rpartition("/")
        await place_file(svc, MANAGER, work, folder, name, data)


async def node_at(h: Harness, work_id: str, path: str) -> dict[str, Any]:
    node = await NodeService(h.container).by_path(work_id, path)
    assert node is not None
    return node


async def test_analyse_maps_fields_and_serves_reports(h: Harness) -> None:
    work = await h.create(MANAGER)
    await upload(h, work, package(), "納品")
    root = await node_at(h, work["id"], "納品")

    resp = await h.call(
        MANAGER,
        "POST",
        f"/api/v1/works/{work['id']}/deliverables",
        json={"root_node_id": root["id"]},
    )
    assert resp.status_code == 201, resp.text
    rec = resp.json()
    assert rec["index_kind"] == "C"
    assert rec["applied_standard"] == "土木202203-01"
    assert rec["dtd_version"] == "08"
    assert rec["report"]["counts"] == {"E": 0, "W": 0, "N": 0}
    assert rec["fields"]["工事名称"] == "市道中央線道路改良工事"

    photo = await node_at(h, work["id"], "納品/PHOTO/PIC/P0000002.JPG")
    meta = photo["meta"]
    assert meta["title"] == "掘削状況"
    assert meta["doc_class"] == "PHOTO"
    assert meta["role"] == "photo"
    assert meta["photo_date"] == "2026-05-10"
    assert meta["photo_path"] == ["工事", "施工状況写真", "道路土工", "掘削工"]
    assert "No.10+5.0" in meta["names"]
    meet = await node_at(h, work["id"], "納品/MEET/ORG/MEET0011.PDF")
    assert meet["meta"]["title"] == "施工計画の協議"
    assert meet["meta"]["doc_date"] == "2026-04-10"
    index = await node_at(h, work["id"], "納品/INDEX_C.XML")
    assert index["meta"]["role"] == "management"

    stored = await h.container.records.get("works", work["id"])
    assert stored is not None
    assert stored["deliverable"]["title"] == "市道中央線道路改良工事"
    assert stored["deliverable"]["orderer_code"] == "02107999"
    assert stored["deliverable"]["id"] == rec["id"]
    assert len(await h.events("deliverables.analysed")) == 1

    listed = await h.call(MANAGER, "GET", f"/api/v1/works/{work['id']}/deliverables")
    assert [d["id"] for d in listed.json()] == [rec["id"]]
    got = await h.call(ORG_READER, "GET", f"/api/v1/deliverables/{rec['id']}")
    assert got.status_code == 200
    assert got.json()["report"]["profile"] == "mlit"

    tree = (await h.call(MANAGER, "GET", f"/api/v1/deliverables/{rec['id']}/photo-tree")).json()
    assert tree["total"] == 2
    top = tree["tree"][0]
    assert (top["level"], top["label"], top["count"]) == ("写真-大分類", "工事", 2)
    leaf = top["children"][0]["children"][0]["children"][0]
    assert leaf["photos"][0]["node_id"] is not None

    page = await h.call(MANAGER, "GET", f"/api/v1/deliverables/{rec['id']}/report.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "指摘事項はありません" in page.text


async def test_bad_package_report_and_reanalyse_strict(h: Harness) -> None:
    work = await h.create(MANAGER)
    files = package()
    text = files["PHOTO/PHOTO.XML"].decode("cp932").replace("2026-05-10", "2028-01-05")
    files["PHOTO/PHOTO.XML"] = text.encode("cp932")
    files["PHOTO/PIC/Thumbs.db"] = b"x"
    del files["MEET/ORG/MEET0011.PDF"]
    await upload(h, work, files, "")
    rec = await analyse(h.container, work["id"], work["id"])
    counts = rec["report"]["counts"]
    assert counts["E"] == 3  # Thumbs.db, MEET0011.PDF and the declared MEET/ORG missing
    assert counts["W"] >= 1  # photo date outside 工期 (lenient)

    page = await h.call(MANAGER, "GET", f"/api/v1/deliverables/{rec['id']}/report.html")
    assert "エラー（3件）" in page.text
    thumbs = await node_at(h, work["id"], "PHOTO/PIC/Thumbs.db")
    assert f"/#/browse/{rec['work_id']}/{thumbs['id']}" in page.text
    assert "規則18" in page.text

    denied = await h.call(ORG_READER, "POST", f"/api/v1/deliverables/{rec['id']}/analyse", json={})
    assert denied.status_code == 403
    strict = await h.call(
        MANAGER, "POST", f"/api/v1/deliverables/{rec['id']}/analyse", json={"profile": "maff"}
    )
    assert strict.status_code == 201, strict.text
    body = strict.json()
    assert body["id"] != rec["id"]
    assert body["report"]["profile"] == "maff"
    assert body["report"]["counts"]["E"] == 4  # the date is an error under 農水
    page = await h.call(MANAGER, "GET", f"/api/v1/deliverables/{body['id']}/report.html?severity=E")
    assert "警告" not in page.text.split("</p>", 1)[1]


async def test_permissions(h: Harness) -> None:
    work = await h.create(MANAGER)
    await upload(h, work, package(), "")
    rec = await analyse(h.container, work["id"], work["id"])
    for subject, status in ((None, 401), (NOBODY, 404)):
        resp = await h.call(subject, "GET", f"/api/v1/deliverables/{rec['id']}")
        assert resp.status_code == status
        resp = await h.call(subject, "GET", f"/api/v1/works/{work['id']}/deliverables")
        assert resp.status_code == status
    missing = await h.call(MANAGER, "GET", f"/api/v1/deliverables/{new_id()}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "電子納品の検査結果が見つかりません。"
    bad_root = await h.call(
        MANAGER, "POST", f"/api/v1/works/{work['id']}/deliverables", json={"root_node_id": new_id()}
    )
    assert bad_root.status_code == 404
    page = await h.container.records.find(NODES, Query(where=(Eq("work_id", work["id"]),)))
    assert page.items
