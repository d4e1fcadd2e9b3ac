"""Every main page: screenshots at desktop, 1024×768 and tablet (768 px) widths, no sideways
scrolling at those widths, and axe-core with no serious or critical violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import axe, login, new_context, shot
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1280, 800), "1024": (1024, 768), "tablet": (768, 1024)}
PAGES = {
    "login": "/#/login",
    "works": "/#/works",
    "work": "/#/works/{work}",
    "search": "/#/search",
    "browse": "/#/browse/{work}",
    "upload": "/#/upload/{work}",
    "admin": "/#/admin",
}


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
def test_page_screenshots_and_accessibility(signed_in: Page, stack: Stack, name: str) -> None:
    page = signed_in
    page.goto(PAGES[name].format(work=stack.work_id))
    page.locator("main").first.wait_for()
    page.wait_for_load_state("networkidle")
    overflow: dict[str, int] = {}
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        shot(page, f"{name}-{label}")
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width + 1:
            overflow[label] = scroll
    assert not overflow, f"{name}: page wider than the window: {overflow}"
    violations = axe(page, name)
    assert not violations, f"{name}: axe-core serious/critical violations: {violations}"
