"""The search and the browser as people use them (issue 8 §3 items 2-5, 9): a file hit names
its work; the package's management files stay out unless asked for and an XML hit shows text,
not tags; a PDF hit's page opens the viewer at that page with the phrase marked; the browser
links back to the work and the search, its split between list and documents moves and is
kept, 並べて開く is a labelled control, files can be added from it; photos show as an album,
a selection prints as a 写真帳, a photo shows its 写真情報; exports carry 工事名 and wait for
results."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.datagen import pdfs
from tests.deliverables.packages import PHOTO, package, sjis
from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

TITLE = "春日川橋梁下部工工事"
PHRASE = "橋台の配筋状況を確認"
PDF_NAME = "配筋検査記録簿.pdf"
BROKEN_XML = "途中で切れた記録.xml"


def wait_ingested(stack: Stack, work_id: str, count: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = stack.api.get(f"/works/{work_id}/ingest")["counts"]
        if counts.get("done", 0) + counts.get("failed", 0) >= count:
            return
        time.sleep(0.5)
    raise AssertionError("not ingested in time")


def put(stack: Stack, work_id: str, folder: str, name: str, data: bytes) -> None:
    r = stack.api.client.post(
        f"/works/{work_id}/files",
        data={"folder": folder, "on_conflict": "replace"},
        files={"file": (name, data, "application/octet-stream")},
    )
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def world(stack: Stack) -> dict[str, Any]:
    """A work with a checked package and a three-page PDF whose phrase is on page 3."""
    body = work_body(stack.orgs["orderer"], [stack.orgs["contractor"]])
    body.update(title=TITLE, number="R8-E2E-BRW")
    work = stack.api.post("/works", body)
    stack.api.post(
        f"/works/{work['id']}/members",
        {"user_id": stack.users["contractor1"], "role": "contractor_member"},
    )
    files = package()
    # 撮影年月日 as given by the package, even when it is no real day (shown as invalid)
    files["PHOTO/PHOTO.XML"] = sjis(PHOTO.replace("2026-05-10", "2026-02-30"))
    for rel, data in files.items():
        folder, _, name = f"納品/{rel}".rpartition("/")
        put(stack, work["id"], "/" + folder, name, data)
    pages = [
        ["配筋検査記録簿", "第1頁"],
        ["検査項目", "かぶり厚さ"],
        ["検査結果", f"{PHRASE}した。"],
    ]
    put(stack, work["id"], "/報告書", PDF_NAME, pdfs.japanese(pages))
    put(stack, work["id"], "/報告書", BROKEN_XML, "<記録><項目>未完".encode())
    wait_ingested(stack, work["id"], len(files) + 2)
    items = stack.api.get(f"/works/{work['id']}/tree")["items"]
    root = next(n for n in items if n["name"] == "納品")
    stack.api.post(f"/works/{work['id']}/deliverables", {"root_node_id": root["id"]})
    # the check re-indexes the package's files with their roles: wait for it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = stack.api.get("/search", q="市道中央線道路改良工事", management="true", type="file")
        if any(h.get("role") == "management" for h in found["hits"]):
            break
        time.sleep(0.5)
    return {"work": work}


def test_pdf_hit_names_its_work_and_opens_at_the_page(
    page: Page, stack: Stack, world: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto("/#/search")
    page.get_by_test_id("search-box").fill(PHRASE)
    page.get_by_test_id("search-submit").click()
    hit = page.get_by_test_id("search-hit").filter(has_text=PDF_NAME).first
    expect(hit.get_by_test_id("hit-work")).to_contain_text(f"{TITLE}（R8-E2E-BRW）")
    looks_right(page, "search-hit-work")
    hit.get_by_test_id("hit-page").first.click()
    pane = page.get_by_test_id("viewer-pane").first
    expect(pane).to_have_attribute("data-page", "3", timeout=30_000)
    expect(pane).to_have_attribute("data-highlights", re.compile(r"^[1-9]"))
    assert pane.locator(".pdf-mark").count() >= 1
    looks_right(page, "viewer-pdf-highlight", sizes=("desktop", "1024"))
    # back to the search it came from
    page.get_by_test_id("browse-to-search").click()
    expect(page.get_by_test_id("search-box")).to_have_value(PHRASE)


def test_management_files_only_when_asked_and_text_not_tags(
    page: Page, stack: Stack, world: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto("/#/search?q=%E5%B8%82%E9%81%93%E4%B8%AD%E5%A4%AE%E7%B7%9A&type=file")  # 市道中央線
    expect(page.get_by_test_id("search-summary")).to_be_visible()
    assert page.get_by_test_id("search-hit").filter(has_text="INDEX_C.XML").count() == 0
    page.get_by_test_id("search-management").check()
    hit = page.get_by_test_id("search-hit").filter(has_text="INDEX_C.XML").first
    expect(hit).to_be_visible()
    snippets = hit.locator(".snippet").all_inner_texts()
    assert snippets
    assert not any("<" in s or "工事名称" in s for s in snippets), snippets


def test_browser_links_split_beside_and_upload(
    page: Page, stack: Stack, world: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    work = world["work"]
    items = stack.api.get(f"/works/{work['id']}/tree")["items"]
    root = next(n for n in items if n["name"] == "納品")
    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto(f"/#/browse/{work['id']}/{root['id']}")
    expect(page.get_by_test_id("browse-to-work")).to_have_attribute("href", f"#/works/{work['id']}")
    expect(page.get_by_test_id("browse-upload")).to_have_attribute("href", f"#/upload/{work['id']}")
    listing = page.get_by_test_id("listing")
    listing.get_by_test_id("listing-row").filter(has_text="INDEX_C.XML").click()
    page.get_by_test_id("viewer-pane").wait_for()
    split = page.get_by_test_id("browse-split")
    expect(split).to_be_visible()
    before = int(split.get_attribute("aria-valuenow") or 0)
    split.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(split).to_have_attribute("aria-valuenow", str(before + 10))
    box = listing.bounding_box()
    assert box is not None
    assert box["height"] > 4 * 36  # more than the 3.5 rows it had
    # 並べて開く: a labelled button opens the chosen file beside the open one; the arrow keys
    # choose a row without opening it
    beside = page.get_by_test_id("open-beside-selected")
    expect(beside).to_contain_text("並べて開く")
    listing.focus()
    page.keyboard.press("End")  # INDEX_C.XML (open), the last by name
    page.keyboard.press("ArrowUp")  # INDE_C08.DTD
    expect(listing.locator('[aria-selected="true"]')).to_contain_text("INDE_C08.DTD")
    expect(beside).to_be_enabled()
    beside.click()
    expect(page.get_by_test_id("viewer-pane")).to_have_count(2)
    looks_right(page, "browse-split-beside")
    # the split is kept for the next visit
    page.reload()
    page.get_by_test_id("listing").wait_for()
    assert page.evaluate("() => localStorage.getItem('kura.browse.split')") == str(before + 10)


def test_dtd_and_broken_xml_open_as_text(page: Page, stack: Stack, world: dict[str, Any]) -> None:
    """A DTD and a malformed XML show as text, without the browser's parser-error document
    (its inline styles are refused by the interface's Content-Security-Policy, which the
    browser reports as a console error: the error watch fails the test on it)."""
    from playwright.sync_api import expect

    work = world["work"]
    items = stack.api.get(f"/works/{work['id']}/tree")["items"]
    login(page, "contractor1", stack.passwords["contractor1"])
    for folder, name, text in (
        ("納品", "INDE_C08.DTD", "<!-- dtd -->"),
        ("報告書", BROKEN_XML, "<記録><項目>未完"),
    ):
        node = next(n for n in items if n["name"] == folder)
        page.goto(f"/#/browse/{work['id']}/{node['id']}")
        page.get_by_test_id("listing").get_by_test_id("listing-row").filter(has_text=name).click()
        viewer = page.get_by_test_id("viewer-pane")
        expect(viewer.locator("pre.text-view")).to_have_text(text)


def test_album_photo_book_and_photo_info(page: Page, stack: Stack, world: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    work = world["work"]
    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto(f"/#/browse/{work['id']}")
    page.get_by_test_id("tab-photos").click()
    rows = page.get_by_test_id("listing").get_by_test_id("listing-row")
    first = rows.filter(has_text="着手前").first
    expect(first.locator(".col-size")).not_to_have_text("")  # サイズ and 種類 filled in
    expect(first.locator(".col-type")).to_have_text("JPG")
    page.get_by_test_id("photo-view-album").click()
    album = page.get_by_test_id("album")
    expect(album.locator(".album-heading").first).to_contain_text("道路土工 / 掘削工")
    cards = album.get_by_test_id("album-card")
    expect(cards).to_have_count(2)
    expect(page.get_by_test_id("album-print")).to_be_disabled()
    cards.nth(0).get_by_test_id("album-choose").check()
    cards.nth(1).get_by_test_id("album-choose").check()
    expect(page.get_by_test_id("album-selected")).to_contain_text("2枚")
    looks_right(page, "browse-album")
    with page.expect_download() as info:
        page.get_by_test_id("album-print").click()
    download = info.value
    assert download.suggested_filename.startswith("写真帳_R8-E2E-BRW_")
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    digging = cards.filter(has_text="掘削状況")
    expect(digging.locator(".album-date.invalid")).to_have_text(
        "2026-02-30（日付として正しくありません）"
    )
    cards.nth(0).get_by_test_id("album-open").click()
    panel = page.get_by_test_id("photo-info")
    expect(panel).to_contain_text("着手前 全景")
    expect(panel).to_contain_text("道路土工")
    expect(panel).to_contain_text("2026-04-06")
    assert panel.get_by_test_id("photo-date-invalid").count() == 0
    looks_right(page, "viewer-photo-info", sizes=("desktop", "1024"))
    page.get_by_test_id("photo-view-album").click()
    digging.get_by_test_id("album-open").click()
    expect(page.get_by_test_id("photo-info").get_by_test_id("photo-date-invalid")).to_have_text(
        "2026-02-30（日付として正しくありません）"
    )


def test_exports_name_the_work_and_wait_for_results(
    page: Page, stack: Stack, world: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto("/#/search?q=%E5%AD%98%E5%9C%A8%E3%81%97%E3%81%AA%E3%81%84%E8%AA%9E%E5%8F%A5")
    expect(page.get_by_test_id("search-summary")).to_contain_text("見つかりません")
    expect(page.get_by_test_id("export-csv")).to_be_disabled()
    expect(page.get_by_test_id("export-xlsx")).to_be_disabled()
    page.get_by_test_id("search-box").fill(PHRASE)
    page.get_by_test_id("search-submit").click()
    expect(page.get_by_test_id("export-csv")).to_be_enabled()
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert re.fullmatch(r"検索結果_\d{8}-\d{6}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig") as fh:
        rows = list(csv.reader(io.StringIO(fh.read())))
    head = rows[0]
    row = next(r for r in rows[1:] if r[1].startswith("配筋検査記録簿") or PDF_NAME in r[4])
    assert row[head.index("工事名・業務名")] == TITLE
    assert row[head.index("工事番号・業務番号")] == "R8-E2E-BRW"
    assert row[head.index("書類区分")] in ("", "報告書")


def test_map_filter_without_outside_requests(
    page: Page, stack: Stack, world: dict[str, Any]
) -> None:
    """The works with 境界座標 on a map; the area shown (or a drawn rectangle) filters the
    search; with no tile source configured nothing is fetched from elsewhere."""
    from playwright.sync_api import expect

    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url) if not r.url.startswith((stack.url, "data:", "blob:")) else None
        ),
    )
    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto("/#/search?type=work")
    page.get_by_test_id("search-map-toggle").click()
    panel = page.get_by_test_id("map-panel")
    expect(panel).to_have_attribute("data-works", re.compile(r"^[1-9]"))
    expect(page.get_by_test_id("map-status")).to_contain_text("件の工事")
    options = page.get_by_test_id("map-municipality").locator("option").all_inner_texts()
    assert any("34101" in o for o in options), options  # the package's 住所コード
    looks_right(page, "search-map")
    # the area shown (the works' rectangles, fitted) as the filter: the work stays found
    page.get_by_test_id("map-use-view").click()
    expect(page.get_by_test_id("search-area")).to_contain_text("地図の範囲")
    assert "bbox=" in page.url
    expect(page.get_by_test_id("search-hit").filter(has_text=TITLE)).to_have_count(1)
    # an area far away: nothing
    far = "/#/search?type=work&bbox=140.00000%2C40.00000%2C140.10000%2C40.10000"
    page.goto(far)
    expect(page.get_by_test_id("search-summary")).to_contain_text("見つかりません")
    page.get_by_test_id("search-area-clear").click()
    expect(page.get_by_test_id("search-hit").filter(has_text=TITLE)).to_have_count(1)
    assert not outside, outside
