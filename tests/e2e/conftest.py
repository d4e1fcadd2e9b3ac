"""Browser fixtures: one ``kura serve`` stack per session, headless Debian Chromium through
Playwright's sync API (never ``playwright install``).

Skipped with the reason when Chromium, Playwright or the built UI is missing;
``scripts/setup --dev`` installs all three, so CI runs these tests.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import new_context
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, ROOT, Stack, seed, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

UI_INDEX = ROOT / "ui" / "dist" / "index.html"


def _require_environment() -> None:
    # Under scripts/test (KURA_TEST_SERVERS=1, as in CI) everything below was installed by
    # scripts/setup --dev: a missing piece is a failure there, never a silent skip.
    missing = pytest.fail if os.environ.get("KURA_TEST_SERVERS") == "1" else pytest.skip
    if importlib.util.find_spec("playwright") is None:
        missing("Playwright missing (pip install -e .[dev], or scripts/setup --dev)")
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} missing (apt-get install chromium, or scripts/setup --dev)")
    if not UI_INDEX.exists():
        missing("ui/dist not built (scripts/setup runs npm ci + node ui/build.mjs)")


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _require_environment()
    root = tmp_path_factory.mktemp("e2e")
    server = start_server(root / "data")
    try:
        the_stack = seed(server)
        yield the_stack
        the_stack.api.close()
    finally:
        server.stop()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    _require_environment()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    ctx = new_context(browser, stack.url)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"
