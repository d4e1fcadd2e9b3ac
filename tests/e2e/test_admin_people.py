"""Administration as an operator does it (issue 8 §3 items 7, 11): a user's name, mail and
役職 from the 役職 master are edited in a dialog; one's own account cannot be disabled; the
one-time password has a copy button; account states in plain words (初回パスワード変更待ち)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e


def test_edit_user_own_row_and_copy_password(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    for name, rank in (("主任", 3), ("係長", 2)):
        stack.api.client.post("/master/positions", json={"name": name, "rank": rank})
    # a user of its own still on the one-time password (newbie1 may have changed it already:
    # test_auth does, and the stack is shared by the tests of a worker)
    stack.api.post(
        "/users",
        {"login_id": "pending1", "name": "保留 六郎", "org_id": stack.orgs["contractor"]},
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/admin/users")
    own = page.locator('[data-testid="user-row"][data-login="admin"]')
    expect(own.get_by_test_id("user-self")).to_be_visible()
    assert own.get_by_test_id("user-toggle").is_hidden()
    pending = page.locator('[data-testid="user-row"][data-login="pending1"]')
    expect(pending).to_contain_text("初回パスワード変更待ち")

    row = page.locator('[data-testid="user-row"][data-login="locked1"]')
    row.get_by_test_id("user-edit").click()
    dialog = page.get_by_test_id("user-edit-dialog")
    dialog.get_by_test_id("user-edit-name").fill("施錠 四郎（改）")
    dialog.get_by_test_id("user-edit-email").fill("shijo@example.jp")
    options = dialog.get_by_test_id("user-edit-position").locator("option").all_inner_texts()
    assert "係長" in options
    assert "主任" in options
    dialog.get_by_test_id("user-edit-position").select_option("係長")
    looks_right(page, "user-edit-dialog", sizes=("desktop", "1024"))
    dialog.get_by_test_id("user-edit-save").click()
    expect(row).to_contain_text("施錠 四郎（改）")
    expect(row).to_contain_text("係長")
    saved = stack.api.get(f"/users/{stack.users['locked1']}")
    assert (saved["name"], saved["email"], saved["position"]) == (
        "施錠 四郎（改）",
        "shijo@example.jp",
        "係長",
    )

    # the one-time password of a new user: shown once, with a copy button
    page.get_by_test_id("user-new").click()
    page.get_by_test_id("user-login-id").fill("copy1")
    page.get_by_test_id("user-name").fill("複写 五郎")
    page.get_by_test_id("user-create-submit").click()
    otp = page.get_by_test_id("otp-dialog")
    value = otp.get_by_test_id("otp-value").inner_text()
    otp.get_by_test_id("otp-copy").click()
    expect(otp.get_by_test_id("otp-copied")).to_have_text("コピーしました。")
    assert page.evaluate("() => navigator.clipboard.readText()") == value
    otp.get_by_test_id("otp-done").click()
