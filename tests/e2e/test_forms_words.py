"""Forms and words (issue 8 §3 items 7-8): a work is registered with 和暦 dates and amounts
with commas, a wrong date is said by its field, the form's words follow the kind of work; a
業務's page says 履行期間, 履行場所, 履行中 and 調査職員; 法的保全 is the hold's name; the
organization form says the format of its codes before anything is typed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import login
from tests.e2e.pagecheck import looks_right
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

TITLE = "春日川流域測量業務"


def test_service_registered_with_wareki_and_commas(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/works")
    page.get_by_test_id("work-new").click()
    form = page.get_by_test_id("work-form")
    form.wait_for()
    page.get_by_test_id("work-form-kind").select_option("service")
    expect(form.locator('.field[data-field="period_start"] label')).to_contain_text("履行期間")
    expect(form.locator('.field[data-field="location.address"] label')).to_contain_text("履行場所")
    page.get_by_test_id("work-form-title").fill(TITLE)
    page.get_by_test_id("work-form-number").fill("R8-E2E-SRV")
    page.get_by_test_id("work-form-period-start").fill("令和8年6月1日")
    page.get_by_test_id("work-form-period-end").fill("R8.2.30")  # no such day
    page.get_by_test_id("work-form-address").fill("広島県福山市春日町1丁目")
    page.get_by_test_id("work-form-municipality").fill("342076")
    page.get_by_test_id("work-form-contract-price").fill("１２，５００，０００円")
    page.get_by_test_id("work-form-contractors").get_by_label("春日建設株式会社").check()
    page.get_by_test_id("work-form-submit").click()
    error = form.locator('.field[data-field="period_end"] .field-error')
    expect(error).to_contain_text("日付として読み取れません")
    looks_right(page, "work-form-wareki", sizes=("desktop", "1024"))
    page.get_by_test_id("work-form-period-end").fill("R9.3.15")
    page.get_by_test_id("work-form-submit").click()
    page.wait_for_url(re.compile(r"#/works/[A-Za-z0-9]+$"))
    work_id = page.url.rsplit("/", 1)[-1]
    stored = stack.api.get(f"/works/{work_id}")
    assert (stored["period_start"], stored["period_end"]) == ("2026-06-01", "2027-03-15")
    assert stored["contract_price"] == 12_500_000

    # a 業務's words on its page
    current = stack.api.post(
        f"/works/{work_id}/transition", {"to": "in_progress", "version": stored["version"]}
    )
    stack.api.post(
        f"/works/{work_id}/members", {"user_id": stack.users["inspector1"], "role": "supervisor"}
    )
    page.reload()  # the same hash: reload to see the changes made through the API
    details = page.get_by_test_id("work-details")
    expect(details).to_contain_text("履行期間")
    expect(details).to_contain_text("履行場所")
    expect(details).to_contain_text("履行中")
    assert "施工中" not in page.locator("main").inner_text()
    expect(page.locator("main")).to_contain_text("調査職員")
    expect(page.locator("main")).to_contain_text("法的保全")
    assert current["status"] == "in_progress"


def test_organization_form_says_the_formats(page: Page, stack: Stack) -> None:
    from playwright.sync_api import expect

    login(page, "admin", stack.passwords["admin"])
    page.goto("/#/admin/orgs")
    page.get_by_test_id("org-new").click()
    code = page.locator('.field[data-field="code"]')
    expect(code.locator(".hint")).to_contain_text("8桁の数字")
    expect(page.locator('.field[data-field="corporate_number"] .hint')).to_contain_text("13桁")
    # labels do not jump: a field with a hint below its box keeps its label on the row's line
    form = page.get_by_test_id("org-create-form")
    tops = form.locator(".form-grid > .field").evaluate_all(
        "els => els.slice(0, 4).map(e => [e.getBoundingClientRect().left,"
        " e.querySelector('label').getBoundingClientRect().top])"
    )
    lefts = [left for left, _ in tops]
    assert lefts == sorted(lefts), f"the first four fields share one row at 1280: {tops}"
    assert max(top for _, top in tops) - min(top for _, top in tops) < 1, tops
