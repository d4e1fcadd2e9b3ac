"""What every page test of the second archive pass checks on a page once it shows what it
should (issue 8): screenshots at 1280 and 1024x768 (and the tablet width), no sideways
scrolling, and axe-core with no serious or critical violation at every width."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tests.e2e.browser import axe, login, new_context, shot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SIZES = {"desktop": (1280, 800), "1024": (1024, 768), "tablet": (768, 1024)}


# The modules' browser tests: the two sizes of the guide (1280 and 1024x768).
MODULE_SIZES = ("desktop", "1024")


def looks_right(
    page: Page, name: str, *, sizes: tuple[str, ...] = tuple(SIZES), top: bool = False
) -> None:
    """Screenshot, width and axe at each size; restores the desktop size. ``top``: scrolled
    to the top first (a screenshot of the page's head, not of where the test left it)."""
    overflow: dict[str, int] = {}
    violations: dict[str, object] = {}
    for label in sizes:
        width, height = SIZES[label]
        page.set_viewport_size({"width": width, "height": height})
        if top:
            page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_timeout(150)
        shot(page, f"{name}-{label}")
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width + 1:
            overflow[label] = scroll
        found = axe(page, f"{name}-{label}")
        if found:
            violations[label] = found
    page.set_viewport_size({"width": SIZES["desktop"][0], "height": SIZES["desktop"][1]})
    assert not overflow, f"{name}: page wider than the window: {overflow}"
    assert not violations, f"{name}: axe-core serious/critical violations: {violations}"


def signed_in_pages(
    browser: Browser, base_url: str, password_of: Callable[[str], str]
) -> Iterator[Callable[[str], Page]]:
    """For a fixture: ``open_as(login_id)`` signs that user in through the login form in a
    fresh browser profile of their own; every profile is closed afterwards."""
    contexts = []

    def open_as(login_id: str) -> Page:
        ctx = new_context(browser, base_url)
        contexts.append(ctx)
        page = ctx.new_page()
        login(page, login_id, password_of(login_id))
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()
