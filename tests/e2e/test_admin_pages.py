"""The administration pages not driven by the other browser tests, used as an operator would:
users (create with the one-time password shown once, a field error from the API, reset,
disable, filter by organization), grants (grant, revoke), master data (positions, a calendar
day, a mail template saved and reset) and the audit trail (filter, export links).

They guard the pages' JavaScript as a whole: the ``page`` fixture fails a test on any script
error, so a slip in a page module (or in the helpers it shares) shows here, not in use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.browser import login
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e


def test_users_create_reset_disable_and_filter(page: Page, stack: Stack) -> None:
    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/admin/users")
    page.get_by_test_id("users-table").wait_for()

    # nothing typed: the API's messages land by their fields, in Japanese
    page.get_by_test_id("user-new").click()
    page.get_by_test_id("user-create-submit").click()
    form = page.get_by_test_id("user-create-form")
    error = form.locator('.field[data-field="login_id"] .field-error')
    error.wait_for()
    assert error.inner_text().strip()
    assert not re.search(r"[A-Za-z]{4,}", error.inner_text()), error.inner_text()

    page.get_by_test_id("user-login-id").fill("e2e-clerk")
    page.get_by_test_id("user-name").fill("試験 花子")
    page.get_by_test_id("user-create-submit").click()
    dialog = page.get_by_test_id("otp-dialog")
    dialog.wait_for()
    first_password = page.get_by_test_id("otp-value").inner_text().strip()
    assert len(first_password) >= 8
    page.get_by_test_id("otp-done").click()
    row = page.locator('[data-testid="user-row"][data-login="e2e-clerk"]')
    row.wait_for()
    assert "試験 花子" in row.inner_text()

    # a new one-time password, shown once again
    row.get_by_test_id("user-reset").click()
    page.get_by_test_id("confirm-ok").click()
    page.get_by_test_id("otp-dialog").wait_for()
    assert page.get_by_test_id("otp-value").inner_text().strip() not in ("", first_password)
    page.get_by_test_id("otp-done").click()
    page.get_by_test_id("otp-dialog").wait_for(state="detached")

    # disabled after confirmation; the row says so
    row = page.locator('[data-testid="user-row"][data-login="e2e-clerk"]')
    row.get_by_test_id("user-toggle").click()
    page.get_by_test_id("confirm-ok").click()
    page.locator(
        '[data-testid="user-row"][data-login="e2e-clerk"] [data-testid="user-toggle"]:not(.danger)'
    ).wait_for()
    clerk = stack.api.get("/users", login_id="e2e-clerk")["items"][0]
    assert clerk["status"] != "active"

    # the organization filter lives in the hash and narrows the list
    contractor = stack.orgs["contractor"]
    page.get_by_test_id("users-filter-org").select_option(contractor)
    page.wait_for_url(re.compile(rf"#/admin/users\?org={contractor}$"))
    page.locator('[data-testid="user-row"][data-login="contractor1"]').wait_for()
    assert page.locator('[data-testid="user-row"][data-login="e2e-clerk"]').count() == 0


def test_grant_and_revoke(page: Page, stack: Stack) -> None:
    created = stack.api.post(
        "/users", {"login_id": "e2e-auditor", "name": "監査 次郎", "org_id": stack.orgs["orderer"]}
    )
    user_id = created["user"]["id"]
    login(page, "admin", stack.passwords["admin"])
    page.goto(f"/#/admin/grants?user={user_id}")
    page.get_by_test_id("grant-select").select_option("audit.read")
    page.get_by_test_id("grant-add").click()
    row = page.locator('[data-testid="grant-row"][data-grant="audit.read"]')
    row.wait_for()
    assert "操作履歴の閲覧" in row.inner_text()
    assert [g["grant"] for g in stack.api.get(f"/users/{user_id}/grants")] == ["audit.read"]

    row.get_by_test_id("grant-remove").click()
    row.wait_for(state="detached")
    assert stack.api.get(f"/users/{user_id}/grants") == []

    # choosing another user moves the page to them
    page.get_by_test_id("grants-user").select_option(stack.users["inspector1"])
    page.wait_for_url(re.compile(rf"#/admin/grants\?user={stack.users['inspector1']}$"))


def test_master_positions_calendar_and_mail(page: Page, stack: Stack) -> None:
    login(page, "admin", stack.passwords["admin"])

    page.goto("/#/admin/master?tab=positions")
    page.get_by_test_id("position-name").fill("主任技術者（試験）")
    page.get_by_test_id("position-rank").fill("7")
    page.get_by_test_id("position-add").click()
    table = page.get_by_test_id("positions-table")
    position = table.locator("tr", has_text="主任技術者（試験）")
    position.wait_for()
    assert "7" in position.inner_text()
    position.get_by_role("button").click()
    page.get_by_test_id("confirm-ok").click()
    position.wait_for(state="detached")

    page.goto("/#/admin/master?tab=calendar&year=2030")
    page.get_by_test_id("calendar-day").fill("令和12年5月7日")  # 和暦 typed (issue 8 §3 item 8)
    page.get_by_test_id("calendar-kind").select_option("closed")
    page.get_by_test_id("calendar-name").fill("振替休庁日")
    page.get_by_test_id("calendar-add").click()
    day = page.get_by_test_id("calendar-table").locator("tr", has_text="振替休庁日")
    day.wait_for()
    assert [d["date"] for d in stack.api.get("/master/calendar/days", year=2030)] == ["2030-05-07"]
    page.get_by_test_id("calendar-next").click()
    page.wait_for_url(re.compile(r"year=2031$"))
    # the national holidays of any year asked for (issue 8 §3 item 11)
    holidays = page.get_by_test_id("holidays-table")
    holidays.locator("tr", has_text="元日").wait_for()
    page.get_by_test_id("calendar-year").fill("1990")
    page.get_by_test_id("calendar-year").press("Enter")
    page.wait_for_url(re.compile(r"year=1990$"))
    page.get_by_test_id("holidays-table").locator("tr", has_text="天皇誕生日").wait_for()
    assert "1990/12/23" in page.get_by_test_id("holidays-table").inner_text()

    page.goto("/#/admin/master?tab=mail")
    form = page.get_by_test_id("mail-form")
    form.wait_for()
    key = form.locator("h2 .mono").inner_text().strip()
    page.get_by_test_id("mail-subject").fill("【Kura】試験の件名")
    page.get_by_test_id("mail-save").click()
    page.get_by_test_id("mail-reset").wait_for()  # customized now
    saved = next(m for m in stack.api.get("/master/mail-templates") if m["key"] == key)
    assert saved["subject"] == "【Kura】試験の件名"
    page.get_by_test_id("mail-reset").click()
    page.get_by_test_id("confirm-ok").click()
    page.get_by_test_id("mail-reset").wait_for(state="detached")
    reset = next(m for m in stack.api.get("/master/mail-templates") if m["key"] == key)
    assert reset["subject"] != "【Kura】試験の件名"


def test_audit_filter_and_export_links(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/admin/audit")
    rows = page.get_by_test_id("audit-row")
    rows.first.wait_for()

    # the action is chosen from a list of Japanese names (issue 8 §3 item 6)
    page.get_by_test_id("audit-action").select_option(label="利用者の登録")
    page.get_by_test_id("audit-apply").click()
    page.wait_for_url(re.compile(r"#/admin/audit\?action=users\.created$"))
    page.get_by_test_id("audit-table").wait_for()
    # the filtered rows replace the others when their answer arrives: wait for them
    expect(rows.first).to_have_attribute("data-action", "users.created")
    actions = {rows.nth(i).get_attribute("data-action") for i in range(rows.count())}
    assert actions == {"users.created"}
    words = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
    assert words <= {"利用者の登録"} | {f"利用者の登録（{n}件）" for n in range(2, 50)}

    href = page.get_by_test_id("audit-export-csv").get_attribute("href")
    assert href is not None
    query = parse_qs(urlparse(href).query)
    assert query["format"] == ["csv"]
    assert query["action"] == ["users.created"]
