"""The audit trail read by people (issue 8 §3 item 6): Japanese action names with the actor's
and the target's names, details as labelled fields, and the many file events of one upload
folded into one line that opens; dates typed as 和暦 filter the trail."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

RECORD_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


def test_trail_in_words_with_an_upload_folded(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    body = work_body(stack.orgs["orderer"], [stack.orgs["contractor"]])
    body.update(title="操作履歴確認用の工事", number="R8-E2E-AUD")
    work = stack.api.post("/works", body)
    files = [("file", (f"写真{i:02d}.txt", f"{i}".encode(), "text/plain")) for i in range(12)]
    r = stack.api.client.post(f"/works/{work['id']}/files", files=files, data={"folder": "/現場"})
    assert r.status_code == 201, r.text

    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/admin/audit")
    table = page.get_by_test_id("audit-table")
    folded = table.locator('[data-testid="audit-row"][data-action="files.added"]').first
    expect(folded).to_have_attribute("data-group", "12")
    expect(folded).to_contain_text("ファイルの追加（12件）")
    folded.get_by_test_id("audit-group").locator("summary").click()
    expect(folded).to_contain_text("/現場/写真00.txt")
    created = table.locator('[data-testid="audit-row"][data-action="works.created"]').first
    expect(created).to_contain_text("案件の登録")
    expect(created).to_contain_text("操作履歴確認用の工事")
    text = table.inner_text()
    assert "works.created" not in text
    assert "files.added" not in text
    looks_right(page, "audit-trail")

    # 和暦 dates are understood; a wrong one is said by its field
    page.get_by_test_id("audit-since").fill("令和99年2月30日")
    page.get_by_test_id("audit-apply").click()
    expect(page.locator('.field[data-field="since"] .field-error')).to_contain_text("日付")
    page.get_by_test_id("audit-since").fill("R1.5.1")
    page.get_by_test_id("audit-apply").click()
    page.wait_for_url(re.compile(r"since=2019-05-01"))
