"""Administration forms as an operator uses them (issue 4 items 2 and 6): create a work through
the form (a field error shown by its field, the input kept), add a member, change the role, move
the work to 施工中; the member then finds the work in their list. Organizations and offices are
edited through their forms. Screenshots of each form are saved."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import login, new_context, shot
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

TITLE = "管理画面から登録した舗装補修工事"


def test_work_form_members_and_transition(page: Page, browser: Browser, stack: Stack) -> None:
    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/works")
    page.get_by_test_id("work-new").click()
    form = page.get_by_test_id("work-form")
    form.wait_for()
    page.get_by_test_id("work-form-title").fill(TITLE)
    page.get_by_test_id("work-form-number").fill("R8-E2E-ADM-01")
    page.get_by_test_id("work-form-period-start").fill("2026-09-01")
    page.get_by_test_id("work-form-period-end").fill("2026-08-01")  # before the start
    page.get_by_test_id("work-form-address").fill("広島県福山市春日町1丁目")
    page.get_by_test_id("work-form-municipality").fill("342076")
    page.get_by_test_id("work-form-contractors").get_by_label("春日建設株式会社").check()
    page.get_by_test_id("work-form-submit").click()

    error = form.locator('.field[data-field="period_end"] .field-error')
    error.wait_for()
    assert "終了日" in error.inner_text()
    assert page.get_by_test_id("work-form-period-end").get_attribute("aria-invalid") == "true"
    assert page.get_by_test_id("work-form-title").input_value() == TITLE  # input kept
    shot(page, "work-form-error")

    page.get_by_test_id("work-form-period-end").fill("2026-12-25")
    page.get_by_test_id("work-form-submit").click()
    page.wait_for_url(re.compile(r"#/works/[A-Za-z0-9]+$"))
    work_id = page.url.rsplit("/", 1)[-1]
    page.get_by_test_id("work-details").wait_for()
    assert TITLE in page.locator("h1").inner_text()

    # add contractor1 as a viewer, then make them the contractor's member
    contractor = stack.users["contractor1"]
    page.get_by_test_id("member-user").fill("contractor1")
    page.get_by_test_id("member-role-new").select_option("viewer")
    page.get_by_test_id("member-add").click()
    row = page.locator(f'[data-testid="member-row"][data-user="{contractor}"]')
    row.wait_for()
    assert row.get_attribute("data-role") == "viewer"
    row.get_by_test_id("member-role").select_option("contractor_member")
    row.get_by_test_id("member-role-save").click()
    page.locator(
        f'[data-testid="member-row"][data-user="{contractor}"][data-role="contractor_member"]'
    ).wait_for()

    # the API's Japanese rule shows by the picker: an outsider cannot be an inspector
    page.get_by_test_id("member-user").fill("outsider1")
    page.get_by_test_id("member-role-new").select_option("inspector")
    page.get_by_test_id("member-add").click()
    add_error = page.locator(
        '[data-testid="member-add-form"] .field[data-field="role"] .field-error'
    )
    add_error.wait_for()
    assert "発注機関" in add_error.inner_text()

    # 登録済 → 施工中, confirmed
    page.locator('[data-testid="work-transition"][data-to="in_progress"]').click()
    page.get_by_test_id("confirm-ok").click()
    page.locator('.work-head [data-status="in_progress"]').wait_for()
    shot(page, "work-members-editor")

    # edit form opens with the stored values
    page.get_by_test_id("work-edit").click()
    assert page.get_by_test_id("work-form-title").input_value() == TITLE
    shot(page, "work-form-edit")
    page.get_by_test_id("work-form-category").fill("舗装")
    page.get_by_test_id("work-form-submit").click()
    page.get_by_test_id("work-form").wait_for(state="detached")
    assert stack.api.get(f"/works/{work_id}")["category"] == "舗装"

    # the member sees the work in their list
    ctx = new_context(browser, stack.url)
    try:
        member_page = ctx.new_page()
        login(member_page, "contractor1", stack.passwords["contractor1"])
        member_page.goto("/#/works")
        member_page.locator(f'[data-testid="works-row"][data-id="{work_id}"]').wait_for()
        assert member_page.get_by_test_id("work-new").count() == 0
    finally:
        ctx.close()


def test_organization_and_office_forms(page: Page, stack: Stack) -> None:
    login(page, "admin", stack.passwords["admin"])
    org = stack.orgs["other"]
    page.goto(f"/#/admin/orgs?org={org}")
    page.locator(f'[data-testid="org-edit"][data-id="{org}"]').click()
    page.get_by_test_id("org-edit-form").wait_for()
    page.get_by_test_id("org-edit-phone").fill("082-000-1111")
    page.get_by_test_id("org-edit-corporate-number").fill("123")  # wrong shape: 422
    page.get_by_test_id("org-edit-submit").click()
    page.locator(
        '[data-testid="org-edit-form"] .field[data-field="corporate_number"] .field-error'
    ).wait_for()
    shot(page, "org-edit-form")
    page.get_by_test_id("org-edit-corporate-number").fill("")
    page.get_by_test_id("org-edit-submit").click()
    page.get_by_test_id("org-edit-form").wait_for(state="detached")
    assert stack.api.get(f"/organizations/{org}")["phone"] == "082-000-1111"

    page.get_by_test_id("office-name").fill("尾道営業所")
    page.get_by_test_id("office-create-submit").click()
    office = page.get_by_test_id("office-row").filter(has_text="尾道営業所")
    office.get_by_test_id("office-edit").click()
    page.get_by_test_id("office-edit-name").fill("尾道支店")
    shot(page, "office-edit-form")
    page.get_by_test_id("office-edit-submit").click()
    renamed = page.get_by_test_id("office-row").filter(has_text="尾道支店")
    renamed.get_by_test_id("office-remove").click()
    page.get_by_test_id("confirm-ok").click()
    renamed.wait_for(state="detached")
