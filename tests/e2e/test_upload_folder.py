"""A folder upload in the browser (issue 8 §2): a folder holding INDEX_C.XML is a 電子納品
package like a ZIP: once its files are in it is checked and the report shows on the upload
page; the photo tree is built and the photo titles show in the browser. Many files make one
compact entry with a summary, not a card per file; a finished upload shows no empty error
mark."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.deliverables.packages import package
from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

FOLDER = "電子納品R8"


@pytest.fixture(scope="module")
def target(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A work of its own with the contractor as a member, and the package as a folder on disk."""
    body = work_body(stack.orgs["orderer"], [stack.orgs["contractor"]])
    body.update(title="春日川排水路工事", number="R8-E2E-UPF")
    work = stack.api.post("/works", body)
    stack.api.post(
        f"/works/{work['id']}/members",
        {"user_id": stack.users["contractor1"], "role": "contractor_member"},
    )
    root = tmp_path_factory.mktemp("folder") / FOLDER
    for rel, data in package().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {"work": work, "dir": root}


def test_folder_package_is_checked_and_listed_compactly(
    page: Page, stack: Stack, target: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    work = target["work"]
    login(page, "contractor1", stack.passwords["contractor1"])
    page.goto(f"/#/upload/{work['id']}")
    page.get_by_test_id("upload-drop").wait_for()
    page.get_by_test_id("upload-input-dir").set_input_files(str(Path(target["dir"])))

    group = page.get_by_test_id("upload-group")
    expect(group).to_have_attribute("data-state", "done", timeout=60_000)
    expect(group.get_by_test_id("upload-group-info")).to_contain_text("17件中17件完了")
    assert page.get_by_test_id("upload-item").count() == 0  # no card per file
    assert page.locator(".field-error:visible").count() == 0  # no empty error mark

    check = page.get_by_test_id("upload-folder-check")
    expect(check).to_contain_text("電子納品として検査しました", timeout=60_000)
    report = page.get_by_test_id("deliverable-report")
    expect(report.get_by_test_id("report-counts")).to_contain_text("エラー 0件")
    group.locator("summary").click()
    expect(group.get_by_test_id("upload-group-row")).to_have_count(17)
    looks_right(page, "upload-folder-done")

    # the package's photos: the photo tree and the titles from PHOTO.XML
    page.get_by_test_id("upload-open-package").click()
    page.get_by_test_id("tab-photos").click()
    listing = page.get_by_test_id("listing")
    expect(listing.get_by_test_id("listing-row").first).to_contain_text("着手前")
    checks = stack.api.get(f"/works/{work['id']}/checks")
    assert checks["latest"]["root_path"] == f"/{FOLDER}"
