"""The document list (seed 001 別表1-1 5(4)(7)(8)): search and sort by class and date, the
approval record of documents filed from decided proposals, the list as CSV and Excel, and the
standard folder sets (§3-4) an orderer keeps."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest

from api.kit.ids import new_id
from api.permissions.policy import OrgKind, Subject
from tests.folders.support import PDF, by_path, decided, folders, upload
from tests.proposals.harness import API, BUILDER, ORDERER, SUP, VIEWER, Harness

pytestmark = pytest.mark.anyio

KEEPER = Subject(new_id(), "keeper", ORDERER, OrgKind.ORDERER, frozenset({"master.manage"}))


async def docs(h: Harness, work_id: str, **params: Any) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    body = await h.ok(VIEWER, "GET", f"/works/{work_id}/documents?{query}")
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_search_and_sort_by_class_and_date(h: Harness) -> None:
    """5(4): 分類、日付等により検索、並べ替えし、一覧表示できる."""
    work = await h.work()
    wid = work["id"]
    await folders(h, wid)
    await upload(h, wid, "/02_施工計画書", "施工計画書.pdf", PDF, "application/pdf")
    h.clock.advance(days=2)
    await upload(h, wid, "/07_品質管理", "試験成績表.pdf", PDF, "application/pdf")
    h.clock.advance(days=3)
    await upload(h, wid, "/07_品質管理/コンクリート", "強度試験.pdf", PDF, "application/pdf")

    all_docs = await docs(h, wid, sort="date", order="desc")
    assert [d["name"] for d in all_docs] == ["強度試験.pdf", "試験成績表.pdf", "施工計画書.pdf"]
    assert [d["registered_on"] for d in all_docs] == ["2026-06-13", "2026-06-10", "2026-06-08"]
    assert [d["doc_type"] for d in all_docs] == ["品質管理", "品質管理", "施工計画書"]

    quality = await docs(h, wid, doc_type="品質管理", sort="name")
    assert {d["name"] for d in quality} == {"試験成績表.pdf", "強度試験.pdf"}
    by_type = await docs(h, wid, sort="type")
    assert [d["doc_type"] for d in by_type] == sorted(d["doc_type"] for d in by_type)
    window = await docs(h, wid, date_from="2026-06-09", date_to="2026-06-12")
    assert [d["name"] for d in window] == ["試験成績表.pdf"]
    folder = by_path(await folders(h, wid))["/07_品質管理"]
    below = await docs(h, wid, folder_id=folder["id"], sort="name")
    assert {d["folder"] for d in below} == {"/07_品質管理", "/07_品質管理/コンクリート"}
    text = await docs(h, wid, q="強度")
    assert [d["name"] for d in text] == ["強度試験.pdf"]
    r = await h.call(
        VIEWER, "GET", f"{API}/works/{wid}/documents?date_from=2026-06-12&date_to=2026-06-01"
    )
    assert r.status_code == 400


async def test_decided_proposals_are_filed_with_their_approval_record(h: Harness) -> None:
    """5(8): 承認の記録（承認者名等）を表示できる — a decided proposal filed as a document
    shows its approvers and dates; filing again only prints what changed."""
    work = await h.work()
    wid = work["id"]
    await folders(h, wid)
    await decided(h, wid)
    state = await h.ok(BUILDER, "POST", f"/works/{wid}/folders/file-proposals", 202)
    assert state["state"] in ("queued", "done")
    listing = await folders(h, wid)
    assert listing["filing"]["state"] == "done"
    assert listing["filing"]["counts"]["filed"] == 1
    items = await docs(h, wid)
    filed = [d for d in items if d["proposal_id"]]
    assert len(filed) == 1
    doc = filed[0]
    assert doc["folder"] == "/03_打合せ簿"
    assert doc["doc_type"] == "打合せ簿"
    assert doc["name"] == "0001_区画線の施工時期について.pdf"
    assert [(s["role"], s["name"], s["date"]) for s in doc["approvals"]] == [
        ("承認", "監督 一郎", "2026/06/08"),
        ("承認", "総括 二郎", "2026/06/09"),
    ]
    await h.ok(BUILDER, "POST", f"/works/{wid}/folders/file-proposals", 202)
    listing = await folders(h, wid)
    assert listing["filing"]["counts"] == {"filed": 0, "updated": 0, "unchanged": 1}

    # the list as CSV (UTF-8 with BOM for Excel) and as an Excel workbook (5(7))
    r = await h.call(VIEWER, "GET", f"{API}/works/{wid}/documents.csv?sort=name")
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["書類種別", "フォルダ", "ファイル名"]
    assert rows[1][0] == "打合せ簿"
    assert "監督 一郎 2026/06/08" in rows[1][7]
    r = await h.call(VIEWER, "GET", f"{API}/works/{wid}/documents.xlsx")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "書類種別"
    assert values[1][2] == "0001_区画線の施工時期について.pdf"


async def test_an_orderer_keeps_its_own_folder_set(h: Harness) -> None:
    """§3-4 (editable) and 別表1-1 8(4): an orderer's master.manage holder replaces the set its
    works start with; existing works keep their folders; bad sets are refused."""
    await h.container.records.insert(
        "users",
        {"id": KEEPER.user_id, "login_id": "keeper", "org_id": ORDERER, "name": "管理 花子"},
    )
    mine = await h.ok(SUP, "GET", "/folder-templates/construction")
    assert mine["own"] is False
    assert len(mine["folders"]) == 12
    body = {
        "folders": [
            {"name": "施工計画", "doc_type": "施工計画書", "delivery": "PLAN"},
            {
                "name": "打合せ",
                "doc_type": "打合せ簿",
                "delivery": "MEET",
                "children": [{"name": "協議", "doc_type": "打合せ簿"}],
            },
            {"name": "写真", "doc_type": "工事写真", "delivery": "PHOTO"},
        ]
    }
    r = await h.call(SUP, "PUT", f"{API}/folder-templates/construction", json=body)
    assert r.status_code == 403
    saved = await h.ok(KEEPER, "PUT", "/folder-templates/construction", json=body)
    assert saved["own"] is True
    work = await h.work()
    paths = sorted(by_path(await folders(h, work["id"])))
    assert paths == ["/写真", "/打合せ", "/打合せ/協議", "/施工計画"]
    for bad, code in (
        ({"folders": [{"name": "a"}, {"name": "A"}]}, 400),
        ({"folders": [{"name": "報告", "delivery": "REPORT"}]}, 400),
        (
            {
                "folders": [
                    {
                        "name": "x",
                        "children": [
                            {"name": "y", "children": [{"name": "z", "children": [{"name": "w"}]}]}
                        ],
                    }
                ]
            },
            400,
        ),
        ({"folders": [{"name": "a/b"}]}, 400),
    ):
        r = await h.call(KEEPER, "PUT", f"{API}/folder-templates/construction", json=bad)
        assert r.status_code == code, r.text
    reset = await h.ok(KEEPER, "DELETE", "/folder-templates/construction")
    assert reset["own"] is False
