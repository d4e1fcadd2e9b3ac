"""Archive search API: permissions, ACL inside the index (hits and facets), Japanese matching,
dates (和暦), page highlights, cursor paging, the relevance window and the listings."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest

import api.search.service as search_service
from api.archive.cas import upload_key
from api.archive.indexing import flush_pending
from api.archive.ingest import IngestService
from api.archive.nodes import NodeService
from api.keys import scopes
from api.kit.clock import JST
from tests.datagen import photos
from tests.datagen.pdfs import japanese
from tests.support.streams import chunks
from tests.works.harness import (
    ARCHIVIST,
    BUILDER,
    CLERK,
    CONTRACTOR,
    NOBODY,
    OPERATOR,
    ORDERER,
    ORG_READER,
    OTHER_ORDERER,
    STRANGER,
    Harness,
)

pytestmark = pytest.mark.anyio
URL = "/api/v1/search"

PAGES = [
    "第1頁 表紙 施工計画書",
    "第2頁 ｺﾝｸﾘｰﾄ打設 <script>x</script>",
    "第3頁 品質管理",
    "第4頁 コンクリート強度",
]


# Files go the way they go in production: stored and placed by ``NodeService.add_file`` (the
# ingest job is recorded by the harness), then the ingest job runs (``api.archive.ingest``:
# detect, extract, ``api.archive.indexing`` builds and writes the document). Nothing in the
# index is written by hand.
async def place(
    h: Harness, work: dict[str, Any], folder: str, name: str, data: bytes, **meta: Any
) -> dict[str, Any]:
    container = h.container
    async with container.uow() as uow:
        scope = scopes.archive(str(work["id"]))
        info = await container.blobs.put(upload_key(scope), chunks(data))
        node = await NodeService(container).add_file(
            OPERATOR, work, folder, name, info, uow=uow, scope=scope, meta=meta or None
        )
    return node


async def ingest(h: Harness) -> None:
    """Run the ingest jobs the harness recorded, as a worker would, and flush the index."""
    jobs: list[tuple[str, dict[str, Any]]] = h.jobs  # type: ignore[attr-defined]
    queued = [kw for task, kw in jobs if task == "ingest.file"]
    jobs[:] = [(task, kw) for task, kw in jobs if task != "ingest.file"]
    service = IngestService(h.container)
    for kw in queued:
        assert await service.ingest(str(kw["node_id"])) == "done"
    await flush_pending(h.container)


def pdf(*pages: str) -> bytes:
    return japanese([[page] for page in pages])


async def stored_work(h: Harness, work_id: str) -> dict[str, Any]:
    record = await h.container.records.get("works", work_id)
    assert record is not None
    return record


@pytest.fixture
async def corpus(h: Harness) -> dict[str, Any]:
    mine = await h.create(CLERK, title="福山市道路改良工事", category="道路")
    theirs = await h.create(
        STRANGER,
        title="尾道市橋梁補修工事",
        category="橋梁",
        orderer_org_id=OTHER_ORDERER,
        office_id=None,
    )
    a = await stored_work(h, mine["id"])
    b = await stored_work(h, theirs["id"])
    plan = await place(h, a, "PLAN", "施工計画書.pdf", pdf(*PAGES), doc_date="2024-04-01")
    photo = await place(
        h,
        a,
        "PHOTO",
        "P0000001.JPG",
        photos.jpeg(random.Random(1), "2024:04:01 09:30:00"),
        title="着手前 全景",
    )
    other = await place(h, b, "PLAN", "計画書.pdf", pdf("コンクリート 橋台"), doc_date="2024-05-10")
    await ingest(h)
    return {"a": a, "b": b, "plan": plan, "photo": photo, "other": other}


async def search(h: Harness, who: Any, **params: Any) -> dict[str, Any]:
    resp = await h.call(who, "GET", URL, params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def ids(body: dict[str, Any]) -> set[str]:
    return {hit["id"] for hit in body["hits"]}


@pytest.mark.parametrize("path", ["", "/export.csv", "/export.xlsx"])
async def test_anonymous_is_refused_everywhere(h: Harness, path: str) -> None:
    resp = await h.call(None, "GET", URL + path, params={"q": "工事"})
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_permission_matrix_and_acl_in_index(h: Harness, corpus: dict[str, Any]) -> None:
    a, b = corpus["a"], corpus["b"]
    a_all = {a["id"], corpus["plan"]["id"], corpus["photo"]["id"]}
    b_all = {b["id"], corpus["other"]["id"]}
    expected = {
        "operator": (OPERATOR, a_all | b_all),
        "member (registered it)": (CLERK, a_all),
        "org reader grant": (ORG_READER, a_all),
        "no grant": (NOBODY, set()),
        "archive grant, work not archived": (ARCHIVIST, set()),
        "other orderer": (STRANGER, b_all),
        "contractor, not a member": (BUILDER, set()),
    }
    for label, (who, want) in expected.items():
        body = await search(h, who)
        assert ids(body) == want, label
        assert body["total"] == len(want), label
        # facet counts never count what the subject may not read
        counted = sum(bucket["count"] for bucket in body["facets"]["status"])
        assert counted == len(want), label
        orderers = {bucket["value"] for bucket in body["facets"]["orderer"]}
        assert orderers <= {a["orderer_org_id"], b["orderer_org_id"]}
        if who is ORG_READER:
            assert orderers == {ORDERER}
            [bucket] = body["facets"]["orderer"]
            assert bucket["label"] == ORDERER  # names resolved from organizations
    # a text query does not leak either
    assert ids(await search(h, NOBODY, q="コンクリート")) == set()
    assert ids(await search(h, ORG_READER, q="コンクリート")) == {corpus["plan"]["id"]}


async def test_japanese_substrings_width_and_kana(h: Harness, corpus: dict[str, Any]) -> None:
    plan = corpus["plan"]["id"]
    for q in ("コンクリート", "ｺﾝｸﾘｰﾄ", "こんくりーと", "ｺﾝｸﾘｰﾄ 強度", "強度", "施工"):
        assert plan in ids(await search(h, ORG_READER, q=q)), q
    assert ids(await search(h, ORG_READER, q="改良")) == {corpus["a"]["id"]}
    assert ids(await search(h, ORG_READER, q="道路改良　工事")) == {corpus["a"]["id"]}
    assert ids(await search(h, ORG_READER, q="ＰＬＡＮ")) >= {plan}  # full-width latin
    assert ids(await search(h, ORG_READER, q="存在しない語")) == set()


async def test_filters_and_facets(h: Harness, corpus: dict[str, Any]) -> None:
    body = await search(h, OPERATOR, type="file", doc_class="PHOTO")
    assert ids(body) == {corpus["photo"]["id"]}
    [hit] = body["hits"]
    assert hit["thumbnail_url"] == f"/api/v1/files/{hit['id']}/thumbnail"
    body = await search(h, OPERATOR, category="道路")
    assert ids(body) == {corpus["a"]["id"], corpus["plan"]["id"], corpus["photo"]["id"]}
    facets = {b["value"]: b["count"] for b in body["facets"]["file_type"]}
    assert facets == {"pdf": 1, "jpeg": 1}
    body = await search(h, OPERATOR, type="work", status=["registered"], orderer=[OTHER_ORDERER])
    assert ids(body) == {corpus["b"]["id"]}
    body = await search(h, OPERATOR, contractor=[CONTRACTOR], type="work")
    assert len(body["hits"]) == 2
    assert {b["value"]: b["label"] for b in body["facets"]["contractor"]} == {
        CONTRACTOR: CONTRACTOR
    }


async def test_dates_in_japanese_eras(h: Harness, corpus: dict[str, Any]) -> None:
    photo, plan, other = corpus["photo"]["id"], corpus["plan"]["id"], corpus["other"]["id"]
    assert ids(await search(h, OPERATOR, photo_from="R6.4.1", photo_to="令和6年4月1日")) == {photo}
    assert ids(await search(h, OPERATOR, doc_from="令和6年4月", doc_to="2024年4月")) == {plan}
    assert ids(await search(h, OPERATOR, doc_from="令和6年")) == {plan, other}
    assert ids(await search(h, OPERATOR, doc_to="２０２４／４／３０")) == {plan}
    assert ids(await search(h, OPERATOR, doc_to="平成31年")) == set()
    # work periods overlap the range: 2026-06-01..2026-08-31
    works = await search(h, OPERATOR, type="work", period_from="令和8年8月", period_to="R8.12.31")
    assert ids(works) == {corpus["a"]["id"], corpus["b"]["id"]}
    assert ids(await search(h, OPERATOR, type="work", period_from="令和9年")) == set()


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("doc_from", "平成31年5月1日"),
        ("doc_to", "令和元年4月"),
        ("photo_from", "6年"),
        ("period_to", "2024-02-30"),
        ("period_from", "きのう"),
    ],
)
async def test_bad_dates_are_400_naming_the_parameter(h: Harness, param: str, value: str) -> None:
    for path in ("", "/export.csv"):
        resp = await h.call(OPERATOR, "GET", URL + path, params={param: value})
        assert resp.status_code == 400, resp.text
        problem = resp.json()
        assert problem["code"] == "validation_failed"
        assert problem["param"] == param
        assert param in problem["detail"]
        assert value in problem["detail"]


async def test_inverted_range_is_400(h: Harness) -> None:
    resp = await h.call(OPERATOR, "GET", URL, params={"doc_from": "R6", "doc_to": "R5"})
    assert resp.status_code == 400
    assert resp.json()["param"] == "doc_date"


async def test_page_highlights_escaped_and_marked(h: Harness, corpus: dict[str, Any]) -> None:
    body = await search(h, OPERATOR, q="コンクリート")
    [hit] = [x for x in body["hits"] if x["id"] == corpus["plan"]["id"]]
    pages = [x["page"] for x in hit["highlights"]]
    assert pages == [2, 4]
    assert hit["highlights"][0]["snippet"] == (
        "第2頁 <mark>ｺﾝｸﾘｰﾄ</mark>打設 &lt;script&gt;x&lt;/script&gt;"
    )
    assert "<mark>コンクリート</mark>" in hit["highlights"][1]["snippet"]
    body = await search(h, OPERATOR, q="道路")
    [work] = [x for x in body["hits"] if x["id"] == corpus["a"]["id"]]
    assert work["title_highlight"] == "福山市<mark>道路</mark>改良工事"
    assert work["highlights"] == []


async def many(h: Harness, n: int) -> tuple[dict[str, Any], list[str]]:
    work = await stored_work(h, (await h.create(CLERK, title="大量ファイル工事"))["id"])
    nodes = []
    for i in range(n):
        meta = {} if i % 5 == 0 else {"doc_date": f"2023-{1 + i % 12:02d}-01"}
        body = f"出来形管理 {i}".encode()
        nodes.append(await place(h, work, "REPORT", f"報告書{i % 7:02d}-{i:03d}.txt", body, **meta))
    await ingest(h)
    return work, [d["id"] for d in nodes]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "date"},
        {"sort": "date", "date_field": "doc_date", "order": "asc"},
        {"sort": "title"},
        {"sort": "title", "order": "desc"},
        {"sort": "relevance"},
    ],
)
async def test_cursor_paging_visits_every_hit(h: Harness, params: dict[str, str]) -> None:
    _, doc_ids = await many(h, 57)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        query = {"q": "出来形", "limit": 10, **params}
        if cursor:
            query["cursor"] = cursor
        body = await search(h, ORG_READER, **query)
        assert body["total"] == 57
        assert (body["facets"] == {}) == bool(cursor)  # facets come with the first page
        seen += [hit["id"] for hit in body["hits"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(doc_ids)
    assert len(seen) == len(set(seen))


async def test_empty_query_lists_by_date(h: Harness) -> None:
    await many(h, 12)
    body = await search(h, OPERATOR, type="file")
    assert body["sort"] == "date"
    assert body["order"] == "desc"
    dates = [hit["updated_at"] for hit in body["hits"]]
    assert dates == sorted(dates, reverse=True)


async def test_relevance_window_notice(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_service, "MAX_RELEVANCE_WINDOW", 25)
    await many(h, 57)
    seen = 0
    cursor = None
    notice = None
    for _ in range(10):
        query: dict[str, Any] = {"q": "出来形", "limit": 10}
        if cursor:
            query["cursor"] = cursor
        body = await search(h, OPERATOR, **query)
        notice = body["notice"]
        seen += len(body["hits"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == 24  # the window less the hit adapters read ahead
    assert notice is not None
    assert "日付順" in notice
    by_date = await search(h, OPERATOR, q="出来形", sort="date", limit=10)
    assert by_date["notice"] is None


async def test_bad_cursor_is_400(h: Harness) -> None:
    resp = await h.call(OPERATOR, "GET", URL, params={"cursor": "%%%garbage"})
    assert resp.status_code == 400


async def test_export_csv_and_cap(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await many(h, 30)
    resp = await h.call(ORG_READER, "GET", URL + "/export.csv", params={"type": "file"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" in resp.headers["content-disposition"]
    assert resp.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    # labels, not codes or ids (issue 8 §3 item 5): every file row names its work
    assert rows[0][:5] == ["種別", "名称", "工事名・業務名", "工事番号・業務番号", "パス"]
    assert "ID" not in rows[0]
    assert "案件ID" not in rows[0]
    assert len(rows) == 31
    head = rows[0]
    assert {r[0] for r in rows[1:]} == {"ファイル"}
    assert {r[2] for r in rows[1:]} == {"大量ファイル工事"}
    assert all(r[head.index("発注者")] == ORDERER for r in rows[1:])  # orderer name resolved
    assert {r[head.index("業種")] for r in rows[1:]} == {"塗装工事"}  # 業種 17, seed 004
    assert {r[head.index("書類区分")] for r in rows[1:]} == {"報告書"}
    assert {r[head.index("状態")] for r in rows[1:]} == {"登録済"}
    assert {r[head.index("工事・業務")] for r in rows[1:]} == {"工事"}
    # JST: the stored UTC time plus nine hours, as 2026/06/01 09:05:00
    stamp = rows[1][head.index("更新日時（日本時間）")]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", stamp)
    name = unquote(resp.headers["content-disposition"].split("UTF-8''")[1])
    when = datetime.strptime(name, "検索結果_%Y%m%d-%H%M%S.csv").replace(tzinfo=JST)
    assert abs((datetime.now(UTC) - when).total_seconds()) < 120
    # nothing for those without access
    resp = await h.call(NOBODY, "GET", URL + "/export.csv")
    assert len(list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))) == 1

    monkeypatch.setattr(search_service, "EXPORT_CAP", 12)
    monkeypatch.setattr(search_service, "EXPORT_PAGE", 5)
    resp = await h.call(ORG_READER, "GET", URL + "/export.csv", params={"type": "file"})
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 12 + 1
    assert rows[-1][0].startswith("※ ")
    assert "12" in rows[-1][0]


async def test_export_xlsx(h: Harness) -> None:
    work, _ = await many(h, 3)
    await place(h, work, "REPORT", "=1+2", "出来形管理 式".encode())
    await ingest(h)
    resp = await h.call(OPERATOR, "GET", URL + "/export.xlsx", params={"q": "出来形"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(resp.content)) as book:
        xml = "".join(
            book.read(name).decode()
            for name in book.namelist()
            if name.startswith("xl/") and name.endswith(".xml")
        )
    assert "報告書" in xml
    assert "<f>" not in xml  # "=1+2" stays text
