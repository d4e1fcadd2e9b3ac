"""The calendar in the browser (issue 9 §4; seed 001 別表1-1 7(4)(5)(6)):

- a supervisor imports an ICS file exported from a groupware (written by hand:
  ``tests/schedules/data/groupware.ics``, Outlook's custom VTIMEZONE, RRULE, EXDATE, a moved
  occurrence, RDATE, a UTC weekly rule) through the import dialog, reads its report, and the
  entries show on the right days of the month view (7(6));
- the supervisor registers a private entry through the entry form;
- the contractor of the work sees the supervisor's entries about the work, and "予定あり" for the
  private one, whose title never reaches the page (7(4)(5));
- holidays of the master calendar are marked (7/20 海の日);
- axe-core finds nothing serious at 1280 and 1024×768; screenshots at both sizes;
- all of it under the app's real Content-Security-Policy: FullCalendar's styles come from the
  static stylesheet the build extracts, and any refused inline style or script fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.pagecheck import MODULE_SIZES, looks_right, signed_in_pages
from tests.e2e.support import PASSWORD, Api, Stack, work_body

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e
ICS = Path(__file__).resolve().parents[1] / "schedules" / "data" / "groupware.ics"
SUPERVISOR = "kantoku1"
WORK_TITLE = "春日町舗装補修工事"


@pytest.fixture(scope="module")
def calendar_work(stack: Stack) -> str:
    """A work of the orderer with ``kantoku1`` (new) as supervisor and contractor1."""
    created = stack.api.post(
        "/users", {"login_id": SUPERVISOR, "name": "監督 一郎", "org_id": stack.orgs["orderer"]}
    )
    stack.users[SUPERVISOR] = created["user"]["id"]
    first = Api(stack.url)
    first.login(SUPERVISOR, created["initial_password"], new_password=PASSWORD)
    first.close()
    stack.passwords[SUPERVISOR] = PASSWORD
    body = {
        **work_body(stack.orgs["orderer"], [stack.orgs["contractor"]]),
        "title": WORK_TITLE,
        "number": "R8-E2E-CAL",
    }
    work = stack.api.post("/works", body)
    for login_id, role in ((SUPERVISOR, "supervisor"), ("contractor1", "contractor_member")):
        stack.api.post(
            f"/works/{work['id']}/members", {"user_id": stack.users[login_id], "role": role}
        )
    return str(work["id"])


@pytest.fixture
def as_user(browser: Browser, stack: Stack) -> Iterator[object]:
    yield from signed_in_pages(browser, stack.url, lambda login_id: stack.passwords[login_id])


def day(page: Page, date: str) -> str:
    """The text of one day cell of the month view."""
    cell = page.locator(f'td.fc-daygrid-day[data-date="{date}"]')
    cell.wait_for()
    return cell.inner_text()


def check_layout(page: Page, name: str) -> None:
    """Screenshots at 1280 and 1024x768, no sideways scrolling, axe-core clean."""
    looks_right(page, name, sizes=MODULE_SIZES)


def test_import_shows_on_the_right_days_and_the_contractor_sees_only_busy(
    stack: Stack, calendar_work: str, as_user: object
) -> None:
    from playwright.sync_api import expect

    open_as = as_user  # type: ignore[assignment]
    page: Page = open_as(SUPERVISOR)  # type: ignore[operator]
    page.goto("/#/calendar?date=2026-06-01")
    answer = page.reload()  # a full load of the calendar page, to read its headers
    expect(page.locator("main h1").first).to_have_text("予定表")
    page.locator(".fc-daygrid-day").first.wait_for()
    # Under the app's real CSP (the context does not bypass it; a refusal fails the test):
    # FullCalendar's styles come from the static fullcalendar.css, not from a <style> it
    # would inject at run time.
    assert answer is not None
    assert "default-src 'self'" in (answer.headers.get("content-security-policy") or "")
    styled = page.evaluate(
        """() => ({
        display: getComputedStyle(document.querySelector('.fc')).display,
        sheet: [...document.styleSheets].some((s) => (s.href || '').endsWith('fullcalendar.css')),
        inline: document.querySelectorAll('style').length,
    })"""
    )
    assert styled == {"display": "flex", "sheet": True, "inline": 0}, styled

    # 7(6): the groupware export through the import dialog, linked to the work.
    page.get_by_test_id("calendar-import").click()
    dialog = page.get_by_test_id("import-dialog")
    dialog.get_by_test_id("import-file").set_input_files(str(ICS))
    dialog.get_by_test_id("import-work").select_option(calendar_work)
    dialog.get_by_test_id("import-submit").click()
    report = dialog.get_by_test_id("import-report")
    report.wait_for(timeout=60_000)
    expect(dialog.get_by_test_id("import-count-imported")).to_have_text("3")
    expect(dialog.get_by_test_id("import-count-skipped")).to_have_text("0")
    expect(report).to_contain_text("VTODO")
    check_layout(page, "calendar-import-report")
    dialog.get_by_test_id("import-close").click()

    # Mondays 9:00 from 6/1 (COUNT=5), 6/15 excluded, 6/22 moved to Tue 6/23 14:00.
    for date in ("2026-06-01", "2026-06-08", "2026-06-29"):
        expect(page.locator(f'td[data-date="{date}"]')).to_contain_text("定例打合せ（春日町）")
    assert "定例打合せ" not in day(page, "2026-06-15")
    assert "定例打合せ" not in day(page, "2026-06-22")
    expect(page.locator('td[data-date="2026-06-23"]')).to_contain_text("時間変更")
    # All-day with an RDATE; the UTC Thursday 23:30 rule is Friday morning in Tokyo.
    for date in ("2026-06-10", "2026-06-24"):
        expect(page.locator(f'td[data-date="{date}"]')).to_contain_text("段階確認（舗装）")
    for date in ("2026-06-05", "2026-06-12", "2026-06-19", "2026-06-26"):
        expect(page.locator(f'td[data-date="{date}"]')).to_contain_text("週次報告（UTC）")
    assert "週次報告" not in day(page, "2026-06-04")

    # 7(5): a private entry through the entry form (not linked to the work).
    page.locator('td.fc-daygrid-day[data-date="2026-06-03"]').click(position={"x": 60, "y": 40})
    form = page.get_by_test_id("entry-form")
    form.get_by_test_id("entry-title").fill("議会対応の打合せ")
    form.get_by_test_id("entry-start-time").fill("10:00")
    form.get_by_test_id("entry-end-time").fill("12:00")
    form.get_by_test_id("entry-location").fill("本庁舎4階")
    form.get_by_test_id("entry-visibility").select_option("private")
    page.get_by_test_id("entry-save").click()
    expect(page.locator('td[data-date="2026-06-03"]')).to_contain_text("議会対応の打合せ")
    check_layout(page, "calendar-supervisor")

    # Holidays of the master calendar are marked.
    page.goto("/#/calendar?date=2026-07-01")
    expect(page.locator('td[data-date="2026-07-20"] .kura-holiday')).to_contain_text("海の日")

    # 7(4): the contractor on the work's calendar.
    other: Page = open_as("contractor1")  # type: ignore[operator]
    other.goto(f"/#/calendar?work={calendar_work}&date=2026-06-01")
    other.locator(".fc-daygrid-day").first.wait_for()
    expect(other.locator('td[data-date="2026-06-01"]')).to_contain_text(
        "監督 一郎: 定例打合せ（春日町）"
    )
    busy = other.locator('td[data-date="2026-06-03"] [data-testid="calendar-busy"]')
    expect(busy).to_contain_text("監督 一郎: 予定あり")
    expect(other.locator("main")).not_to_contain_text("議会対応")
    expect(other.locator("main")).not_to_contain_text("本庁舎")
    check_layout(other, "calendar-contractor")

    # The week and list views show the same days.
    other.locator(".fc-timeGridWeek-button").click()
    other.locator(".fc-timegrid").wait_for()
    other.locator(".fc-listMonth-button").click()
    expect(other.locator(".fc-list")).to_contain_text("定例打合せ（春日町）")
    expect(other.locator(".fc-list")).not_to_contain_text("議会対応")
