"""Document folders, electronic inspection and hand-over in the browser (issue 10 §3-5):

- the contractor opens 書類管理 of a running work and finds the 工事 folder set (§3-4), makes a
  folder, registers a PDF into a chosen folder (別表1-1 5(2)), and is warned when a file holds
  a 個人番号 (§3-2), removing it; searches the list by class (5(4));
- a decided 打合せ簿 is filed with its approval record (5(8)) and opened beside other documents
  in the inspection view (§5(4)); the offline package's index.html opens from the disk without a
  server and shows a document (§5(2));
- the bulletin board's composer warns about an attachment holding a 個人番号 before the post
  is sent (§3-2), and the post goes out without the removed file;
- last (the work is archived after it): the contractor makes and checks the 電子納品 package
  (§4); the supervisor, after completion, moves the work into the archive, sees the erasure
  date (seed 000, §3-6) and opens the package in the archive browser;
- axe-core finds nothing serious at 1280 and 1024×768; screenshots at both.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.browser import new_context
from tests.e2e.pagecheck import MODULE_SIZES, looks_right, signed_in_pages
from tests.e2e.support import PASSWORD, Api, Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
SUPERVISOR = "kantoku7"
TITLE = "春日町区画線設置工事"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def work(stack: Stack) -> dict[str, Any]:
    """A running 工事 with ``kantoku7`` as supervisor, contractor1 and inspector1, located (for
    the 境界座標), with a decided 打合せ簿 routed to the supervisor."""
    created = stack.api.post(
        "/users", {"login_id": SUPERVISOR, "name": "監督 七郎", "org_id": stack.orgs["orderer"]}
    )
    stack.users[SUPERVISOR] = created["user"]["id"]
    first = Api(stack.url)
    first.login(SUPERVISOR, created["initial_password"], new_password=PASSWORD)
    first.close()
    stack.passwords[SUPERVISOR] = PASSWORD
    body = {
        **work_body(stack.orgs["orderer"], [stack.orgs["contractor"]]),
        "title": TITLE,
        "number": "R8-E2E-FLD",
        "location": {
            "address": "広島県福山市春日町2丁目2番56号先",
            "municipality_code": "342076",
            "lat": 34.49,
            "lon": 133.36,
        },
    }
    made = stack.api.post("/works", body)
    wid = made["id"]
    for login_id, role in (
        (SUPERVISOR, "supervisor"),
        ("contractor1", "contractor_member"),
        ("inspector1", "inspector"),
    ):
        stack.api.post(f"/works/{wid}/members", {"user_id": stack.users[login_id], "role": role})
    current = stack.api.get(f"/works/{wid}")
    stack.api.post(f"/works/{wid}/transition", {"to": "in_progress", "version": current["version"]})
    builder = stack.as_user("contractor1")
    boss = stack.as_user(SUPERVISOR)
    try:
        new = builder.get(f"/works/{wid}/proposals/new", form_id="koji_uchiawase")
        values = {
            **new["values"],
            "matter": "協議",
            "subject": "区画線の施工時期",
            "content": "夜間施工とする。",
        }
        draft = builder.post(
            f"/works/{wid}/proposals",
            {"form_id": "koji_uchiawase", "title": "区画線の施工時期", "values": values},
        )
        route = [{"kind": "approve", "assignees": [stack.users[SUPERVISOR]]}]
        version = builder.get(f"/proposals/{draft['id']}")["proposal"]["version"]
        builder.post(f"/proposals/{draft['id']}/submit", {"route": route, "version": version})
        version = boss.get(f"/proposals/{draft['id']}")["proposal"]["version"]
        boss.post(f"/proposals/{draft['id']}/approve", {"version": version})
        # A photo for the package's PHOTO and REGISTER folders (through the API).
        builder.get(f"/works/{wid}/folders")
        r = builder.client.post(
            f"/works/{wid}/files",
            files=[("file", ("着手前.jpg", jpeg(), "image/jpeg"))],
            data={"folder": "/10_工事写真"},
        )
        assert r.status_code == 201, r.text
    finally:
        builder.close()
        boss.close()
    return {"id": wid}


@pytest.fixture
def as_user(browser: Browser, stack: Stack) -> Iterator[Any]:
    yield from signed_in_pages(browser, stack.url, lambda login_id: stack.passwords[login_id])


def check_layout(page: Page, name: str) -> None:
    """Screenshots (from the top) at 1280 and 1024x768, no sideways scrolling, axe clean."""
    looks_right(page, name, sizes=MODULE_SIZES, top=True)


def test_folders_upload_warning_and_search(
    work: dict[str, Any], as_user: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page: Page = as_user("contractor1")
    page.goto(f"/#/works/{work['id']}")
    page.get_by_test_id("work-folders-page").click()
    tree = page.get_by_test_id("folder-tree")
    expect(tree.locator('[data-path="/02_施工計画書"]')).to_be_visible()
    expect(tree.get_by_test_id("folder-item")).to_have_count(12)  # §3-4: the 工事 set

    # 5(3): a new folder inside 07_品質管理 takes its type
    tree.locator('[data-path="/07_品質管理"]').click()
    page.get_by_test_id("folder-new").click()
    page.get_by_test_id("folder-name").fill("コンクリート")
    page.get_by_test_id("folder-ok").click()
    expect(tree.locator('[data-path="/07_品質管理/コンクリート"]')).to_be_visible()

    # 5(2): a document registered into the chosen folder
    tree.locator('[data-path="/02_施工計画書"]').click()
    plan = tmp_path / "施工計画書.pdf"
    plan.write_bytes(PDF)
    page.get_by_test_id("folder-upload-input").set_input_files(str(plan))
    row = page.locator('[data-testid="document-row"][data-name="施工計画書.pdf"]')
    expect(row).to_contain_text("施工計画書", timeout=30_000)

    # §3-2: a file holding a 個人番号 is warned about; the user removes it
    roster = tmp_path / "作業員名簿.txt"
    roster.write_text("作業員名簿\n個人番号 1234 5678 9018\n", encoding="utf-8")
    page.get_by_test_id("folder-upload-input").set_input_files(str(roster))
    dialog = page.get_by_test_id("privacy-dialog")
    expect(dialog).to_contain_text("個人番号（マイナンバー）: ********9018", timeout=40_000)
    check_layout(page, "folders-privacy")
    dialog.get_by_test_id("privacy-remove").click()
    expect(page.locator('[data-testid="document-row"][data-name="作業員名簿.txt"]')).to_have_count(
        0
    )

    # 6(1): all documents as a ZIP, folders and names kept
    page.get_by_test_id("folder-root").click()
    with page.expect_download() as caught:
        page.get_by_test_id("documents-zip").click()
    out = tmp_path / "documents.zip"
    caught.value.save_as(out)
    with zipfile.ZipFile(out) as zf:
        names = {n.split("/", 1)[1] if n.startswith(TITLE) else n for n in zf.namelist()}
        assert "02_施工計画書/施工計画書.pdf" in names, names
        assert "10_工事写真/着手前.jpg" in names, names
        assert zf.read(next(n for n in zf.namelist() if n.endswith("施工計画書.pdf"))) == PDF
        assert not any("作業員名簿" in n for n in names), names

    # 5(4): search by class
    page.get_by_test_id("documents-type").select_option("工事写真")
    page.get_by_test_id("documents-apply").click()
    expect(page.get_by_test_id("document-row")).to_have_count(1)
    expect(page.get_by_test_id("document-row")).to_contain_text("着手前.jpg")
    check_layout(page, "folders")


def test_inspection_view_and_offline_package(
    work: dict[str, Any], as_user: Any, browser: Browser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page: Page = as_user("contractor1")
    page.goto(f"/#/inspection/{work['id']}")
    proposal = page.get_by_test_id("inspection-proposal").first
    expect(proposal.get_by_test_id("inspection-stamps")).to_contain_text("監督 七郎")
    page.get_by_test_id("inspection-prepare").click()  # §5(3): the contractor prepares
    proposal.get_by_test_id("inspection-open").click(timeout=60_000)
    viewer = page.get_by_test_id("viewer")
    expect(viewer).to_contain_text("0001_区画線の施工時期.pdf")
    # §5(4): a photo from the tree opened beside the filed 打合せ簿 (two documents at once)
    tree = page.get_by_test_id("tree")
    tree.get_by_test_id("tree-item").first.locator(".tree-toggle").first.click()
    tree.locator('[data-testid="tree-item"][aria-level="2"]').filter(
        has_text="10_工事写真"
    ).locator(".tree-label").first.click()
    photo = page.get_by_test_id("listing-row").filter(has_text="着手前.jpg").first
    photo.get_by_test_id("open-beside").click()
    expect(viewer.get_by_test_id("viewer-pane")).to_have_count(2)
    expect(viewer).to_contain_text("着手前.jpg")
    expect(viewer).to_contain_text("0001_区画線の施工時期.pdf")
    check_layout(page, "inspection")

    # §5(2): the offline package opens from the disk, without a server
    with page.expect_download() as caught:
        page.get_by_test_id("inspection-offline").click()
    archive = tmp_path / "offline.zip"
    caught.value.save_as(archive)
    folder = tmp_path / "offline"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    local = new_context(browser, "http://127.0.0.1:9")
    try:
        offline = local.new_page()
        offline.goto((folder / "index.html").as_uri())
        expect(offline.locator("h1")).to_contain_text(TITLE)
        expect(offline.locator("#proposals")).to_contain_text("監督 七郎")
        offline.get_by_role("button", name="📄 着手前.jpg").click()
        image = offline.locator(".pane img")
        expect(image).to_be_visible()
        assert offline.evaluate("() => document.querySelector('.pane img').naturalWidth") == 64
    finally:
        local.close()


def test_a_board_attachment_with_personal_data_is_warned_before_the_post_is_sent(
    work: dict[str, Any], as_user: Any, stack: Stack, tmp_path: Path
) -> None:
    """§3-2: the bulletin board's composer checks each uploaded attachment before the post is
    sent; the user removes the file and the post goes out without it; the warning and the
    answer are recorded."""
    from playwright.sync_api import expect

    page: Page = as_user("contractor1")
    page.goto(f"/#/works/{work['id']}")
    page.get_by_test_id("work-board").click()
    page.get_by_test_id("board-new").click()
    form = page.get_by_test_id("compose-post")
    form.get_by_test_id("compose-title").fill("作業員の配置")
    form.get_by_test_id("compose-body").fill("配置表を共有します。")
    roster = tmp_path / "配置表.txt"
    roster.write_text("作業員配置表\n個人番号 1234 5678 9018\n", encoding="utf-8")
    form.get_by_test_id("compose-file-input").set_input_files(str(roster))
    dialog = page.get_by_test_id("privacy-dialog")
    expect(dialog).to_contain_text("********9018", timeout=40_000)
    check_layout(page, "board-privacy")
    dialog.get_by_test_id("privacy-remove").click()
    expect(form.locator('[data-testid=compose-file][data-name="配置表.txt"]')).to_have_count(0)
    form.get_by_test_id("compose-submit").click()
    expect(page.get_by_test_id("post-title")).to_have_text("作業員の配置")
    expect(page.get_by_test_id("post-file")).to_have_count(0)
    checks = stack.api.get(f"/works/{work['id']}/privacy-checks")
    answered = [c for c in checks if c["name"] == "配置表.txt"]
    assert answered, checks
    assert answered[0]["decision"]["action"] == "removed", checks


def test_package_and_transfer_to_the_archive(
    work: dict[str, Any], as_user: Any, stack: Stack
) -> None:
    from playwright.sync_api import expect

    page: Page = as_user("contractor1")
    page.goto(f"/#/handover/{work['id']}")
    page.get_by_test_id("handover-generate").click()
    package = page.get_by_test_id("package").first
    expect(package.get_by_test_id("package-ready")).to_be_visible(timeout=90_000)
    expect(package.get_by_test_id("package-counts")).to_contain_text("エラー 0件")
    check_layout(page, "handover-contractor")

    boss = stack.as_user(SUPERVISOR)
    try:
        current = boss.get(f"/works/{work['id']}")
        boss.post(
            f"/works/{work['id']}/transition", {"to": "completed", "version": current["version"]}
        )
    finally:
        boss.close()
    sup: Page = as_user(SUPERVISOR)
    sup.goto(f"/#/handover/{work['id']}")
    sup.get_by_test_id("handover-transfer-submit").click()
    sup.get_by_test_id("confirm-ok").click()
    expect(sup.get_by_test_id("handover-transferred")).to_be_visible(timeout=90_000)
    expect(sup.get_by_test_id("handover-erasure-on")).to_contain_text("消去日")
    sup.reload()  # the erasure date was just notified (§3-6): the bell counts it
    expect(sup.get_by_test_id("handover-erasure-on")).to_contain_text("消去日")
    check_layout(sup, "handover-transferred")
    stored = stack.api.get(f"/works/{work['id']}")
    assert stored["status"] == "archived"

    # The package is in the archive: the browser opens its folder with the index file and
    # the folders the package was made of, checked with no errors.
    sup.get_by_test_id("handover-open-archive").click()
    listing = sup.get_by_test_id("listing")
    for name in ("INDEX_C.XML", "MEET", "PHOTO", "PLAN"):
        expect(listing.get_by_test_id("listing-row").filter(has_text=name).first).to_be_visible()
    check_layout(sup, "handover-archive")
    handover = stack.api.get(f"/works/{work['id']}/handover")["handover"]
    deliverable = stack.api.get(f"/deliverables/{handover['deliverable_id']}")
    assert deliverable["report"]["counts"]["E"] == 0, deliverable["report"]["counts"]
