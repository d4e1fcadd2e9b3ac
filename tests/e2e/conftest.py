"""Browser fixtures: one ``kura serve`` stack per session, headless Debian Chromium through
Playwright's sync API (never ``playwright install``).

Skipped with the reason when Chromium, Playwright or the built UI is missing;
``scripts/setup --dev`` installs all three, so CI runs these tests.

Every test fails on what its pages report as broken (``browser_errors``): an uncaught error or
unhandled rejection, a console error, a 5xx answer, in any context made by ``new_context``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import ERRORS, BrowserErrors, new_context
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


@pytest.fixture(autouse=True)
def browser_errors() -> Iterator[BrowserErrors]:
    """Checked after the test and its own fixtures' teardown (contexts closed, events in);
    errors seen while a wider-scoped fixture set up count for the first test using it."""
    yield ERRORS
    found = ERRORS.take()
    assert not found, "the pages reported errors:\n" + "\n".join(found)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
