"""The 電子納品 check record on the work page (issue 8 §2), in the browser: the contractor and
the inspector both see the latest result with rule names and links to the files; the inspector
confirms the receipt, which shows for the contractor too; the printed result is a PDF; moving
the work to the archive shows the latest result and warns about its errors. Names, never ids
(§3 item 1): the contractor reads the orderer, office and members by name."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.deliverables.packages import package
from tests.e2e.browser import login, new_context
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

RECORD_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
TITLE = "春日川護岸改修工事"


def wait_ingested_all(stack: Stack, api_work: str, count: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress = stack.api.get(f"/works/{api_work}/ingest")["counts"]
        if progress.get("done", 0) + progress.get("failed", 0) >= count:
            return
        time.sleep(0.5)
    raise AssertionError("package not ingested in time")


@pytest.fixture(scope="module")
def checked(stack: Stack) -> dict[str, Any]:
    """A work of its own (so moving it does not disturb the other tests) with an office, the
    contractor and the inspector as members, and a package with a Thumbs.db (rule 5) checked."""
    office = stack.api.post(
        f"/organizations/{stack.orgs['orderer']}/offices", {"name": "東部建設事務所"}
    )
    body = work_body(stack.orgs["orderer"], [stack.orgs["contractor"]])
    body.update(title=TITLE, number="R8-E2E-CHK", office_id=office["id"], business_type="01")
    work = stack.api.post("/works", body)
    for login_id, role in (("contractor1", "contractor_member"), ("inspector1", "inspector")):
        stack.api.post(
            f"/works/{work['id']}/members", {"user_id": stack.users[login_id], "role": role}
        )
    files = package()
    files["PHOTO/PIC/Thumbs.db"] = b"x"
    for rel, data in files.items():
        folder, _, name = f"納品/{rel}".rpartition("/")
        r = stack.api.client.post(
            f"/works/{work['id']}/files",
            data={"folder": "/" + folder, "on_conflict": "replace"},
            files={"file": (name, data, "application/octet-stream")},
        )
        assert r.status_code == 201, r.text
    wait_ingested_all(stack, work["id"], len(files))
    items = stack.api.get(f"/works/{work['id']}/tree")["items"]
    root = next(n for n in items if n["name"] == "納品")
    check = stack.api.post(f"/works/{work['id']}/deliverables", {"root_node_id": root["id"]})
    return {"work": work, "check": check, "office": office}


def test_contractor_sees_the_check_and_names(
    page: Page, stack: Stack, checked: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    work = checked["work"]
    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto(f"/#/works/{work['id']}")
    details = page.get_by_test_id("work-details")
    expect(details).to_contain_text("広島県")
    expect(page.get_by_test_id("work-office")).to_have_text("東部建設事務所")
    expect(details).to_contain_text("土木一式工事")  # 業種 01 as its label
    latest = page.get_by_test_id("check-latest")
    expect(latest).to_contain_text("エラー 1件")
    expect(latest.get_by_test_id("check-receipt")).to_contain_text("未確認")
    assert page.get_by_test_id("check-receive").count() == 0  # the contractor does not receive
    rows = page.get_by_test_id("work-members")
    expect(rows).to_contain_text("検査 花子")
    text = page.locator("main").inner_text()
    assert not RECORD_ID.findall(text), f"ids shown where names belong: {text[:1500]}"

    page.get_by_test_id("check-show").click()
    finding = page.get_by_test_id("finding").first
    expect(finding).to_contain_text("規則5 不要ファイル")
    link = finding.get_by_test_id("finding-link")
    expect(link).to_have_text("PHOTO/PIC/Thumbs.db")
    looks_right(page, "check-record-contractor")
    link.click()
    page.wait_for_url(re.compile(r"#/browse/"))
    page.get_by_test_id("viewer-pane").wait_for()


def test_printed_result_is_a_pdf(page: Page, stack: Stack, checked: dict[str, Any]) -> None:
    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto(f"/#/works/{checked['work']['id']}")
    with page.expect_download() as info:
        page.get_by_test_id("check-pdf").click()
    download = info.value
    assert download.suggested_filename.startswith("電子納品検査結果_R8-E2E-CHK_")
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"


def test_inspector_confirms_receipt_contractor_sees_it(
    page: Page, browser: Browser, stack: Stack, checked: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    work = checked["work"]
    login(page, "inspector1", stack.passwords["inspector1"])
    page.goto(f"/#/works/{work['id']}")
    page.get_by_test_id("check-receive").click()
    page.get_by_test_id("check-receive-note").fill("指摘は協議済み")
    looks_right(page, "check-receive-dialog", sizes=("desktop", "1024"))
    page.get_by_test_id("check-receive-ok").click()
    receipt = page.get_by_test_id("check-receipt")
    expect(receipt).to_contain_text("受領確認済み（検査 花子")
    expect(receipt).to_contain_text("指摘は協議済み")
    page.get_by_test_id("check-withdraw").wait_for()

    ctx = new_context(browser, stack.url)
    try:
        other = ctx.new_page()
        login(other, "contractor1", stack.passwords["contractor1"])
        other.goto(f"/#/works/{work['id']}")
        expect(other.get_by_test_id("check-receipt")).to_contain_text("受領確認済み")
    finally:
        ctx.close()


def test_archive_move_shows_the_latest_check_and_warns(
    page: Page, stack: Stack, checked: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    work = checked["work"]
    current = stack.api.get(f"/works/{work['id']}")
    for to in ("in_progress", "completed"):
        current = stack.api.post(
            f"/works/{work['id']}/transition", {"to": to, "version": current["version"]}
        )
    login(page, "admin", stack.passwords["admin"])
    page.goto(f"/#/works/{work['id']}")
    page.locator('[data-testid="work-transition"][data-to="archived"]').click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog.get_by_test_id("archive-check")).to_contain_text("エラー 1件")
    expect(dialog.get_by_test_id("archive-check-errors")).to_contain_text("エラーが残っています")
    looks_right(page, "archive-move-dialog", sizes=("desktop", "1024"))
    page.get_by_test_id("confirm-cancel").click()
    assert stack.api.get(f"/works/{work['id']}")["status"] == "completed"


def test_orderer_blocks_the_archive_move_on_errors(
    page: Page, stack: Stack, checked: dict[str, Any]
) -> None:
    """The operator sets the orderer's rule on the organizations page; the move then says it
    cannot be done and offers nothing to confirm; the API refuses it too (409)."""
    from playwright.sync_api import expect

    work = checked["work"]
    orderer = stack.orgs["orderer"]
    login(page, "admin", stack.passwords["admin"])
    try:
        page.goto("/#/admin/orgs")
        row = page.locator(f'[data-testid="org-row"][data-id="{orderer}"]')
        row.get_by_test_id("org-edit").click()
        form = page.get_by_test_id("org-edit-form")
        box = form.get_by_test_id("org-edit-block-archive")
        expect(box).not_to_be_checked()
        box.check()
        looks_right(page, "org-block-archive", sizes=("desktop",))
        form.get_by_test_id("org-edit-submit").click()
        expect(row.get_by_test_id("org-block-archive")).to_have_text("エラーのある案件は保管不可")
        assert stack.api.get(f"/organizations/{orderer}")["block_archive_on_errors"] is True

        current = stack.api.get(f"/works/{work['id']}")
        for to in ("in_progress", "completed"):  # the test before may have done this
            if current["status"] in ("registered", "in_progress") and current["status"] != to:
                current = stack.api.post(
                    f"/works/{work['id']}/transition", {"to": to, "version": current["version"]}
                )
        page.goto(f"/#/works/{work['id']}")
        page.locator('[data-testid="work-transition"][data-to="archived"]').click()
        dialog = page.get_by_test_id("confirm-dialog")
        expect(dialog).to_contain_text("保管に移せません")
        expect(dialog.get_by_test_id("archive-check-errors")).to_contain_text(
            "エラーのある案件は保管に移せません"
        )
        assert dialog.get_by_test_id("confirm-ok").count() == 0
        looks_right(page, "archive-move-blocked", sizes=("desktop",))
        dialog.get_by_test_id("confirm-cancel").click()
        r = stack.api.client.post(
            f"/works/{work['id']}/transition",
            json={"to": "archived", "version": current["version"]},
        )
        assert r.status_code == 409, r.text
        assert stack.api.get(f"/works/{work['id']}")["status"] == "completed"
    finally:
        org = stack.api.get(f"/organizations/{orderer}")
        r = stack.api.client.patch(
            f"/organizations/{orderer}",
            json={"version": org["version"], "block_archive_on_errors": False},
        )
        assert r.status_code == 200, r.text
