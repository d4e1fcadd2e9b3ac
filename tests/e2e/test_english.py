"""English mode (issue 8 §3 item 12): what was left in Japanese is translated (the 電子納品 folder
classes of the search facets, hints, the check record, the photo information), and dates show
in the chosen locale. Data (titles, names) stays as entered."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.deliverables.packages import package
from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e


def test_english_words_and_dates(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    body = work_body(stack.orgs["orderer"], [stack.orgs["contractor"]])
    body.update(title="英語表示確認工事", number="R8-E2E-ENG")
    work = stack.api.post("/works", body)
    stack.api.post(
        f"/works/{work['id']}/members",
        {"user_id": stack.users["contractor1"], "role": "contractor_member"},
    )
    for rel, data in package().items():
        folder, _, name = f"/pkg/{rel}".rpartition("/")
        r = stack.api.client.post(
            f"/works/{work['id']}/files",
            data={"folder": folder},
            files={"file": (name, data, "application/octet-stream")},
        )
        assert r.status_code == 201, r.text
    items = stack.api.get(f"/works/{work['id']}/tree")["items"]
    root = next(n for n in items if n["name"] == "pkg")
    stack.api.post(f"/works/{work['id']}/deliverables", {"root_node_id": root["id"]})

    login(page, "contractor1", stack.passwords["contractor1"])
    page.get_by_test_id("lang-switch").select_option("en")
    page.goto(f"/#/works/{work['id']}")
    details = page.get_by_test_id("work-details")
    expect(details).to_contain_text("Office in charge")
    expect(details).to_contain_text("01/06/2026")  # 2026-06-01, en-GB
    checks = page.get_by_test_id("work-checks")
    expect(checks).to_contain_text("Delivery package check")
    expect(checks).to_contain_text("Print as PDF")
    looks_right(page, "work-english", sizes=("desktop", "1024"))

    page.goto("/#/search?type=file")
    facet = page.get_by_test_id("facet-doc_class")
    expect(facet).to_contain_text("Photos")
    assert "写真" not in facet.inner_text()
    expect(page.locator(".date-ranges .hint")).to_contain_text("Western or Japanese era")
    expect(page.get_by_test_id("search-map-toggle")).to_have_text("Map")
