"""The main flow of issue 4, as a contractor and an inspector would do it in the browser:
sign in → upload a 200 MB file, the line drops half-way, resume, see it finish → search finds a
PDF by a Japanese phrase from inside it → open it in the tree → open a second document beside
it → export the folder as ZIP and check its structure → an unauthorised user sees neither the
work nor its files.

The tests run in file order and share ``FLOW`` (the module's state); each one that needs an
earlier step's result re-creates it through the API when that step failed, so every flow is
reported on its own.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.datagen import pdfs
from tests.e2e.browser import BrowserErrors, login, new_context, shot
from tests.e2e.proxy import CuttingProxy
from tests.e2e.support import API, WORK_TITLE, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
BIG_SIZE = 200 * MB
BIG_NAME = "点群データ_2026.bin"
PDF_NAME = "配筋検査記録.pdf"
PHRASE = "春日川橋梁下部工の配筋状況"
FOLDER = "報告書"
SIDE_NAME = "週報.txt"
FLOW: dict[str, Any] = {}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("uploads")
    big = root / BIG_NAME
    with big.open("wb") as out:
        block = os.urandom(MB)
        for i in range(BIG_SIZE // MB):
            out.write(i.to_bytes(8, "big") + block[8:])
    pdf = root / PDF_NAME
    pdf.write_bytes(
        pdfs.japanese(
            [
                ["配筋検査記録", "工事名 福山市春日町2丁目ほか道路標示工事"],
                ["検査結果", f"{PHRASE}を確認した。", "かぶり厚さ 70mm 以上"],
            ]
        )
    )
    return {"big": big, "pdf": pdf}


def ensure_pdf(stack: Stack, files: dict[str, Path]) -> dict[str, Any]:
    """The PDF, ingested; put there through the API when the upload test did not run."""
    if stack.node_named(PDF_NAME) is None:
        stack.upload("/", PDF_NAME, files["pdf"].read_bytes(), "application/pdf")
    return stack.wait_ingested(PDF_NAME)


@pytest.fixture(scope="module")
def folder_seeded(stack: Stack) -> str:
    """The folder the inspector exports, put there through the API (the upload page is
    tested with the 200 MB file)."""
    stack.upload(f"/{FOLDER}", SIDE_NAME, "週報\n本日は晴れ。\n".encode(), "text/plain")
    stack.upload(f"/{FOLDER}/写真", "現場.txt", b"photo notes\n", "text/plain")
    stack.wait_ingested(SIDE_NAME)
    node = stack.node_named(SIDE_NAME)
    assert node is not None
    return str(node["parent_id"])


@pytest.fixture
def contractor_page(browser: Browser, stack: Stack) -> Iterator[tuple[Page, CuttingProxy]]:
    """A contractor whose browser reaches the server through the cutting proxy."""
    with CuttingProxy(stack.server.port) as proxy:
        ctx = new_context(browser, proxy.url)
        page = ctx.new_page()
        login(page, "contractor1", stack.passwords["contractor1"])
        yield page, proxy
        ctx.close()


def test_upload_200mb_survives_a_dropped_line(
    contractor_page: tuple[Page, CuttingProxy],
    stack: Stack,
    files: dict[str, Path],
    browser_errors: BrowserErrors,
) -> None:
    page, proxy = contractor_page
    # The dropped line: Chromium reports the requests it cut (and those refused while down).
    browser_errors.allow(rf"net::ERR_[A-Z_]+ \(http://[^)]*{API}/uploads/")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"/#/upload/{stack.work_id}")
    drop = page.get_by_test_id("upload-drop")
    try:
        drop.wait_for(timeout=20_000)
    except PlaywrightTimeout:
        # Seen once under a loaded CI machine: keep what the page showed, then try a reload.
        shot(page, "upload-not-ready")
        shown = page.locator("main").inner_text()[:300]
        page.reload()
        try:
            drop.wait_for(timeout=30_000)
        except PlaywrightTimeout:
            pytest.fail(f"upload page never showed its drop zone; it showed: {shown!r}")
    shot(page, "upload-empty")
    proxy.cut_after(BIG_SIZE // 2, down_s=2.0)
    started = time.monotonic()
    page.get_by_test_id("upload-input").set_input_files([str(files["pdf"]), str(files["big"])])
    start = page.get_by_test_id("upload-start")
    if start.count() and start.is_visible():
        start.click()
    deadline = time.monotonic() + 150
    while proxy.cuts == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert proxy.cuts == 1, "the proxy never cut the line (upload did not pass 100 MB)"
    shot(page, "upload-cut", full_page=False)
    while stack.node_named(BIG_NAME) is None and time.monotonic() < deadline:
        for testid in ("upload-resume", "upload-file-resume"):
            resume = page.get_by_test_id(testid)
            if resume.count() and resume.first.is_visible() and resume.first.is_enabled():
                resume.first.click()
        page.wait_for_timeout(500)
    node = stack.node_named(BIG_NAME)
    assert node is not None, "the 200 MB upload did not finish after the cut"
    assert node["size"] == BIG_SIZE
    elapsed = time.monotonic() - started
    assert_resumed_not_restarted(proxy)
    progress = page.get_by_test_id("upload-progress").first
    progress.wait_for()
    page.wait_for_function(
        "el => { const v = el.value ?? el.getAttribute('aria-valuenow');"
        " const m = el.max ?? el.getAttribute('aria-valuemax') ?? 100;"
        " return v !== null && Number(v) >= Number(m); }",
        arg=progress.element_handle(),
        timeout=30_000,
    )
    shot(page, "upload-done")
    FLOW["upload_s"] = elapsed
    FLOW["uploaded"] = True


def assert_resumed_not_restarted(proxy: CuttingProxy) -> None:
    """The upload continued from the offset the server reported after the cut, and only the
    rest of the file crossed the line again. A restart (a new upload, or offset 0) sends the
    whole file again: 1.5 x the file in all, where a resume sends about 1 x.

    What crosses after the cut: Chromium may first resend the cut PATCH by itself (a network
    level retry of a request on a reused connection: same upload, same offset); the server
    refuses it (409, not its offset) once the cut PATCH settled, and TCP flow control bounds
    what crossed meanwhile to the socket buffers. Then tus-js-client asks (HEAD) and sends the
    rest from the offset the server reported: its PATCH carries that offset.
    """
    cut = proxy.cut_bytes
    assert cut is not None
    seen = proxy.requests
    # the PATCH in flight at the cut: its head and body (Content-Length) reach past the cut
    in_flight = [
        r
        for r in seen
        if r.method == "PATCH" and r.at < cut < r.at + 4096 + (r.content_length or 0)
    ]
    assert len(in_flight) == 1, f"not one PATCH in flight at the cut: {seen}"
    cut_patch = in_flight[0]
    upload = cut_patch.path
    after = [r for r in seen if r.at >= cut and r.path.startswith(f"{API}/uploads/")]
    heads = [i for i, r in enumerate(after) if r.method == "HEAD"]
    assert heads, f"no HEAD after the cut: tus-js-client never asked for the offset: {after}"
    resends, (head, *rest) = after[: heads[0]], after[heads[0] :]
    assert all(r.path == upload and r.upload_offset == cut_patch.upload_offset for r in resends), (
        f"after the cut, before the HEAD, only resends of the cut PATCH may cross: {after}"
    )
    assert head.path == upload, f"the HEAD asked about another upload: {upload} {after}"
    resumed = [r for r in rest if r.method == "PATCH"]
    assert resumed, f"no PATCH after the HEAD: {after}"
    assert {r.path for r in resumed} == {upload}, f"a new upload after the cut: {after}"
    resumed_at = resumed[0].upload_offset
    assert resumed_at is not None, resumed[0]
    # The server kept the bytes of the cut PATCH: all that crossed, less the read that tripped
    # the cut (counted, never forwarded: up to one buffer) and what it had not yet written.
    crossed = cut - cut_patch.at
    assert crossed - 4 * MB <= resumed_at <= crossed, (crossed, resumed_at, after)
    # Resent and refused before the HEAD: bounded by the socket buffers (about 1 MB seen).
    refused = head.at - cut
    assert refused <= 16 * MB, (refused, after)
    # From the HEAD on: the rest of the file from that offset, plus request heads.
    sent_resuming = proxy.upstream_bytes - head.at
    rest_of_file = BIG_SIZE - resumed_at
    assert rest_of_file <= sent_resuming <= rest_of_file + 256 * 1024, (sent_resuming, after)
    assert proxy.upstream_bytes < BIG_SIZE * 1.25, (proxy.upstream_bytes, after)
    FLOW["upload_resumed_at"] = resumed_at
    FLOW["upload_refused_after_cut"] = refused


def test_search_finds_pdf_by_japanese_phrase(
    page: Page, stack: Stack, files: dict[str, Path]
) -> None:
    FLOW["pdf"] = ensure_pdf(stack, files)
    login(page, "inspector1", stack.passwords["inspector1"])
    page.goto("/#/search")
    box = page.get_by_test_id("search-box")
    box.fill(PHRASE)
    box.press("Enter")
    results = page.get_by_test_id("search-results")
    # The file's text becomes searchable when the worker commits the index, which can come
    # just after the file shows as ingested (under CI load it did); until then the file is
    # found by its name, without a highlighted passage: ask again, for at most 20 s.
    deadline = time.monotonic() + 20
    while True:
        results.get_by_text(PDF_NAME).first.wait_for()
        if results.locator("mark").count() >= 1 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
        page.reload()
    assert results.locator("mark").count() >= 1, "no highlight in the results"
    shot(page, "search-results")


def test_open_in_tree_and_second_document_beside(
    page: Page, stack: Stack, folder_seeded: str, files: dict[str, Path]
) -> None:
    pdf = FLOW.get("pdf") or ensure_pdf(stack, files)
    side = stack.node_named(SIDE_NAME)
    assert side is not None
    login(page, "inspector1", stack.passwords["inspector1"])
    parent = str(pdf["parent_id"])
    page.goto(f"/#/browse/{stack.work_id}" + ("" if parent == stack.work_id else f"/{parent}"))
    tree = page.get_by_test_id("tree")
    tree.wait_for()
    listing = page.get_by_test_id("listing")
    listing.get_by_text(PDF_NAME).first.click()
    viewer = page.get_by_test_id("viewer")
    viewer.wait_for()
    viewer.locator("canvas").first.wait_for(timeout=20_000)  # pdf.js drew a page
    shot(page, "browse-pdf")
    # The second document, from its folder in the tree, opened beside the first.
    tree.get_by_text(FOLDER).first.click()
    listing.get_by_text(SIDE_NAME).first.wait_for()
    row = listing.get_by_test_id("listing-row").filter(has_text=SIDE_NAME).first
    row.get_by_test_id("open-beside").click()
    viewer = page.get_by_test_id("viewer")
    viewer.get_by_text("本日は晴れ").first.wait_for()
    viewer.locator("canvas").first.wait_for(timeout=20_000)
    panes = viewer.get_by_test_id("viewer-pane")
    assert panes.count() >= 2, "the two documents are not side by side"
    first, second = (panes.nth(i).bounding_box() for i in range(2))
    assert first is not None
    assert second is not None
    assert abs(first["y"] - second["y"]) < 50, (first, second)  # beside, not below
    shot(page, "viewer-side-by-side")


def test_export_folder_as_zip(page: Page, stack: Stack, folder_seeded: str) -> None:
    login(page, "inspector1", stack.passwords["inspector1"])
    page.goto(f"/#/browse/{stack.work_id}/{folder_seeded}")
    page.get_by_test_id("listing").get_by_text(SIDE_NAME).first.wait_for()
    with page.expect_download() as info:
        page.get_by_test_id("export-zip").first.click()
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    data = Path(download.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        names = {n for n in zf.namelist() if not n.endswith("/")}
        assert names == {f"{FOLDER}/{SIDE_NAME}", f"{FOLDER}/写真/現場.txt"}, names
        assert zf.read(f"{FOLDER}/{SIDE_NAME}").decode() == "週報\n本日は晴れ。\n"


def test_unauthorised_user_sees_neither_work_nor_files(page: Page, stack: Stack) -> None:
    pdf = FLOW.get("pdf") or stack.node_named(PDF_NAME)
    assert pdf is not None
    login(page, "outsider1", stack.passwords["outsider1"])
    page.goto("/#/works")
    page.wait_for_load_state("networkidle")
    assert WORK_TITLE not in page.content()
    shot(page, "outsider-works")
    from playwright.sync_api import expect

    page.goto(f"/#/works/{stack.work_id}")
    # The page's own answer: not found, beside nothing of the work (and no console error:
    # an API answer below 500 is a message, not a fault).
    expect(page.locator("main .error-box")).to_contain_text("見つかりません")
    assert WORK_TITLE not in page.content()
    page.goto(f"/#/browse/{stack.work_id}")
    page.wait_for_load_state("networkidle")
    assert PDF_NAME not in page.content()
    page.goto("/#/search")
    page.get_by_test_id("search-box").fill(PHRASE)
    page.get_by_test_id("search-box").press("Enter")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    assert PDF_NAME not in page.content()
    shot(page, "outsider-search")
    outsider = stack.as_user("outsider1")
    assert outsider.client.get(f"/files/{pdf['id']}").status_code == 404
    assert outsider.client.get(f"/works/{stack.work_id}").status_code == 404
    outsider.close()
