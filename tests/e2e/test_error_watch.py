"""The watch the e2e conftest fails tests on (``tests.e2e.browser.ERRORS``) sees what a page
reports as broken: an uncaught error, an unhandled rejection, a console error, a missing asset,
anything the app's Content-Security-Policy refuses (the browser contexts never bypass it, so
every page test runs under the policy users get); an API answer below 500 is the app's own
reply and is not an error (the page shows it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import BrowserErrors
from tests.e2e.support import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

CASES = {
    "uncaught": ("setTimeout(() => { throw new Error('kura-boom') }, 0)", "uncaught: kura-boom"),
    "rejection": ("Promise.reject(new Error('kura-rejected'))", "uncaught: kura-rejected"),
    "console": ("console.error('kura-console')", "console error: kura-console"),
    "asset": (
        "document.head.append(Object.assign(document.createElement('script'),"
        " {src: '/js/kura-missing.js'}))",
        "status of 404 (Not Found) (http",
    ),
    # The policy of api/ui/router.py (default-src 'self'): no inline style or script.
    "csp-style": (
        "document.head.append(Object.assign(document.createElement('style'),"
        " {textContent: 'body { color: red }'}))",
        "CSP refused style-src-elem",
    ),
    "csp-script": (
        "document.head.append(Object.assign(document.createElement('script'),"
        " {textContent: 'window.kuraInline = 1'}))",
        "CSP refused script-src-elem",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_watch_sees_what_a_page_reports(
    page: Page, stack: Stack, browser_errors: BrowserErrors, case: str
) -> None:
    script, expected = CASES[case]
    page.goto("/#/login")
    page.get_by_test_id("login-id").wait_for()
    page.evaluate(f"() => {{ {script}; }}")
    page.wait_for_timeout(500)
    found = browser_errors.take()  # taken: the test itself does not fail on them
    assert any(expected in e for e in found), found
    if case == "csp-script":
        assert page.evaluate("() => window.kuraInline") is None  # refused, not only reported


def test_api_answers_below_500_are_the_apps_reply(
    page: Page, stack: Stack, browser_errors: BrowserErrors
) -> None:
    page.goto("/#/login")
    page.get_by_test_id("login-id").wait_for()
    status = page.evaluate("async () => (await fetch('/api/v1/works/kura-none')).status")
    assert status == 401
    page.wait_for_timeout(300)
    assert browser_errors.take() == []
