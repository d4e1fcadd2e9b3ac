"""Every main page: what it shows (its heading, the seeded rows, names rather than ids), then
at desktop, 1024×768 and tablet (768 px) widths a screenshot, no sideways scrolling and
axe-core with no serious or critical violations. The e2e conftest fails a page that reports
an error (uncaught, unhandled rejection, console error, 5xx)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import axe, login, new_context, shot
from tests.e2e.support import WORK_TITLE, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1280, 800), "1024": (1024, 768), "tablet": (768, 1024)}
# A record id (api/kit/ids.py) in the text a person reads: the page shows an id for a name.
RECORD_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
PLAN_FOLDER = "施工計画"
PLAN_FILE = "施工計画書.txt"
SPEC_FILE = "特記仕様書.txt"


def expect_text(locator: Locator, *texts: str) -> None:
    """``locator`` (waited for) shows each of ``texts``."""
    from playwright.sync_api import expect

    for text in texts:
        expect(locator).to_contain_text(text)


def heading(page: Page, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("main h1").first).to_have_text(text)


def shows_login(page: Page, stack: Stack) -> None:
    heading(page, "ログイン")
    for testid in ("login-id", "login-password", "login-submit"):
        page.get_by_test_id(testid).wait_for()


def shows_works(page: Page, stack: Stack) -> None:
    heading(page, "案件一覧")
    row = page.locator(f'[data-testid="works-row"][data-id="{stack.work_id}"]')
    expect_text(row, WORK_TITLE, "R8-E2E-001", "工事", "2026/06/01", "登録済")
    page.get_by_test_id("works-count").wait_for()


def shows_work(page: Page, stack: Stack) -> None:
    heading(page, WORK_TITLE)
    details = page.get_by_test_id("work-details")
    expect_text(details, "広島県", "春日建設株式会社", "広島県福山市春日町2丁目2番56号先")
    expect_text(details, "12,500,000円")
    members = page.get_by_test_id("work-members")
    for login_id, name, org in (
        ("contractor1", "春日 太郎", "春日建設株式会社"),
        ("inspector1", "検査 花子", "広島県"),
    ):
        row = members.locator(f'[data-testid="member-row"][data-user="{stack.users[login_id]}"]')
        expect_text(row, name, org)
    expect_text(page.get_by_test_id("work-folders"), PLAN_FOLDER)


def shows_search(page: Page, stack: Stack) -> None:
    heading(page, "検索")
    page.get_by_test_id("search-box").wait_for()
    results = page.get_by_test_id("search-results")
    expect_text(results.get_by_test_id("search-hit").filter(has_text=WORK_TITLE).first, "登録済")
    expect_text(results, SPEC_FILE)
    expect_text(page.get_by_test_id("facet-orderer"), "広島県")
    expect_text(page.get_by_test_id("facet-contractor"), "春日建設株式会社")


def shows_browse(page: Page, stack: Stack) -> None:
    heading(page, WORK_TITLE)
    expect_text(page.get_by_test_id("tree"), WORK_TITLE, PLAN_FOLDER)
    rows = page.get_by_test_id("listing").get_by_test_id("listing-row")
    expect_text(rows.filter(has_text=PLAN_FOLDER).first, PLAN_FOLDER)
    expect_text(rows.filter(has_text=SPEC_FILE).first, SPEC_FILE)


def shows_upload(page: Page, stack: Stack) -> None:
    heading(page, "アップロード")
    expect_text(page.locator("main").first, WORK_TITLE)
    page.get_by_test_id("upload-drop").wait_for()


def shows_admin(page: Page, stack: Stack) -> None:
    heading(page, "管理")
    expect_text(page.get_by_test_id("admin-tiles"), "利用者", "機関", "権限", "マスタ", "操作履歴")


def shows_users(page: Page, stack: Stack) -> None:
    heading(page, "利用者")
    for login_id, name, org in (
        ("contractor1", "春日 太郎", "春日建設株式会社"),
        ("inspector1", "検査 花子", "広島県"),
        ("outsider1", "部外 次郎", "瀬戸内測量株式会社"),
    ):
        row = page.locator(f'[data-testid="user-row"][data-login="{login_id}"]')
        expect_text(row, login_id, name, org)


def shows_orgs(page: Page, stack: Stack) -> None:
    heading(page, "機関")
    rows = page.get_by_test_id("orgs-table").get_by_test_id("org-row")
    expect_text(rows.filter(has_text="広島県").first, "発注者", "34000001")
    expect_text(rows.filter(has_text="春日建設株式会社").first, "受注者")
    expect_text(rows.filter(has_text="瀬戸内測量株式会社").first, "受注者")


PAGES: dict[str, tuple[str, Callable[[Page, Stack], None]]] = {
    "login": ("/#/login", shows_login),
    "works": ("/#/works", shows_works),
    "work": ("/#/works/{work}", shows_work),
    "search": ("/#/search", shows_search),
    "browse": ("/#/browse/{work}", shows_browse),
    "upload": ("/#/upload/{work}", shows_upload),
    "admin": ("/#/admin", shows_admin),
    "admin-users": ("/#/admin/users", shows_users),
    "admin-orgs": ("/#/admin/orgs", shows_orgs),
}


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> None:
    """A folder and two files of the work, through the API, ingested (searchable)."""
    stack.upload(f"/{PLAN_FOLDER}", PLAN_FILE, "施工計画書\n".encode(), "text/plain")
    stack.upload("/", SPEC_FILE, "特記仕様書 第1条\n".encode(), "text/plain")
    stack.wait_ingested(PLAN_FILE)
    stack.wait_ingested(SPEC_FILE)


@pytest.fixture(scope="module")
def admin_state(browser: Browser, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's signed-in browser state, reused by every page test."""
    path = tmp_path_factory.mktemp("state") / "admin.json"
    ctx = new_context(browser, stack.url)
    page = ctx.new_page()
    login(page, "admin", stack.passwords["admin"])
    ctx.storage_state(path=str(path))
    ctx.close()
    return path


@pytest.fixture
def signed_in(
    browser: Browser, stack: Stack, admin_state: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    name = request.node.callspec.params["name"]
    ctx = new_context(
        browser, stack.url, storage_state=None if name == "login" else str(admin_state)
    )
    page = ctx.new_page()
    yield page
    ctx.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_page_content_layout_and_accessibility(
    signed_in: Page, stack: Stack, seeded: None, name: str
) -> None:
    page = signed_in
    url, shows = PAGES[name]
    page.goto(url.format(work=stack.work_id))
    page.locator("main").first.wait_for()
    shows(page, stack)
    page.wait_for_load_state("networkidle")
    text = page.locator("main").first.inner_text()
    assert not RECORD_ID.findall(text), f"{name}: ids shown where names belong: {text[:2000]}"
    overflow: dict[str, int] = {}
    violations: dict[str, object] = {}
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        shot(page, f"{name}-{label}")
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width + 1:
            overflow[label] = scroll
        found = axe(page, f"{name}-{label}")
        if found:
            violations[label] = found
    assert not overflow, f"{name}: page wider than the window: {overflow}"
    assert not violations, f"{name}: axe-core serious/critical violations: {violations}"
