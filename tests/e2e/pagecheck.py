"""What every page test of the second archive pass checks on a page once it shows what it
should (issue 8): screenshots at 1280 and 1024x768 (and the tablet width), no sideways
scrolling, and axe-core with no serious or critical violation at every width."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.browser import axe, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

SIZES = {"desktop": (1280, 800), "1024": (1024, 768), "tablet": (768, 1024)}


def looks_right(page: Page, name: str, *, sizes: tuple[str, ...] = tuple(SIZES)) -> None:
    """Screenshot, width and axe at each size; restores the desktop size."""
    overflow: dict[str, int] = {}
    violations: dict[str, object] = {}
    for label in sizes:
        width, height = SIZES[label]
        page.set_viewport_size({"width": width, "height": height})
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
