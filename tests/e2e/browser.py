"""Browser helpers for the e2e tests: a fresh context, sign-in through the form, screenshots
and axe-core checks (serious/critical violations are failures), and the watch on what the
pages report as broken (``ERRORS``: every context made by ``new_context`` is watched, and the
e2e conftest fails each test that leaves an error there)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.support import API, AXE_JS, SCREENSHOTS

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Response,
        WebError,
    )

DESKTOP = {"width": 1280, "height": 800}
BLOCKING = ("serious", "critical")
# Chromium logs every answer >= 400 as a console error. An API answer below 500 is the app's
# own reply (401 before sign-in, 404 for another organization's work, 422 by a form's field):
# the page shows its message and the tests check it. Anything else is broken.
HTTP_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


@dataclass
class BrowserErrors:
    """Uncaught errors and unhandled rejections, console errors and 5xx answers of the watched
    pages, until ``take()``. A test expecting one calls ``allow(pattern)`` first."""

    found: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("weberror", self._weberror)
        context.on("console", self._console)
        context.on("response", self._response)

    def allow(self, pattern: str) -> None:
        """Errors matching ``pattern`` (re.search) are expected in this test."""
        self.allowed.append(re.compile(pattern))

    def take(self) -> list[str]:
        """The errors not allowed since the last call; forgets them and the allowances."""
        found = [e for e in self.found if not any(p.search(e) for p in self.allowed)]
        self.found.clear()
        self.allowed.clear()
        return found

    def _weberror(self, error: WebError) -> None:
        self.found.append(f"uncaught: {error.error}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url") or "")
        status = HTTP_STATUS.match(message.text)
        if status and int(status.group(1)) < 500 and f"{API}/" in url:
            return
        self.found.append(f"console error: {message.text} ({url or message.page})")

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self.found.append(f"{response.status} from {response.request.method} {response.url}")


ERRORS = BrowserErrors()

CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP refused ${e.effectiveDirective}: ${JSON.stringify(e.sample)} ` +
    `from ${e.sourceFile || e.blockedURI}:${e.lineNumber}:${e.columnNumber}`);
});
"""


def new_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    """A fresh profile: Japanese locale, the app's real Content-Security-Policy in force (a
    violation is a console error, so ``ERRORS`` fails the test); its pages' errors go to
    ``ERRORS``."""
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(
        base_url=base_url,
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        accept_downloads=True,
        **options,
    )
    context.set_default_timeout(15_000)
    # Chromium's own report of a refused inline style names neither the element nor the
    # script; the event does (the first 40 characters, the script and line that set it).
    context.add_init_script(script=CSP_REPORTER)
    ERRORS.watch(context)
    return context


def login(page: Page, login_id: str, password: str, *, expect_ok: bool = True) -> None:
    """Sign in through the login form (as a person would)."""
    page.goto("/#/login")
    page.get_by_test_id("login-id").fill(login_id)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    if expect_ok:
        # Wait until the page after login has rendered, not just until the hash moved: the app
        # may still redirect (e.g. to its home page), and a test's own goto must come after.
        page.wait_for_function(
            "() => !location.hash.startsWith('#/login')"
            " && document.body.dataset.page && document.body.dataset.page !== 'login'"
        )
        page.wait_for_load_state("networkidle")


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot to tests/e2e/screenshots/<name>.png (git-ignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe(page: Page, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; returns the serious/critical violations (also written to
    screenshots/<name>.axe.json for reading)."""
    if not AXE_JS.exists():
        pytest.skip("axe-core missing (npm ci --prefix tests/js, or scripts/setup --dev)")
    page.wait_for_load_state("networkidle")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern (an
        # inline <script> tag would be refused: script-src 'self'), so the page under test
        # keeps its real policy.
        page.evaluate(AXE_JS.read_text())
    # No CSSOM preload: axe copies each stylesheet into a <style> element of its own, which
    # the page's CSP refuses (style-src 'self'); the only rule that reads it,
    # css-orientation-lock, is experimental and off by default.
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document,"
        " {resultTypes: ['violations'], preload: {assets: ['media']}})"
    )
    blocking = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v.get("impact") in BLOCKING
    ]
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / f"{name}.axe.json").write_text(
        json.dumps(result["violations"], ensure_ascii=False, indent=1)
    )
    return blocking
