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
from tests.works.harness import MANAGER, NOBODY, ORDERER, ORG_READER, Harness, seed, serve

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


async def matching_work(h: Harness) -> dict[str, Any]:
    """A work whose orderer (発注者コード 02107999) and title are the package's (rule 30)."""
    org = await h.container.records.get("organizations", ORDERER)
    assert org is not None
    await h.container.records.update(
        "organizations", ORDERER, {"code": "02107999", "name": "広島県"}, int(org["version"])
    )
    return await h.create(MANAGER, title="市道中央線道路改良工事")


async def test_analyse_maps_fields_and_serves_reports(h: Harness) -> None:
    work = await matching_work(h)
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
    # the one notice: no virus scanner configured (rule 29)
    assert rec["report"]["counts"] == {"E": 0, "W": 0, "N": 1}
    assert rec["report"]["scan"] == "not_run"
    assert rec["edition"] == "工事完成図書の電子納品等要領（土木） R4.3"
    assert rec["report"]["dtds"]["PHOTO/PHOTO.XML"] == "PHOTO05.DTD"
    assert rec["fields"]["工事名称"] == "市道中央線道路改良工事"

    photo = await node_at(h, work["id"], "納品/PHOTO/PIC/P0000002.JPG")
    meta = photo["meta"]
    assert meta["title"] == "掘削状況"
    assert meta["doc_class"] == "PHOTO"
    assert meta["role"] == "photo"
    assert meta["photo_date"] == "2026-05-10"
    assert meta["photo_path"] == ["工事", "施工状況写真", "道路土工", "掘削工"]
    assert "No.10+5.0" in meta["names"]
    assert (meta["representative"], meta["frequency"], meta["media"]) == (False, False, "1")
    assert meta["photo_category"] == "工事"
    meet = await node_at(h, work["id"], "納品/MEET/ORG/MEET0011.PDF")
    assert meet["meta"]["title"] == "施工計画の協議"
    assert meet["meta"]["doc_date"] == "2026-04-10"
    assert meet["meta"]["meeting_kind"] == "協議"
    index = await node_at(h, work["id"], "納品/INDEX_C.XML")
    assert index["meta"]["role"] == "management"

    stored = await h.container.records.get("works", work["id"])
    assert stored is not None
    assert stored["deliverable"]["title"] == "市道中央線道路改良工事"
    assert stored["deliverable"]["orderer_code"] == "02107999"
    # the search fields of the package (issue 8 item 9)
    summary = stored["deliverable"]
    assert (summary["fiscal_year"], summary["field"], summary["industry"]) == (
        "2026",
        "道路",
        "一般土木工事",
    )
    assert summary["facilities"] == ["中央橋"]
    assert summary["address_codes"] == ["34101"]
    assert summary["bounds"] == {
        "west": round(132 + 27 / 60, 6),
        "east": round(132 + 28 / 60 + 30 / 3600, 6),
        "north": round(34 + 24 / 60 + 30 / 3600, 6),
        "south": round(34 + 23 / 60 + 30 / 3600, 6),
    }
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
    leaf = top["children"][0]["children"][0]["children"][0]["children"][0]
    assert leaf["level"] == "写真タイトル"
    assert leaf["photos"][0]["node_id"] is not None

    page = await h.call(MANAGER, "GET", f"/api/v1/deliverables/{rec['id']}/report.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "エラー 0件 / 警告 0件 / 通知 1件" in page.text
    assert "規則29 ウイルスチェック" in page.text
    assert "ウイルスチェックは実施していません" in page.text
    # Issue 7 item 11: the report page ran with no CSP, nosniff or frame-ancestors. It needs
    # its inline styles and nothing else: no script, no framing by another site.
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"


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


async def test_package_fields_searchable_faceted_and_on_the_map(h: Harness) -> None:
    """Issue 8 items 3 and 9: files no XML names are not indexed as deliverables; the package's
    工事内容/施設名称/住所 find the work; 発注年度/工事分野/工事業種 are facets; the decimal
    境界座標 (132.45-132.475 E, 34.391-34.408 N) make the map filter."""
    work = await matching_work(h)
    files = package()
    files["MEET/ORG/MEET0021.PDF"] = files["MEET/ORG/MEET0011.PDF"]
    await upload(h, work, files, "")
    rec = await analyse(h.container, work["id"], work["id"])
    assert [f["check"] for f in rec["report"]["findings"] if f["rule"] == 4] == ["unreferenced"]
    extra = await node_at(h, work["id"], "MEET/ORG/MEET0021.PDF")
    assert extra["meta"]["role"] == "unreferenced"

    async def search(**params: Any) -> dict[str, Any]:
        resp = await h.call(MANAGER, "GET", "/api/v1/search", params=params)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    meet = await search(type="file", doc_class="MEET")
    paths = [hit["path"] for hit in meet["hits"]]
    assert any(p.endswith("MEET/ORG/MEET0011.PDF") for p in paths)
    assert not any(p.endswith("MEET0021.PDF") for p in paths)
    assert any(
        p.endswith("MEET0021.PDF")
        for p in [h_["path"] for h_ in (await search(type="file", q="MEET0021"))["hits"]]
    )
    for words in ("中央橋", "道路改良 L=120m", "広島県広島市中区基町"):
        found = await search(type="work", q=words)
        assert [hit["id"] for hit in found["hits"]] == [work["id"]], words
    facets = (await search(type="work"))["facets"]
    for name, value in (
        ("fiscal_year", "2026"),
        ("work_field", "道路"),
        ("work_industry", "一般土木工事"),
    ):
        assert {b["value"]: b["count"] for b in facets[name]} == {value: 1}, name
    assert (await search(type="work", fiscal_year="2025"))["total"] == 0
    [hit] = (await search(type="work", work_field="道路"))["hits"]
    assert hit["fiscal_year"] == "2026"
    assert hit["bbox"] == [
        132.45,
        round(34 + 23 / 60 + 30 / 3600, 6),
        round(132 + 28 / 60 + 30 / 3600, 6),
        round(34 + 24 / 60 + 30 / 3600, 6),
    ]
    inside = await search(type="work", bbox="132.46,34.39,132.47,34.40")
    assert inside["total"] == 1
    overlapping = await search(type="work", bbox="132.3,34.0,132.451,34.3917")
    assert overlapping["total"] == 1
    assert (await search(type="work", bbox="133.0,34.0,133.5,34.5"))["total"] == 0
    # the package's files; its XML and DTDs only when asked for (issue 8 §3 item 2)
    box = "132.46,34.39,132.47,34.40"
    assert (await search(type="file", bbox=box, management="true"))["total"] >= 10
    documents = (await search(type="file", bbox=box))["hits"]
    assert documents
    assert all(hit["role"] != "management" for hit in documents)
    assert (await search(type="work", municipality_code="34101"))["total"] == 1
    for bad in ("132.5,34.4,132.4,34.5", "200,34,201,35"):
        resp = await h.call(MANAGER, "GET", "/api/v1/search", params={"bbox": bad})
        assert resp.status_code == 400, bad
        assert "bbox" in resp.json()["detail"]
    resp = await h.call(MANAGER, "GET", "/api/v1/search", params={"bbox": "east"})
    assert resp.status_code == 422


async def test_photo_tree_flags_meet_and_othrs_trees(h: Harness) -> None:
    work = await matching_work(h)
    files = package()
    text = files["PHOTO/PHOTO.XML"].decode("cp932")
    text = text.replace("<代表写真>0</代表写真>", "<代表写真>1</代表写真>", 1)
    files["PHOTO/PHOTO.XML"] = text.encode("cp932")
    await upload(h, work, files, "")
    rec = await analyse(h.container, work["id"], work["id"])
    url = f"/api/v1/deliverables/{rec['id']}"
    full = (await h.call(MANAGER, "GET", f"{url}/photo-tree")).json()
    only = (await h.call(MANAGER, "GET", f"{url}/photo-tree?representative=true")).json()
    assert (full["total"], only["total"]) == (2, 1)
    path = []
    node = only["tree"][0]
    while node["children"]:
        path.append(node["label"])
        node = node["children"][0]
    assert [*path, node["label"]] == [
        "工事",
        "着手前及び完成写真",
        "道路土工",
        "掘削工",
        "着手前 全景",
    ]
    assert node["photos"][0]["representative"] is True
    meet = (await h.call(MANAGER, "GET", f"{url}/meet-tree")).json()
    leaf = meet["tree"][0]["children"][0]
    assert (meet["tree"][0]["label"], leaf["label"]) == ("協議", "2026-04-10")
    assert (
        leaf["files"][0]["node_id"] == (await node_at(h, work["id"], "MEET/ORG/MEET0011.PDF"))["id"]
    )
    othrs = (await h.call(MANAGER, "GET", f"{url}/othrs-tree")).json()
    assert othrs["tree"][0]["label"] == "品質証明"
    groups = (
        await h.call(MANAGER, "GET", f"/api/v1/works/{work['id']}/tree-by?key=photo_category")
    ).json()
    assert {g["value"]: g["files"] for g in groups["groups"]}["工事"] == 2


async def test_media_in_the_same_work_are_checked_together(h: Harness) -> None:
    """§1.4 メディア番号/メディア総枚数: two uploaded media of one package (item 9)."""
    from tests.deliverables.test_fidelity import _volumes

    work = await matching_work(h)
    await upload(h, work, _volumes(package()), "")
    first = await node_at(h, work["id"], "VOL1")
    rec = await analyse(h.container, work["id"], first["id"])
    checks = [f["check"] for f in rec["report"]["findings"] if f["severity"] != "N"]
    assert checks == []
    assert rec["report"]["volumes"] == {"1": "VOL1", "2": "VOL2"}
    photo = await node_at(h, work["id"], "VOL2/PHOTO/PIC/P0000002.JPG")
    assert (photo["meta"]["role"], photo["meta"]["media"]) == ("photo", "2")
    assert len(rec["volume_roots"]) == 2
