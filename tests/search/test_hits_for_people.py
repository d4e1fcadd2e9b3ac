"""Search answers read by people (issue 8 §3 items 1-2): a file hit names its work (工事名,
番号); a 電子納品 package's management files (XML, DTD, stylesheets) stay out unless asked for;
an XML hit's snippet shows the elements' text, never the tags; the 業種 facet carries names.
Runs on every search backend (tantivy always, Elasticsearch with the servers)."""

from __future__ import annotations

import pytest

from tests.search.test_search_api import URL, ingest, place, stored_work
from tests.works.harness import CLERK, ORG_READER, Harness

pytestmark = pytest.mark.anyio

INDEX_XML = (
    '<?xml version="1.0" encoding="Shift_JIS"?>\n<!DOCTYPE constdata SYSTEM "INDE_C08.DTD">\n'
    "<constdata><工事件名等><工事名称>春日川護岸改修工事</工事名称>"
    "<工事内容>護岸工 L=80m</工事内容></工事件名等></constdata>\n"
).encode("cp932")


async def test_hits_name_their_work_and_hide_management_files(h: Harness) -> None:
    work = await stored_work(h, (await h.create(CLERK, title="春日川護岸改修工事"))["id"])
    await place(h, work, "納品", "INDEX_C.XML", INDEX_XML, role="management")
    await place(h, work, "納品", "INDE_C08.DTD", b"<!ELEMENT constdata ANY>", role="management")
    await place(h, work, "納品/MEET", "議事録.txt", "護岸工の協議 L=80m\n".encode())
    await ingest(h)

    found = (await h.call(ORG_READER, "GET", URL, params={"q": "護岸工", "type": "file"})).json()
    names = [hit["path"].rsplit("/", 1)[-1] for hit in found["hits"]]
    assert names == ["議事録.txt"]  # the package's XML is not among the documents
    [hit] = found["hits"]
    assert (hit["work_title"], hit["work_number"]) == ("春日川護岸改修工事", work["number"])

    asked = await h.call(
        ORG_READER, "GET", URL, params={"q": "護岸工", "type": "file", "management": "true"}
    )
    hits = {hit["path"].rsplit("/", 1)[-1]: hit for hit in asked.json()["hits"]}
    assert set(hits) == {"議事録.txt", "INDEX_C.XML"}
    xml = hits["INDEX_C.XML"]
    assert xml["role"] == "management"
    snippet = " ".join(s["snippet"] for s in xml["highlights"])
    assert "<mark>護岸工</mark>" in snippet
    assert "工事内容" not in snippet
    assert "&lt;" not in snippet


async def test_business_type_facet_has_names(h: Harness) -> None:
    await h.create(CLERK, title="塗装の工事", business_type="17")
    found = (await h.call(ORG_READER, "GET", URL, params={"type": "work"})).json()
    buckets = {b["value"]: b["label"] for b in found["facets"]["business_type"]}
    assert buckets["17"] == "塗装工事"  # seed 004, licence kind 17


async def test_map_background_is_none_by_default(h: Harness) -> None:
    got = await h.call(ORG_READER, "GET", "/api/v1/search/map")
    assert got.status_code == 200
    assert got.json() == {"tile_url": None, "attribution": "", "max_zoom": 18}
    assert (await h.call(None, "GET", "/api/v1/search/map")).status_code == 401
